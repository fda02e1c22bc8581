"""The authorization response at the redirect_uri.

RFC 6749 §4.1.2 (code), §4.1.2.1 (errors), §10.12 (state), OpenID Connect Core
§3.1.2.5-6, §3.2.2.5, §3.3.2.5 (parts per response type) and RFC 9207 (the ``iss``
parameter against mix-up attacks). The checks run in this order: state (constant
time), iss, error, then the parts the response type requires.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from oidc_rp.core.transaction import PendingLogin
from oidc_rp.errors import AuthorizationErrorResponse, AuthorizationResponseError

__all__ = ["AuthorizationResponse", "parse_authorization_response"]


@dataclass(frozen=True)
class AuthorizationResponse:
    """A checked successful authorization response; absent parts are None."""

    state: str
    code: str | None = None
    id_token: str | None = None
    access_token: str | None = None
    token_type: str | None = None
    expires_in: int | None = None
    iss: str | None = None
    session_state: str | None = None

    def __repr__(self) -> str:
        # Never show the code or the tokens.
        return f"AuthorizationResponse(iss={self.iss!r}, has_code={self.code is not None})"


def parse_authorization_response(
    params: Mapping[str, str],
    pending: PendingLogin,
    *,
    issuer: str,
    iss_parameter_supported: bool,
) -> AuthorizationResponse:
    """Check the parameters received at the redirect_uri against the pending login.

    Raises ``AuthorizationResponseError`` when a rule is broken, and
    ``AuthorizationErrorResponse`` when the OP answered an error (after the state and
    iss checks, so that a forged error cannot be shown for someone else's login).
    Only the parts that ``pending.response_type`` asks for are returned.
    """
    state = params.get("state")
    if not state:
        raise AuthorizationResponseError("authorization_response.state: missing")
    # RFC 6749 §10.12: the client MUST verify that state matches the value it sent.
    if not hmac.compare_digest(state.encode("utf-8"), pending.state.encode("utf-8")):
        raise AuthorizationResponseError(
            "authorization_response.state: does not match the pending login"
        )
    # An ID token in the response carries its own iss claim, checked before the code is
    # redeemed: OPs (node-oidc-provider among them) omit the parameter then (RFC 9207 §2.4
    # leaves OpenID Connect responses with an ID token to the ID token's iss).
    front_id_token = "id_token" in pending.response_type.split() and bool(params.get("id_token"))
    iss = _check_iss(params.get("iss"), issuer, iss_parameter_supported and not front_id_token)
    if "error" in params:
        _raise_error_response(params)
    response_types = pending.response_type.split()
    code = _part(params, "code") if "code" in response_types else None
    id_token = _part(params, "id_token") if "id_token" in response_types else None
    access_token = token_type = None
    expires_in = None
    if "token" in response_types:
        access_token = _part(params, "access_token")
        token_type = _part(params, "token_type")
        expires_in = _expires_in(params.get("expires_in"))
    return AuthorizationResponse(
        state=state,
        code=code,
        id_token=id_token,
        access_token=access_token,
        token_type=token_type,
        expires_in=expires_in,
        iss=iss,
        session_state=params.get("session_state"),
    )


def _check_iss(iss: str | None, issuer: str, supported: bool) -> str | None:
    if iss is None:
        # RFC 9207 §2.4: clients MUST reject responses without iss when the OP
        # advertises authorization_response_iss_parameter_supported.
        if supported:
            raise AuthorizationResponseError(
                "authorization_response.iss: missing although the OP advertises it (RFC 9207)"
            )
        return None
    # RFC 9207 §2.4: when iss is present, the client MUST compare it to the issuer
    # identifier of the authorization server it sent the request to (simple string
    # comparison, RFC 3986 §6.2.1).
    if iss != issuer:
        raise AuthorizationResponseError(
            f"authorization_response.iss: {iss!r} is not the expected issuer {issuer!r}"
        )
    return iss


def _raise_error_response(params: Mapping[str, str]) -> None:
    error = params["error"]
    if not error:
        raise AuthorizationResponseError("authorization_response.error: empty")
    raise AuthorizationErrorResponse(
        error, params.get("error_description") or None, params.get("error_uri") or None
    )


def _part(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    # RFC 6749 §4.1.2 / OIDC Core §3.2.2.5, §3.3.2.5: the part is REQUIRED for this
    # response type.
    if not value:
        raise AuthorizationResponseError(f"authorization_response.{name}: missing")
    return value


def _expires_in(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit():
        raise AuthorizationResponseError("authorization_response.expires_in: not an integer")
    return int(value)
