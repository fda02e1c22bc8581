"""The RP's side of DPoP (RFC 9449): its proof key, the servers' latest nonces, one retry.

:class:`DPoPClient` wraps the facade's send function. With ``dpop_signing_alg`` unset it
sends requests as they are. With it set, every request to the authorization server's
token and PAR endpoints carries a fresh proof (§5, §10.1), every request with a
DPoP-bound access token carries ``Authorization: DPoP`` plus a proof with ``ath`` (§7.1),
the latest ``DPoP-Nonce`` of each server is kept (authorization server §8.2 and resource
servers §9, by origin) and a ``use_dpop_nonce`` challenge is answered by exactly one retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Literal
from urllib.parse import urlsplit

from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from oidc_rp.core import random as rnd
from oidc_rp.core.authorize import AuthorizationOptions
from oidc_rp.core.dpop import (
    build_dpop_proof,
    check_dpop_key,
    check_dpop_token_type,
    dpop_nonce_challenge,
    is_dpop_nonce,
)
from oidc_rp.core.messages import HttpRequest, HttpResponse
from oidc_rp.core.metadata import ProviderMetadata
from oidc_rp.errors import ConfigurationError, NotSupportedError
from oidc_rp.http import TraceSink
from oidc_rp.keys import load_private_key
from oidc_rp.settings import Settings

__all__ = ["DPoPClient", "generate_dpop_key"]

Role = Literal["as", "rs"]
Send = Callable[[HttpRequest, TraceSink | None], Awaitable[HttpResponse]]
_EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


def generate_dpop_key(alg: str) -> Key:
    """A fresh private key of the type ``alg`` signs with (RSA 2048, EC by curve, OKP)."""
    if alg in _EC_CURVES:
        return ECKey.generate_key(_EC_CURVES[alg], private=True)
    if alg[:2] in ("RS", "PS"):
        return RSAKey.generate_key(2048, private=True)
    return OKPKey.generate_key("Ed448" if alg == "Ed448" else "Ed25519", private=True)


def _load_key(settings: Settings, alg: str) -> Key:
    value = settings.secret("dpop_key")
    key: Key = load_private_key("dpop_key", value) if value else generate_dpop_key(alg)
    try:
        check_dpop_key(key, alg)
    except ValueError as exc:
        raise ConfigurationError(f"dpop_key: {str(exc).partition(': ')[2]}") from None
    # The proof header names the key by value (jwk), never by kid (RFC 9449 §4.2).
    members = {k: v for k, v in key.as_dict(private=True).items() if k != "kid"}
    return type(key).import_key(members)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"


class DPoPClient:
    """Sends requests with DPoP proofs when ``dpop_signing_alg`` is set (RFC 9449)."""

    def __init__(self, settings: Settings, send: Send, clock: Callable[[], int]) -> None:
        self.alg = settings.dpop_signing_alg
        self._key = _load_key(settings, self.alg) if self.alg else None
        self._send = send
        self._now = clock
        self._nonces: dict[tuple[Role, str], str] = {}

    @property
    def enabled(self) -> bool:
        """True when requests carry DPoP proofs."""
        return self._key is not None

    @property
    def jkt(self) -> str | None:
        """The JWK SHA-256 thumbprint of the proof key (RFC 7638; RFC 9449 §6.1, §10)."""
        return self._key.thumbprint() if self._key is not None else None

    def check_token_type(self, token_type: str) -> None:
        """``DPoP`` exactly when proofs were sent (RFC 9449 §5)."""
        check_dpop_token_type(token_type, dpop_used=self.enabled)

    def check_supported(self, meta: ProviderMetadata) -> None:
        """Refuse an algorithm the OP says it does not take (RFC 9449 §5.1)."""
        supported = meta.raw.get("dpop_signing_alg_values_supported")
        if self.alg and isinstance(supported, list) and self.alg not in supported:
            raise NotSupportedError(
                f"dpop_signing_alg: the OP does not take {self.alg!r} "
                f"(dpop_signing_alg_values_supported: {' '.join(map(str, supported))})"
            )

    def bind_authorization_code(
        self, options: AuthorizationOptions, meta: ProviderMetadata
    ) -> AuthorizationOptions:
        """Add ``dpop_jkt`` to the authorization request (RFC 9449 §10), when DPoP is on.

        The code is then bound to the key: only a token request with a proof made with it
        redeems it (§10: protects the code when it leaks). An explicit ``dpop_jkt`` in the
        options' extra parameters is kept.
        """
        if self._key is None or "dpop_jkt" in options.extra:
            return options
        self.check_supported(meta)
        return replace(options, extra={**options.extra, "dpop_jkt": self._key.thumbprint()})

    async def send_to_as(
        self,
        meta: ProviderMetadata,
        build: Callable[[], HttpRequest],
        trace: TraceSink | None,
    ) -> HttpResponse:
        """Send a token or PAR request (rebuilt by ``build`` for a retry: fresh assertions)."""
        if not self.enabled:
            return await self._send(build(), trace)
        self.check_supported(meta)
        return await self._send_with_proof("as", build, None, trace)

    async def send_to_rs(
        self,
        request: HttpRequest,
        token_type: str,
        access_token: str,
        trace: TraceSink | None,
    ) -> HttpResponse:
        """Send a request carrying an access token; a DPoP-bound one gets a proof (§7.1)."""
        if token_type != "DPoP":
            return await self._send(request, trace)
        if not self.enabled:
            raise NotSupportedError(
                "dpop_signing_alg: not set, but the access token is DPoP-bound (log in again)"
            )
        return await self._send_with_proof("rs", lambda: request, access_token, trace)

    async def _send_with_proof(
        self,
        role: Role,
        build: Callable[[], HttpRequest],
        access_token: str | None,
        trace: TraceSink | None,
    ) -> HttpResponse:
        request = build()
        response = await self._send(self._with_proof(role, request, access_token), trace)
        # §8 / §9: the server demands a nonce; answer with exactly one retry that uses it.
        if self._remember(role, request.url, response) is None:
            return response
        request = build()
        response = await self._send(self._with_proof(role, request, access_token), trace)
        self._remember(role, request.url, response)
        return response

    def _with_proof(
        self, role: Role, request: HttpRequest, access_token: str | None
    ) -> HttpRequest:
        assert self._key is not None and self.alg is not None
        proof = build_dpop_proof(
            self._key,
            self.alg,
            htm=request.method,
            htu=request.url,
            now=self._now(),
            jti=rnd.generate_jti(),
            nonce=self._nonces.get((role, _origin(request.url))),
            access_token=access_token,
        )
        return HttpRequest(
            request.method, request.url, {**request.headers, "dpop": proof}, request.body
        )

    def _remember(self, role: Role, url: str, response: HttpResponse) -> str | None:
        """Keep the server's latest nonce (§8.2, §9); return it when it was a challenge."""
        nonce = response.headers.get("dpop-nonce", "").strip()
        if is_dpop_nonce(nonce):
            self._nonces[(role, _origin(url))] = nonce
        return dpop_nonce_challenge(response)
