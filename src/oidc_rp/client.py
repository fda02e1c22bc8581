"""RelyingParty: the one stateful facade over the protocol core.

Each method strings together a core builder, :mod:`oidc_rp.http` and a core parser,
with the caches a long-running process needs: the provider metadata and the OP's JWK
set (refetched once, rate-limited, when a JWS names an unknown key). Time comes from
an injected clock; random values from :mod:`oidc_rp.core.random`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from oidc_rp.core import authorize, callback, jwks, logout, registration, token, userinfo
from oidc_rp.core import random as rnd
from oidc_rp.core.authorize import AuthorizationOptions
from oidc_rp.core.client_auth import ClientAuthentication, client_auth_parameters, secret_key
from oidc_rp.core.id_token import (
    IDToken,
    IDTokenExpectations,
    validate_id_token,
    validate_refreshed_id_token,
)
from oidc_rp.core.jwe import (
    JWEDecryption,
    decrypt_jwe,
    is_compact_jwe,
    parse_json_claims,
    unwrap_nested_jwt,
)
from oidc_rp.core.logout import LogoutToken
from oidc_rp.core.messages import HttpRequest, HttpResponse
from oidc_rp.core.metadata import ProviderMetadata, build_discovery_request, parse_provider_metadata
from oidc_rp.core.registration import ClientRegistration
from oidc_rp.core.transaction import PendingLogin
from oidc_rp.errors import (
    ConfigurationError,
    IDTokenError,
    KeyNotFoundError,
    LoginStateError,
    LogoutTokenError,
    NotSupportedError,
    OIDCError,
    OPErrorResponse,
    OPUnreachableError,
    UserInfoError,
)
from oidc_rp.http import OPHttpClient, TraceSink
from oidc_rp.keys import (
    AsymmetricKey,
    EncryptionKey,
    default_alg,
    load_encryption_key,
    load_private_key,
    public_jwks,
)
from oidc_rp.registry import RegistrationFile
from oidc_rp.settings import Settings

__all__ = ["ApiResponse", "Login", "RelyingParty", "TokenSet"]

T = TypeVar("T")

#: Seconds between two JWKS refetches triggered by unknown key ids.
JWKS_REFETCH_INTERVAL = 5
#: Provider metadata is fetched again after this many seconds.
METADATA_TTL = 3600
#: An ID token issued longer ago than this is refused (OIDC Core §3.1.3.7 step 10 lets the
#: client reject tokens "issued too far away from the current time").
MAX_IAT_AGE = 3600


@dataclass(frozen=True)
class TokenSet:
    """The tokens a session keeps. ``id_token`` is the latest validated ID token."""

    access_token: str | None
    token_type: str = "Bearer"
    refresh_token: str | None = None
    id_token: str | None = None
    expires_at: int | None = None
    scope: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "refresh_token": self.refresh_token,
            "id_token": self.id_token,
            "expires_at": self.expires_at,
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        """Read back :meth:`to_dict`; a malformed record raises LoginStateError."""
        values = {k: data.get(k) for k in ("access_token", "refresh_token", "id_token", "scope")}
        expires_at = data.get("expires_at")
        token_type = data.get("token_type", "Bearer")
        strings_ok = all(v is None or isinstance(v, str) for v in values.values())
        if not strings_ok or not isinstance(token_type, str) or not _optional_int(expires_at):
            raise LoginStateError("session.tokens: malformed record")
        return cls(token_type=token_type, expires_at=expires_at, **values)


@dataclass(frozen=True)
class Login:
    """The result of a completed login."""

    tokens: TokenSet
    id_token_claims: dict[str, Any]
    userinfo: dict[str, Any] | None = None
    userinfo_error: str | None = None

    @property
    def sub(self) -> str:
        """The end-user's subject identifier."""
        return str(self.id_token_claims["sub"])

    @property
    def sid(self) -> str | None:
        """The OP session id, for back-channel logout."""
        sid = self.id_token_claims.get("sid")
        return sid if isinstance(sid, str) else None


@dataclass(frozen=True)
class ApiResponse:
    """What the API answered (or why it could not be reached)."""

    status: int | None
    headers: dict[str, str]
    body: str
    error: str | None = None


def _optional_int(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _stored_claims(raw: str) -> dict[str, Any]:
    """Claims of an ID token this RP validated before storing it in the session."""
    claims = json.loads(extract_compact(raw.encode()).payload)
    if not isinstance(claims, dict):
        raise LoginStateError("session.id_token: malformed record")
    return claims


class RelyingParty:
    """An OpenID Connect Relying Party configured by :class:`Settings`."""

    def __init__(
        self,
        settings: Settings,
        *,
        http: OPHttpClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._own_http = http is None
        self._http = http or OPHttpClient(
            timeout=settings.http_timeout,
            verify=settings.verify_ssl_server,
            ca_file=settings.ca_file,
            debug=settings.debug,
        )
        self._clock = clock
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0
        self._keys: KeySet | None = None
        self._keys_at = -JWKS_REFETCH_INTERVAL
        self._lock = asyncio.Lock()
        self._registry = RegistrationFile(settings.registration_path)
        self._registration = self._registry.load()
        self._request_object_key = self._load_key("request_object_key")
        self._client_key = self._load_key("client_private_key") or self._request_object_key
        value = settings.secret("client_encryption_key")
        self._encryption_key: EncryptionKey | None = (
            load_encryption_key("client_encryption_key", value) if value else None
        )
        self.public_jwks()  # one key per use: refuse a signing key reused for encryption now

    def _load_key(self, name: str) -> AsymmetricKey | None:
        value = self.settings.secret(name)
        return load_private_key(name, value) if value else None

    def _decryption(self, kind: str) -> JWEDecryption | None:
        """How ``id_token`` or ``userinfo`` responses must be encrypted (OIDC Core §10.2)."""
        pair = getattr(self.settings, f"{kind}_encryption")
        if pair is None:
            return None
        try:
            return JWEDecryption.from_settings(
                *pair, private_key=self._encryption_key, client_secret=self._client_secret()
            )
        except ValueError as exc:
            raise ConfigurationError(f"{kind}_encrypted_response_alg: {exc}") from None

    async def aclose(self) -> None:
        """Release the HTTP connection pool (when this RP created it)."""
        if self._own_http:
            await self._http.aclose()

    def _now(self) -> int:
        return int(self._clock())

    async def _send(self, request: HttpRequest, trace: TraceSink | None) -> HttpResponse:
        return await self._http.send(request, trace=trace)

    # The client's identity --------------------------------------------------------

    @property
    def registration(self) -> ClientRegistration | None:
        """The dynamic registration in use, if any."""
        return self._registration

    @property
    def is_dynamic(self) -> bool:
        """True when the client identity comes from dynamic registration."""
        return self._registration is not None

    @property
    def client_id(self) -> str | None:
        """The client_id in use: the dynamic registration's, else the configured one."""
        if self._registration is not None:
            return self._registration.client_id
        return self.settings.client_id

    @property
    def is_registered(self) -> bool:
        """True when there is a client_id to log in with."""
        return self.client_id is not None

    def _client_secret(self) -> str | None:
        if self._registration is not None:
            return self._registration.client_secret
        return self.settings.secret("client_secret")

    def _require_client_id(self) -> str:
        client_id = self.client_id
        if client_id is None:
            raise ConfigurationError(
                "client_id: not configured; set client_id or register the client dynamically"
            )
        return client_id

    # Provider metadata and keys -----------------------------------------------------

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
        """The cached JWK set; fetched when there is none, or none newer than ``newer_than``."""
        async with self._lock:
            if self._keys is not None and (newer_than is None or self._keys_at > newer_than):
                return self._keys
            meta = self._metadata or await self._load_metadata(trace)
            if not meta.jwks_uri:
                raise NotSupportedError("jwks_uri: the OP publishes no JWK set")
            response = await self._send(jwks.build_jwks_request(meta.jwks_uri), trace)
            self._keys = jwks.parse_jwks(response)
            self._keys_at = self._now()
            return self._keys

    async def _with_keys(self, check: Callable[[KeySet], T], trace: TraceSink | None) -> T:
        """Run ``check`` with the OP's keys; on an unknown kid refetch once (rate-limited)."""
        keys = await self._jwks(newer_than=None, trace=trace)
        seen = self._keys_at
        try:
            return check(keys)
        except KeyNotFoundError:
            # Concurrent failures share one refetch; a flood of made-up kids gets one per
            # interval (OIDC Core §10.1.1 rotation without hammering the jwks_uri).
            refreshed_meanwhile = self._keys_at > seen
            if not refreshed_meanwhile and not jwks.may_refetch(
                seen, self._now(), JWKS_REFETCH_INTERVAL
            ):
                raise
        return check(await self._jwks(newer_than=seen, trace=trace))

    async def features(self) -> dict[str, bool]:
        """Which optional features the OP (and our configuration) offer."""
        m = await self.metadata()
        return {
            "userinfo": m.userinfo_endpoint is not None,
            "refresh": "refresh_token" in m.grant_types_supported or bool(m.token_endpoint),
            "revocation": m.revocation_endpoint is not None,
            "introspection": m.introspection_endpoint is not None,
            "registration": m.registration_endpoint is not None,
            "end_session": m.end_session_endpoint is not None,
            "par": m.pushed_authorization_request_endpoint is not None,
            "request_object": m.request_parameter_supported,
            "request_uri": m.request_uri_parameter_supported,
            "call_api": self.settings.api_endpoint is not None,
        }

    # Client authentication ---------------------------------------------------------

    def _auth_method(self, meta: ProviderMetadata) -> str:
        configured = self.settings.token_endpoint_auth_method
        if self._registration is not None:
            configured = self._registration.raw.get("token_endpoint_auth_method") or configured
        if configured:
            return str(configured)
        if self._client_secret() is None:
            return "private_key_jwt" if self._client_key else "none"
        supported = meta.token_endpoint_auth_methods_supported
        if not supported or "client_secret_basic" in supported:
            return "client_secret_basic"
        for method in ("client_secret_post", "client_secret_jwt", "private_key_jwt"):
            if method in supported and (method != "private_key_jwt" or self._client_key):
                return method
        return "client_secret_basic"

    def _client_auth(self, meta: ProviderMetadata) -> ClientAuthentication:
        method = self._auth_method(meta)
        key = self._client_key if method == "private_key_jwt" else None
        return ClientAuthentication(
            method=method,
            client_id=self._require_client_id(),
            client_secret=self._client_secret(),
            private_key=key,
            signing_alg=self.settings.token_endpoint_auth_signing_alg
            or (default_alg(key) if key else None),
        )

    def _auth_parameters(
        self, meta: ProviderMetadata, endpoint: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Client authentication for a back-channel call: (headers, form fields)."""
        # RFC 7523 §3 / OIDC Core §9: the assertion's audience is the token endpoint.
        audience = meta.token_endpoint or endpoint
        return client_auth_parameters(
            self._client_auth(meta), audience=audience, now=self._now(), jti=rnd.generate_jti()
        )

    def _authenticated_form(
        self, meta: ProviderMetadata, endpoint: str, form: Mapping[str, str]
    ) -> HttpRequest:
        headers, auth_form = self._auth_parameters(meta, endpoint)
        return token.build_token_request(endpoint, form, headers, auth_form)

    def _require(self, value: str | None, what: str) -> str:
        if not value:
            raise NotSupportedError(f"{what}: the OP does not offer it")
        return value

    # Login -----------------------------------------------------------------------

    async def start_login(
        self,
        options: AuthorizationOptions,
        *,
        publish_request_object: Callable[[str], Awaitable[str]] | None = None,
        trace: TraceSink | None = None,
    ) -> tuple[str, PendingLogin]:
        """Build the authorization request; return the URL for the browser and the pending login."""
        if "code" not in options.response_type.split():
            # Tokens only in the front channel (implicit flow) are discouraged by RFC 9700 §2.1.2.
            raise NotSupportedError(
                f"response_type: {options.response_type!r} has no code; use code or a hybrid type"
            )
        meta = await self.metadata(trace=trace)
        client_id = self._require_client_id()
        endpoint = self._require(meta.authorization_endpoint, "authorization_endpoint")
        if self.settings.audience and "audience" not in options.extra:
            options = replace(options, extra={**options.extra, "audience": self.settings.audience})
        pending = self._new_pending(options, meta, client_id)
        params = authorize.build_authorization_parameters(
            client_id=client_id,
            redirect_uri=pending.redirect_uri,
            options=options,
            pending=pending,
        )
        via = options.send_parameters_via
        if via == "query" and meta.require_pushed_authorization_requests:
            via = "par"
        if via == "query":
            return authorize.build_authorization_url(endpoint, params), pending
        if via == "par":
            return await self._push(meta, endpoint, params, trace), pending
        request_object = self._request_object(meta, params, client_id)
        if via == "request_object":
            front = authorize.build_request_object_parameters(request_object, params)
        else:
            if publish_request_object is None:
                raise NotSupportedError("request_uri: no place to publish the request object")
            uri = await publish_request_object(request_object)
            front = authorize.build_request_object_parameters(uri, params, pushed=False)
        return authorize.build_authorization_url(endpoint, front), pending

    def _new_pending(
        self, options: AuthorizationOptions, meta: ProviderMetadata, client_id: str
    ) -> PendingLogin:
        return PendingLogin(
            state=rnd.generate_state(),
            nonce=rnd.generate_nonce(),
            code_verifier=rnd.generate_code_verifier(),
            redirect_uri=self.settings.effective_redirect_uri,
            response_type=options.response_type,
            response_mode=options.response_mode,
            scope=authorize.normalize_scope(options.scope),
            max_age=options.max_age,
            acr_values=options.acr_values,
            essential_acr=tuple(options.essential_acr),
            issuer=meta.issuer,
            client_id=client_id,
            created_at=self._now(),
            send_parameters_via=options.send_parameters_via,
        )

    async def _push(
        self,
        meta: ProviderMetadata,
        endpoint: str,
        params: Mapping[str, str],
        trace: TraceSink | None,
    ) -> str:
        par = self._require(
            meta.pushed_authorization_request_endpoint, "pushed_authorization_request_endpoint"
        )
        headers, auth_form = client_auth_parameters(
            self._client_auth(meta),
            audience=meta.issuer,
            now=self._now(),
            jti=rnd.generate_jti(),
        )
        request = authorize.build_pushed_authorization_request(par, params, (headers, auth_form))
        pushed = authorize.parse_pushed_authorization_response(await self._send(request, trace))
        front = {"client_id": params["client_id"], "request_uri": pushed.request_uri}
        return authorize.build_authorization_url(endpoint, front)

    def _request_object(
        self, meta: ProviderMetadata, params: Mapping[str, str], client_id: str
    ) -> str:
        key, alg = self._request_object_signer(meta)
        return authorize.build_request_object(
            params,
            client_id=client_id,
            audience=meta.issuer,
            key=key,
            alg=alg,
            now=self._now(),
            jti=rnd.generate_jti(),
        )

    def _request_object_signer(self, meta: ProviderMetadata) -> tuple[Any, str]:
        supported = meta.request_object_signing_alg_values_supported
        wanted = self.settings.request_object_signing_alg
        if self._request_object_key is not None:
            return self._request_object_key, wanted or default_alg(self._request_object_key)
        secret = self._client_secret()
        hmac_ok = wanted is None and (not supported or "HS256" in supported)
        if secret and (hmac_ok or (wanted or "").startswith("HS")):
            return secret_key(secret), wanted or "HS256"
        # An unsigned request object only when asked for, or when it is all the OP takes.
        if wanted == "none" or (wanted is None and "none" in supported):
            return None, "none"
        raise ConfigurationError(
            "request_object_key: needed to sign request objects (or a client_secret for HS256)"
        )

    async def finish_login(
        self,
        pending: PendingLogin,
        params: Mapping[str, str],
        *,
        trace: TraceSink | None = None,
    ) -> Login:
        """Check the authorization response, redeem the code, validate the ID token(s)."""
        meta = await self.metadata(trace=trace)
        if pending.issuer != meta.issuer or pending.client_id != self.client_id:
            raise LoginStateError("pending_login: started for another issuer or client")
        response = callback.parse_authorization_response(
            params,
            pending,
            issuer=meta.issuer,
            iss_parameter_supported=meta.authorization_response_iss_parameter_supported,
        )
        front: IDToken | None = None
        if response.id_token:
            front = await self._validate_front_channel(pending, response, trace)
        if response.code is None:
            raise LoginStateError("login: only flows returning a code are supported")
        tokens = await self._redeem(meta, pending, response.code, trace)
        id_token = await self._validate_token_endpoint_id_token(pending, tokens, front, trace)
        if tokens.id_token is not None:
            tokens = replace(tokens, id_token=id_token.raw)  # the signed JWT, if it was a JWE
        login = Login(tokens=tokens, id_token_claims=dict(id_token.claims))
        return await self._with_userinfo(login, trace)

    async def _validate_front_channel(
        self,
        pending: PendingLogin,
        response: callback.AuthorizationResponse,
        trace: TraceSink | None,
    ) -> IDToken:
        types = set(pending.response_type.split())
        expectations = self._expectations(
            pending,
            # OIDC Core §3.3.2.11: c_hash REQUIRED for code id_token (token); at_hash when
            # the access token is issued from the authorization endpoint.
            code=response.code,
            require_c_hash="code" in types,
            access_token=response.access_token,
            require_at_hash="token" in types,
        )
        assert response.id_token is not None
        return await self._validate_id_token(response.id_token, expectations, trace)

    async def _redeem(
        self, meta: ProviderMetadata, pending: PendingLogin, code: str, trace: TraceSink | None
    ) -> TokenSet:
        endpoint = self._require(meta.token_endpoint, "token_endpoint")
        grant = token.authorization_code_grant(code, pending.redirect_uri, pending.code_verifier)
        request = self._authenticated_form(meta, endpoint, grant)
        parsed = token.parse_token_response(
            await self._send(request, trace), expect_id_token="openid" in pending.scope.split()
        )
        # RFC 6749 §5.1: a token response without scope grants the scope requested.
        return self._token_set(parsed, previous=None, requested_scope=pending.scope)

    def _token_set(
        self,
        parsed: token.TokenResponse,
        previous: TokenSet | None,
        requested_scope: str | None = None,
    ) -> TokenSet:
        expires_at = self._now() + parsed.expires_in if parsed.expires_in is not None else None
        return TokenSet(
            access_token=parsed.access_token,
            token_type=parsed.token_type,
            # RFC 6749 §6: the OP may keep the old refresh token valid and not send a new one.
            refresh_token=parsed.refresh_token or (previous.refresh_token if previous else None),
            id_token=parsed.id_token or (previous.id_token if previous else None),
            expires_at=expires_at,
            scope=parsed.scope or (previous.scope if previous else requested_scope),
        )

    async def _validate_token_endpoint_id_token(
        self,
        pending: PendingLogin,
        tokens: TokenSet,
        front: IDToken | None,
        trace: TraceSink | None,
    ) -> IDToken:
        if tokens.id_token is None:
            if front is None:
                raise IDTokenError("id_token: missing from the token response")
            return front
        expectations = self._expectations(pending, access_token=tokens.access_token)
        id_token = await self._validate_id_token(tokens.id_token, expectations, trace)
        if front is not None:
            # OIDC Core §3.3.3.6: iss and sub MUST be identical in both ID tokens.
            for claim in ("iss", "sub"):
                if id_token.claims.get(claim) != front.claims.get(claim):
                    raise IDTokenError(f"id_token.{claim}: differs from the front-channel ID token")
        return id_token

    def _expectations(self, pending: PendingLogin, **hashes: Any) -> IDTokenExpectations:
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
            client_secret=self._client_secret(),
            max_iat_age=MAX_IAT_AGE,
            **hashes,
        )

    async def _validate_id_token(
        self, raw: str, expectations: IDTokenExpectations, trace: TraceSink | None
    ) -> IDToken:
        if not expectations.issuer:
            raise IDTokenError("id_token.iss: no issuer configured to compare it with")
        # OIDC Core §3.1.3.7 step 1: decrypt with the negotiated keys and algorithms; an
        # unencrypted ID token when encryption was negotiated is rejected. The signed inner
        # JWT is what gets validated and kept (RP-Initiated Logout §2: id_token_hint).
        raw = unwrap_nested_jwt(
            raw, self._decryption("id_token"), prefix="id_token", error=IDTokenError
        )
        if expectations.allowed_algs[0].startswith("HS"):
            return validate_id_token(raw, KeySet([]), expectations)
        return await self._with_keys(lambda keys: validate_id_token(raw, keys, expectations), trace)

    async def _with_userinfo(self, login: Login, trace: TraceSink | None) -> Login:
        meta = await self.metadata(trace=trace)
        if meta.userinfo_endpoint is None or login.tokens.access_token is None:
            return login
        try:
            claims = await self.userinfo(login.tokens, trace=trace)
        except OPErrorResponse as exc:
            return replace(login, userinfo_error=exc.message)
        return replace(login, userinfo=claims)

    # After login ------------------------------------------------------------------

    async def userinfo(self, tokens: TokenSet, *, trace: TraceSink | None = None) -> dict[str, Any]:
        """Fetch the UserInfo claims; ``sub`` must equal the ID token's (OIDC Core §5.3.4)."""
        meta = await self.metadata(trace=trace)
        endpoint = self._require(meta.userinfo_endpoint, "userinfo_endpoint")
        if not tokens.access_token:
            raise NotSupportedError("userinfo: no access token in this session")
        request = userinfo.build_userinfo_request(endpoint, tokens.access_token, tokens.token_type)
        body = userinfo.parse_userinfo_response(await self._send(request, trace))
        expected_sub = self._sub_of(tokens)
        decryption = self._decryption("userinfo")
        if isinstance(body, dict):
            if decryption is not None:
                # Registration §2 / OIDC Core §5.3.2: encryption was negotiated.
                raise UserInfoError(
                    "userinfo.jwe: not encrypted, although encryption was negotiated"
                )
            return userinfo.validate_userinfo_claims(body, expected_sub=expected_sub)
        body = unwrap_nested_jwt(body, decryption, prefix="userinfo", error=UserInfoError)
        signed = self.settings.userinfo_signed_response_alg is not None
        if decryption is not None and not signed and body.lstrip().startswith("{"):
            # Registration §2: encryption only -> the JWE's plaintext is the JSON claims.
            claims = parse_json_claims(body, prefix="userinfo", error=UserInfoError)
            return userinfo.validate_userinfo_claims(claims, expected_sub=expected_sub)
        alg = (
            self.settings.userinfo_signed_response_alg or self.settings.id_token_signed_response_alg
        )
        secret = self._client_secret()
        claims = await self._with_keys(
            lambda keys: userinfo.verify_userinfo_jwt(
                body, keys, allowed_algs=(alg,), client_secret=secret
            ),
            trace,
        )
        return userinfo.validate_userinfo_claims(
            claims, expected_sub=expected_sub, issuer=meta.issuer, client_id=self.client_id
        )

    @staticmethod
    def _sub_of(tokens: TokenSet) -> str:
        if not tokens.id_token:
            raise LoginStateError("session: no ID token to compare the userinfo sub with")
        # The ID token was validated when it was stored; only its sub is read here.
        return str(_stored_claims(tokens.id_token)["sub"])

    async def refresh(self, tokens: TokenSet, *, trace: TraceSink | None = None) -> TokenSet:
        """Use the refresh token (RFC 6749 §6); a new ID token is checked per OIDC Core §12.2."""
        if not tokens.refresh_token:
            raise NotSupportedError("refresh: no refresh token in this session")
        meta = await self.metadata(trace=trace)
        endpoint = self._require(meta.token_endpoint, "token_endpoint")
        request = self._authenticated_form(
            meta, endpoint, token.refresh_token_grant(tokens.refresh_token)
        )
        parsed = token.parse_token_response(await self._send(request, trace), expect_id_token=False)
        if parsed.id_token and tokens.id_token:
            new = await self._validate_refreshed(parsed.id_token, tokens.id_token, trace)
            parsed = replace(parsed, id_token=new.raw)  # the signed JWT, if it was a JWE
        return self._token_set(parsed, previous=tokens)

    async def _validate_refreshed(
        self, new_raw: str, old_raw: str, trace: TraceSink | None
    ) -> IDToken:
        meta = await self.metadata(trace=trace)
        client_id = self._require_client_id()
        # The original token was validated at login; re-read it for the comparison.
        original = IDToken(claims=_stored_claims(old_raw), header={}, raw=old_raw)
        expectations = IDTokenExpectations(
            issuer=meta.issuer,
            client_id=client_id,
            allowed_algs=(self.settings.id_token_signed_response_alg,),
            now=self._now(),
            clock_skew=self.settings.clock_skew,
            trusted_audiences=self.settings.trusted_audiences,
            client_secret=self._client_secret(),
            max_iat_age=MAX_IAT_AGE,
        )
        new = await self._validate_id_token(new_raw, expectations, trace)
        validate_refreshed_id_token(new, original)
        return new

    async def revoke(
        self, token_value: str, token_type_hint: str, *, trace: TraceSink | None = None
    ) -> None:
        """Revoke a token (RFC 7009)."""
        meta = await self.metadata(trace=trace)
        endpoint = self._require(meta.revocation_endpoint, "revocation_endpoint")
        headers, auth_form = self._auth_parameters(meta, endpoint)
        request = token.build_revocation_request(
            endpoint, token_value, token_type_hint, headers, auth_form
        )
        token.parse_revocation_response(await self._send(request, trace))

    async def introspect(
        self, token_value: str, token_type_hint: str, *, trace: TraceSink | None = None
    ) -> dict[str, Any]:
        """Introspect a token (RFC 7662)."""
        meta = await self.metadata(trace=trace)
        endpoint = self._require(meta.introspection_endpoint, "introspection_endpoint")
        headers, auth_form = self._auth_parameters(meta, endpoint)
        request = token.build_introspection_request(
            endpoint, token_value, token_type_hint, headers, auth_form
        )
        return token.parse_introspection_response(await self._send(request, trace))

    # Registration ------------------------------------------------------------------

    async def register(self, *, trace: TraceSink | None = None) -> ClientRegistration:
        """Register this client dynamically (RFC 7591) and keep the result in a file."""
        meta = await self.metadata(trace=trace)
        endpoint = self._require(meta.registration_endpoint, "registration_endpoint")
        initial = await self._initial_access_token(meta, trace)
        request = registration.build_registration_request(
            endpoint, self._registration_metadata(meta), initial
        )
        result = registration.parse_registration_response(await self._send(request, trace))
        self._registry.save(result)
        self._registration = result
        return result

    def _registration_metadata(self, meta: ProviderMetadata) -> dict[str, Any]:
        s = self.settings
        types = s.response_type.split()
        key = self._client_key
        method = s.token_endpoint_auth_method or (
            "private_key_jwt" if key and not s.client_secret else "client_secret_basic"
        )
        metadata = registration.registration_metadata(
            redirect_uris=[s.effective_redirect_uri],
            post_logout_redirect_uris=[s.effective_post_logout_redirect_uri],
            response_types=[" ".join(types)],
            grant_types=["authorization_code", "refresh_token"],
            token_endpoint_auth_method=method,
            id_token_signed_response_alg=s.id_token_signed_response_alg,
            jwks=self.public_jwks()
            if key or self._request_object_key or self._encryption_key
            else None,
            userinfo_signed_response_alg=s.userinfo_signed_response_alg,
            software_id=s.template_client,
            backchannel_logout_uri=f"{s.effective_base_url}/backchannel-logout",
        )
        # Front-Channel Logout 1.0 §2: iss and sid tell which session ends (the iframe is
        # cross-site, so no session cookie comes with it).
        for kind in ("id_token", "userinfo"):
            pair = getattr(s, f"{kind}_encryption")
            if pair is not None:
                # Registration §2: the OP encrypts with this alg and enc (to our jwks key
                # or to a key derived from the client secret).
                metadata[f"{kind}_encrypted_response_alg"] = pair[0]
                metadata[f"{kind}_encrypted_response_enc"] = pair[1]
        metadata["frontchannel_logout_uri"] = f"{s.effective_base_url}/frontchannel-logout"
        metadata["frontchannel_logout_session_required"] = True
        metadata["backchannel_logout_session_required"] = True
        if s.effective_base_url.startswith("https://"):
            # OIDC Registration §2: initiate_login_uri MUST use the https scheme.
            metadata["initiate_login_uri"] = f"{s.effective_base_url}/initiate-login"
        return metadata

    async def _initial_access_token(
        self, meta: ProviderMetadata, trace: TraceSink | None
    ) -> str | None:
        s = self.settings
        secret = s.secret("dcr_client_secret")
        if not s.dcr_client_id or not secret:
            return None
        endpoint = self._require(meta.token_endpoint, "token_endpoint")
        headers, form = client_auth_parameters(
            ClientAuthentication(
                method="client_secret_basic", client_id=s.dcr_client_id, client_secret=secret
            ),
            audience=endpoint,
            now=self._now(),
            jti=rnd.generate_jti(),
        )
        grant = token.client_credentials_grant("dcr")
        request = token.build_token_request(endpoint, grant, headers, form)
        parsed = token.parse_token_response(await self._send(request, trace), expect_id_token=False)
        return parsed.access_token

    async def clean_registration(self) -> None:
        """Forget the dynamic registration (the static client_id, if any, is used again)."""
        self._registry.delete()
        self._registration = None

    # Logout and APIs ---------------------------------------------------------------

    async def end_session_url(self, tokens: TokenSet | None, state: str) -> str | None:
        """The RP-Initiated Logout URL, or None when the OP has no end_session_endpoint."""
        meta = await self.metadata()
        if meta.end_session_endpoint is None:
            return None
        return logout.build_end_session_url(
            meta.end_session_endpoint,
            id_token_hint=tokens.id_token if tokens else None,
            client_id=self.client_id,
            post_logout_redirect_uri=self.settings.effective_post_logout_redirect_uri,
            state=state,
        )

    async def validate_logout_token(self, logout_token: str) -> LogoutToken:
        """Validate a back-channel logout token (Back-Channel Logout 1.0 §2.6)."""
        meta = await self.metadata()
        client_id = self._require_client_id()
        alg = self.settings.id_token_signed_response_alg
        decryption = self._decryption("id_token")
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
            )

        return await self._with_keys(check, None)

    async def call_api(self, tokens: TokenSet, *, trace: TraceSink | None = None) -> ApiResponse:
        """Call ``api_endpoint`` with the access token; HTTP errors are returned, not raised."""
        s = self.settings
        if not s.api_endpoint:
            raise NotSupportedError("api_endpoint: not configured")
        if not tokens.access_token:
            raise NotSupportedError("call_api: no access token in this session")
        headers = {
            "authorization": f"{tokens.token_type} {tokens.access_token}",
            "accept": "application/json",
        }
        key = s.secret("subscription_key")
        if key:
            headers[s.subscription_key_header.lower()] = key
        try:
            response = await self._send(HttpRequest("GET", s.api_endpoint, headers), trace)
        except (OPUnreachableError, OIDCError) as exc:
            return ApiResponse(status=None, headers={}, body="", error=exc.message)
        body = response.body.decode("utf-8", "replace")
        return ApiResponse(status=response.status, headers=dict(response.headers), body=body)

    def public_jwks(self) -> dict[str, Any]:
        """The RP's public keys: private_key_jwt, request objects, and encryption (``use: enc``)."""
        return public_jwks(
            self._client_key,
            self._request_object_key,
            encryption_key=self._encryption_key,
            encryption_alg=self.settings.encryption_key_alg,
        )
