"""RelyingParty: the one stateful facade over the protocol core.

Each method strings together a core builder, :mod:`oidc_rp.http` and a core parser,
with the caches a long-running process needs: the provider metadata and the OP's JWK
set (refetched once, rate-limited, when a JWS names an unknown key). Time comes from
an injected clock; random values from :mod:`oidc_rp.core.random`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from joserfc.jwk import KeySet

from oidc_rp.core import authorize, callback, logout, registration, token, userinfo
from oidc_rp.core import random as rnd
from oidc_rp.core.authorize import AuthorizationOptions
from oidc_rp.core.client_auth import ClientAuthentication, client_auth_parameters
from oidc_rp.core.id_token import (
    IDToken,
)
from oidc_rp.core.jwe import (
    parse_json_claims,
    unwrap_nested_jwt,
)
from oidc_rp.core.logout import LogoutToken
from oidc_rp.core.messages import HttpRequest, HttpResponse
from oidc_rp.core.metadata import ProviderMetadata
from oidc_rp.core.registration import ClientRegistration
from oidc_rp.core.transaction import PendingLogin
from oidc_rp.dpop import DPoPClient
from oidc_rp.errors import (
    ConfigurationError,
    LoginStateError,
    NotSupportedError,
    OIDCError,
    OPErrorResponse,
    UserInfoError,
)
from oidc_rp.http import OPHttpClient, TraceSink
from oidc_rp.identity import ClientIdentity
from oidc_rp.provider import JWKS_REFETCH_INTERVAL, METADATA_TTL, ProviderCache
from oidc_rp.registry import registration_request_metadata
from oidc_rp.settings import Settings
from oidc_rp.tokens import ApiResponse, Login, TokenSet, stored_id_token_claims
from oidc_rp.validation import LOGOUT_TOKEN_MAX_AGE, MAX_IAT_AGE, TokenValidator

__all__ = [
    "JWKS_REFETCH_INTERVAL",
    "LOGOUT_TOKEN_MAX_AGE",
    "MAX_IAT_AGE",
    "METADATA_TTL",
    "ApiResponse",
    "Login",
    "RelyingParty",
    "TokenSet",
]

T = TypeVar("T")


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
        self._provider = ProviderCache(settings, self._send, self._now)
        self._identity = ClientIdentity(settings)
        self._validator = TokenValidator(settings, self._identity, self._provider, self._now)
        self._dpop = DPoPClient(settings, self._send, self._now)

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
        return self._identity.registration

    @property
    def is_dynamic(self) -> bool:
        """True when the client identity comes from dynamic registration."""
        return self._identity.registration is not None

    @property
    def client_id(self) -> str | None:
        """The client_id in use: the dynamic registration's, else the configured one."""
        return self._identity.client_id

    @property
    def is_registered(self) -> bool:
        """True when there is a client_id to log in with."""
        return self.client_id is not None

    # Provider metadata and keys -----------------------------------------------------

    async def metadata(self, *, trace: TraceSink | None = None) -> ProviderMetadata:
        """The OP's metadata: discovered (cached for an hour) or set by hand."""
        return await self._provider.metadata(trace=trace)

    async def _with_keys(self, check: Callable[[KeySet], T], trace: TraceSink | None) -> T:
        return await self._provider.with_keys(check, trace)

    async def features(self) -> dict[str, bool]:
        """Which optional features the OP (and our configuration) offer."""
        m = await self.metadata()
        return {
            "userinfo": m.userinfo_endpoint is not None,
            # Discovery §3: grant_types_supported is optional; unlisted, refresh may work.
            "refresh": "refresh_token" in m.grant_types_supported
            or "grant_types_supported" not in m.raw,
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

    def _auth_parameters(
        self, meta: ProviderMetadata, endpoint: str, *, audience: str | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Client authentication for a back-channel call: (headers, form fields)."""
        # RFC 7523 §3 / OIDC Core §9: the assertion's audience is the token endpoint.
        try:
            return client_auth_parameters(
                self._identity.client_authentication(meta),
                audience=audience or meta.token_endpoint or endpoint,
                now=self._now(),
                jti=rnd.generate_jti(),
            )
        except ValueError as exc:
            # The method in use needs a secret or key this client does not have.
            raise ConfigurationError(f"token_endpoint_auth_method: {exc}") from None

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
        client_id = self._identity.require_client_id()
        endpoint = self._require(meta.authorization_endpoint, "authorization_endpoint")
        if self.settings.audience and "audience" not in options.extra:
            options = replace(options, extra={**options.extra, "audience": self.settings.audience})
        options = self._dpop.bind_authorization_code(options, meta)  # RFC 9449 §10
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

        def build() -> HttpRequest:
            # RFC 9126 §2: the issuer is a valid audience for the client assertion.
            client_auth = self._auth_parameters(meta, par, audience=meta.issuer)
            return authorize.build_pushed_authorization_request(par, params, client_auth)

        # RFC 9449 §10.1: a DPoP proof with the pushed request binds the code to the key.
        response = await self._dpop.send_to_as(meta, build, trace)
        pushed = authorize.parse_pushed_authorization_response(response)
        front = authorize.build_request_object_parameters(pushed.request_uri, params, pushed=True)
        return authorize.build_authorization_url(endpoint, front)

    def _request_object(
        self, meta: ProviderMetadata, params: Mapping[str, str], client_id: str
    ) -> str:
        key, alg = self._identity.request_object_signer(meta)
        return authorize.build_request_object(
            params,
            client_id=client_id,
            audience=meta.issuer,
            key=key,
            alg=alg,
            now=self._now(),
            jti=rnd.generate_jti(),
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
            front = await self._validator.front_channel(pending, response, trace)
        if response.code is None:
            raise LoginStateError("login: only flows returning a code are supported")
        tokens = await self._redeem(meta, pending, response.code, trace)
        id_token = await self._validator.token_endpoint(pending, tokens, front, trace)
        if tokens.id_token is not None:
            tokens = replace(tokens, id_token=id_token.raw)  # the signed JWT, if it was a JWE
        login = Login(tokens=tokens, id_token_claims=dict(id_token.claims))
        return await self._with_userinfo(login, trace)

    async def _redeem(
        self, meta: ProviderMetadata, pending: PendingLogin, code: str, trace: TraceSink | None
    ) -> TokenSet:
        endpoint = self._require(meta.token_endpoint, "token_endpoint")
        grant = token.authorization_code_grant(code, pending.redirect_uri, pending.code_verifier)
        expect_id_token = "openid" in pending.scope.split()
        parsed = await self._token_request(meta, endpoint, grant, expect_id_token, trace)
        # RFC 6749 §5.1: a token response without scope grants the scope requested.
        return self._token_set(parsed, previous=None, requested_scope=pending.scope)

    async def _token_request(
        self,
        meta: ProviderMetadata,
        endpoint: str,
        grant: Mapping[str, str],
        expect_id_token: bool,
        trace: TraceSink | None,
    ) -> token.TokenResponse:
        """POST a grant (with a DPoP proof when configured, RFC 9449 §5) and check the answer."""
        response = await self._dpop.send_to_as(
            meta, lambda: self._authenticated_form(meta, endpoint, grant), trace
        )
        parsed = token.parse_token_response(response, expect_id_token=expect_id_token)
        self._dpop.check_token_type(parsed.token_type)
        return parsed

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
        response = await self._dpop.send_to_rs(
            request, tokens.token_type, tokens.access_token, trace
        )
        body = userinfo.parse_userinfo_response(response)
        expected_sub = self._sub_of(tokens)
        decryption = self._identity.decryption("userinfo")
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
        secret = self._identity.client_secret
        claims = await self._validator.verify_signed(
            alg,
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
        return str(stored_id_token_claims(tokens.id_token)["sub"])

    async def refresh(self, tokens: TokenSet, *, trace: TraceSink | None = None) -> TokenSet:
        """Use the refresh token (RFC 6749 §6); a new ID token is checked per OIDC Core §12.2."""
        if not tokens.refresh_token:
            raise NotSupportedError("refresh: no refresh token in this session")
        meta = await self.metadata(trace=trace)
        endpoint = self._require(meta.token_endpoint, "token_endpoint")
        grant = token.refresh_token_grant(tokens.refresh_token)
        parsed = await self._token_request(meta, endpoint, grant, False, trace)
        if parsed.id_token:
            # Every ID token is validated before it is kept, a session without an earlier
            # one included (its claims would be trusted later: userinfo sub, logout hint).
            new = await self._validator.refreshed(parsed.id_token, tokens.id_token, trace)
            parsed = replace(parsed, id_token=new.raw)  # the signed JWT, if it was a JWE
        return self._token_set(parsed, previous=tokens)

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
            endpoint,
            registration_request_metadata(
                self.settings,
                self._identity.registered_jwks(),
                has_signing_key=bool(self._identity.client_key),
            ),
            initial,
        )
        result = registration.parse_registration_response(await self._send(request, trace))
        self._identity.keep_registration(result)
        return result

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
        self._identity.forget_registration()

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
        return await self._validator.logout_token(logout_token)

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
            request = HttpRequest("GET", s.api_endpoint, headers)
            response = await self._dpop.send_to_rs(
                request, tokens.token_type, tokens.access_token, trace
            )
        except OIDCError as exc:
            return ApiResponse(status=None, headers={}, body="", error=exc.message)
        body = response.body.decode("utf-8", "replace")
        return ApiResponse(status=response.status, headers=dict(response.headers), body=body)

    def public_jwks(self) -> dict[str, Any]:
        """The RP's public keys: private_key_jwt, request objects, and encryption (``use: enc``)."""
        return self._identity.public_jwks()
