"""The OP as the RP knows it: its metadata and its JWK set, fetched and cached.

Discovery (OpenID Connect Discovery 1.0 §4) runs once and is kept for an hour; endpoints
set by hand skip it. The JWK set is fetched on first use and again, at most once per
:data:`JWKS_REFETCH_INTERVAL`, when a JWS names a key it does not hold (OIDC Core
§10.1.1: the OP rotates keys by publishing new ones under new ``kid`` values).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from joserfc.jwk import KeySet

from oidc_rp.core import jwks
from oidc_rp.core.messages import HttpRequest, HttpResponse
from oidc_rp.core.metadata import ProviderMetadata, build_discovery_request, parse_provider_metadata
from oidc_rp.errors import (
    ConfigurationError,
    KeyNotFoundError,
    NotSupportedError,
    OPUnreachableError,
)
from oidc_rp.http import TraceSink
from oidc_rp.settings import Settings

__all__ = ["JWKS_REFETCH_INTERVAL", "METADATA_TTL", "ProviderCache"]

T = TypeVar("T")

#: Seconds between two JWKS refetches triggered by unknown key ids.
JWKS_REFETCH_INTERVAL = 5
#: Provider metadata is fetched again after this many seconds.
METADATA_TTL = 3600

Send = Callable[[HttpRequest, TraceSink | None], Awaitable[HttpResponse]]


class ProviderCache:
    """The OP's metadata and keys for one RelyingParty (one lock, shared by both)."""

    def __init__(self, settings: Settings, send: Send, clock: Callable[[], int]) -> None:
        self.settings = settings
        self._send = send
        self._now = clock
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0
        self._keys: KeySet | None = None
        self._keys_at = -JWKS_REFETCH_INTERVAL  # the last fetch of the JWK set that succeeded
        self._keys_tried_at = -JWKS_REFETCH_INTERVAL  # the last attempt, failed or not
        # Separate locks: a slow jwks_uri must not hold up discovery (or the reverse).
        self._lock = asyncio.Lock()
        self._keys_lock = asyncio.Lock()

    async def metadata(self, *, trace: TraceSink | None = None) -> ProviderMetadata:
        """The OP's metadata: discovered (cached for an hour) or set by hand."""
        fresh = self._metadata and self._now() - self._metadata_at < METADATA_TTL
        if fresh and self._metadata is not None:
            return self._metadata
        async with self._lock:
            if self._metadata is None or self._now() - self._metadata_at >= METADATA_TTL:
                self._metadata = await self._load_metadata(trace)
                self._metadata_at = self._now()
            return self._metadata

    async def _load_metadata(self, trace: TraceSink | None) -> ProviderMetadata:
        s = self.settings
        if s.authorization_endpoint and not s.discovery_url:
            return self._manual_metadata()
        assert s.issuer is not None  # required by the settings model
        request = build_discovery_request(s.issuer)
        if s.discovery_url:
            request = HttpRequest("GET", s.discovery_url, request.headers)
        return parse_provider_metadata(await self._send(request, trace), s.issuer)

    def _manual_metadata(self) -> ProviderMetadata:
        s = self.settings
        endpoints = {
            "authorization_endpoint": s.authorization_endpoint,
            "token_endpoint": s.token_endpoint,
            "userinfo_endpoint": s.userinfo_endpoint,
            "jwks_uri": s.jwks_uri,
            "revocation_endpoint": s.revocation_endpoint,
            "introspection_endpoint": s.introspection_endpoint,
            "registration_endpoint": s.registration_endpoint,
            "end_session_endpoint": s.effective_end_session_endpoint,
            "pushed_authorization_request_endpoint": s.pushed_authorization_request_endpoint,
        }
        try:
            return ProviderMetadata.from_endpoints(str(s.issuer), **endpoints)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None

    async def _jwks(self, *, newer_than: int | None, trace: TraceSink | None) -> KeySet:
        """The cached JWK set; fetched when there is none, or none newer than ``newer_than``.

        Attempts, failed ones included, are spaced by JWKS_REFETCH_INTERVAL once a set is
        cached, so neither a flood of made-up kids nor an unreachable jwks_uri turns every
        incoming token into a request to the OP.
        """
        meta = await self.metadata(trace=trace)
        async with self._keys_lock:
            if self._keys is not None and (newer_than is None or self._keys_at > newer_than):
                return self._keys
            if not meta.jwks_uri:
                raise NotSupportedError("jwks_uri: the OP publishes no JWK set")
            last_failed = self._keys is None and self._keys_tried_at > self._keys_at
            if last_failed and not jwks.may_refetch(
                self._keys_tried_at, self._now(), JWKS_REFETCH_INTERVAL
            ):
                # The last attempt failed: no new one within the interval.
                raise OPUnreachableError(
                    "jwks: the OP's JWK set could not be fetched a moment ago; retry shortly"
                )
            self._keys_tried_at = self._now()
            response = await self._send(jwks.build_jwks_request(meta.jwks_uri), trace)
            self._keys = jwks.parse_jwks(response)
            self._keys_at = self._now()
            return self._keys

    async def with_keys(self, check: Callable[[KeySet], T], trace: TraceSink | None) -> T:
        """Run ``check`` with the OP's keys; on an unknown kid refetch once (rate-limited)."""
        keys = await self._jwks(newer_than=None, trace=trace)
        seen = self._keys_at
        try:
            return check(keys)
        except KeyNotFoundError:
            # Concurrent failures share one refetch; a flood of made-up kids gets one per
            # interval (OIDC Core §10.1.1 rotation without hammering the jwks_uri).
            refreshed_meanwhile = self._keys_at > seen
            last_try = max(seen, self._keys_tried_at)
            if not refreshed_meanwhile and not jwks.may_refetch(
                last_try, self._now(), JWKS_REFETCH_INTERVAL
            ):
                raise
        return check(await self._jwks(newer_than=seen, trace=trace))
