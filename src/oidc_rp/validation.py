"""Validation of the tokens the OP sends: ID tokens and back-channel logout tokens.

The rules live in the core (oidc_rp.core.id_token, .logout, .jwe); this class supplies
what they need from the running RP: the expectations of a login, the negotiated decryption,
the client secret for HS* and the OP's keys (refetched once on an unknown kid).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from joserfc.jwk import KeySet

from oidc_rp.core import callback, logout
from oidc_rp.core.id_token import (
    IDToken,
    IDTokenExpectations,
    validate_id_token,
    validate_refreshed_id_token,
)
from oidc_rp.core.jwe import decrypt_jwe, is_compact_jwe, unwrap_nested_jwt
from oidc_rp.core.logout import LogoutToken
from oidc_rp.core.transaction import PendingLogin
from oidc_rp.errors import IDTokenError, LogoutTokenError
from oidc_rp.http import TraceSink
from oidc_rp.identity import ClientIdentity
from oidc_rp.provider import ProviderCache
from oidc_rp.settings import Settings
from oidc_rp.tokens import TokenSet, stored_id_token_claims

__all__ = ["LOGOUT_TOKEN_MAX_AGE", "MAX_IAT_AGE", "TokenValidator"]

T = TypeVar("T")

#: An ID token issued longer ago than this is refused (OIDC Core §3.1.3.7 step 10 lets the
#: client reject tokens "issued too far away from the current time").
MAX_IAT_AGE = 3600
#: A back-channel logout token issued longer ago than this is refused (Back-Channel Logout
#: 1.0 §2.6 lets the RP bound iat); the web app remembers each jti for longer than that.
LOGOUT_TOKEN_MAX_AGE = 600


class TokenValidator:
    """Validates ID tokens and logout tokens for one RelyingParty."""

    def __init__(
        self,
        settings: Settings,
        identity: ClientIdentity,
        provider: ProviderCache,
        clock: Callable[[], int],
    ) -> None:
        self.settings = settings
        self._identity = identity
        self._provider = provider
        self._now = clock

    async def front_channel(
        self,
        pending: PendingLogin,
        response: callback.AuthorizationResponse,
        trace: TraceSink | None,
    ) -> IDToken:
        """A front-channel ID token (hybrid flows), checked before the code is redeemed."""
        types = set(pending.response_type.split())
        expectations = self.expectations(
            pending,
            # OIDC Core §3.3.2.11: c_hash REQUIRED for code id_token (token); at_hash when
            # the access token is issued from the authorization endpoint.
            code=response.code,
            require_c_hash="code" in types,
            access_token=response.access_token,
            require_at_hash="token" in types,
        )
        assert response.id_token is not None
        return await self.id_token(response.id_token, expectations, trace)

    async def token_endpoint(
        self,
        pending: PendingLogin,
        tokens: TokenSet,
        front: IDToken | None,
        trace: TraceSink | None,
    ) -> IDToken:
        """The token endpoint's ID token (or the front-channel one when it sent none)."""
        if tokens.id_token is None:
            if front is None:
                raise IDTokenError("id_token: missing from the token response")
            return front
        expectations = self.expectations(pending, access_token=tokens.access_token)
        id_token = await self.id_token(tokens.id_token, expectations, trace)
        if front is not None:
            # OIDC Core §3.3.3.6: iss and sub MUST be identical in both ID tokens.
            for claim in ("iss", "sub"):
                if id_token.claims.get(claim) != front.claims.get(claim):
                    raise IDTokenError(f"id_token.{claim}: differs from the front-channel ID token")
        return id_token

    def expectations(self, pending: PendingLogin, **hashes: Any) -> IDTokenExpectations:
        """What an ID token of this login must satisfy (OIDC Core §3.1.3.7)."""
        s = self.settings
        return IDTokenExpectations(
            issuer=pending.issuer,
            client_id=pending.client_id,
            allowed_algs=(s.id_token_signed_response_alg,),
            now=self._now(),
            clock_skew=s.clock_skew,
            nonce=pending.nonce,
            max_age=pending.max_age,
            essential_acr=pending.essential_acr,
            trusted_audiences=s.trusted_audiences,
            client_secret=self._identity.client_secret,
            max_iat_age=MAX_IAT_AGE,
            **hashes,
        )

    async def id_token(
        self, raw: str, expectations: IDTokenExpectations, trace: TraceSink | None
    ) -> IDToken:
        """Decrypt (when negotiated) and validate one ID token."""
        if not expectations.issuer:
            raise IDTokenError("id_token.iss: no issuer configured to compare it with")
        # OIDC Core §3.1.3.7 step 1: decrypt with the negotiated keys and algorithms; an
        # unencrypted ID token when encryption was negotiated is rejected. The signed inner
        # JWT is what gets validated and kept (RP-Initiated Logout §2: id_token_hint).
        raw = unwrap_nested_jwt(
            raw, self._identity.decryption("id_token"), prefix="id_token", error=IDTokenError
        )
        alg = expectations.allowed_algs[0]
        return await self.verify_signed(
            alg, lambda keys: validate_id_token(raw, keys, expectations), trace
        )

    async def verify_signed(
        self, alg: str, check: Callable[[KeySet], T], trace: TraceSink | None
    ) -> T:
        """Run a JWS check: HS* are keyed with the client secret (OIDC Core §10.1), so the
        OP's JWK set is neither needed nor fetched; other algorithms use the OP's keys."""
        if alg.startswith("HS"):
            return check(KeySet([]))
        return await self._provider.with_keys(check, trace)

    async def refreshed(
        self, new_raw: str, old_raw: str | None, trace: TraceSink | None
    ) -> IDToken:
        """A refreshed ID token: every rule, then OIDC Core §12.2 against the original."""
        meta = await self._provider.metadata(trace=trace)
        client_id = self._identity.require_client_id()
        expectations = IDTokenExpectations(
            issuer=meta.issuer,
            client_id=client_id,
            allowed_algs=(self.settings.id_token_signed_response_alg,),
            now=self._now(),
            clock_skew=self.settings.clock_skew,
            trusted_audiences=self.settings.trusted_audiences,
            client_secret=self._identity.client_secret,
            max_iat_age=MAX_IAT_AGE,
        )
        new = await self.id_token(new_raw, expectations, trace)
        if old_raw is not None:
            # The original token was validated at login; re-read it for OIDC Core §12.2.
            original = IDToken(claims=stored_id_token_claims(old_raw), header={}, raw=old_raw)
            validate_refreshed_id_token(new, original)
        return new

    async def logout_token(self, logout_token: str) -> LogoutToken:
        """Validate a back-channel logout token (Back-Channel Logout 1.0 §2.6)."""
        meta = await self._provider.metadata()
        client_id = self._identity.require_client_id()
        alg = self.settings.id_token_signed_response_alg
        decryption = self._identity.decryption("id_token")
        if decryption is not None and is_compact_jwe(logout_token):
            # Back-Channel Logout 1.0 §2.6 step 1: "If the Logout Token is encrypted, decrypt
            # it using the keys and algorithms that the Client specified during Registration
            # that the OP was to use to encrypt ID Tokens." (Encryption is not required.)
            logout_token = decrypt_jwe(
                logout_token, decryption, prefix="logout_token", error=LogoutTokenError
            )

        def check(keys: KeySet) -> LogoutToken:
            return logout.validate_logout_token(
                logout_token,
                keys,
                issuer=meta.issuer,
                client_id=client_id,
                allowed_algs=(alg,),
                now=self._now(),
                clock_skew=self.settings.clock_skew,
                trusted_audiences=self.settings.trusted_audiences,
                # Bounded age, so that a replay cache of LOGOUT_TOKEN_MAX_AGE + skew suffices.
                max_age=LOGOUT_TOKEN_MAX_AGE,
            )

        return await self._provider.with_keys(check, None)
