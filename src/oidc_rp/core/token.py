"""Token, revocation and introspection requests and their responses.

RFC 6749 §4.1.3 (authorization code grant), §4.4 (client credentials), §5.1-5.2
(token and error responses), §6 (refresh), OIDC Core §3.1.3.3 (the ID token in the
token response), RFC 7009 (revocation) and RFC 7662 (introspection). The client
authentication headers and form fields come from ``client_auth.client_auth_parameters``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from oidc_rp.core.claims import is_int
from oidc_rp.core.messages import HttpRequest, HttpResponse, form_request, json_object, parse_json
from oidc_rp.errors import TokenErrorResponse, TokenResponseError

__all__ = [
    "TOKEN_TYPES",
    "TokenResponse",
    "authorization_code_grant",
    "build_introspection_request",
    "build_revocation_request",
    "build_token_request",
    "client_credentials_grant",
    "parse_introspection_response",
    "parse_revocation_response",
    "parse_token_response",
    "raise_for_error_response",
    "refresh_token_grant",
]

#: The token types this client understands, by their lower-case name.
TOKEN_TYPES = {"bearer": "Bearer", "dpop": "DPoP"}
TOKEN_TYPE_HINTS = ("access_token", "refresh_token")
#: RFC 6749 Appendix A.12, A.17: access_token = 1*VSCHAR, refresh_token = 1*VSCHAR;
#: VSCHAR = %x20-7E (a token goes into an HTTP header, which takes no other octets).
_VSCHARS = re.compile(r"[\x20-\x7e]+")
#: The characters of a JWS or JWE Compact Serialization: base64url parts and dots
#: (RFC 7515 §7.1, RFC 7516 §7.1).
_COMPACT_CHARS = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class TokenResponse:
    """A checked successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3)."""

    access_token: str
    token_type: str
    expires_in: int | None = None
    refresh_token: str | None = None
    id_token: str | None = None
    scope: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        # Never show the tokens.
        return f"TokenResponse(token_type={self.token_type!r}, expires_in={self.expires_in!r})"


def authorization_code_grant(
    code: str, redirect_uri: str, code_verifier: str | None
) -> dict[str, str]:
    """The authorization code grant form (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier is not None:
        grant["code_verifier"] = code_verifier
    return grant


def refresh_token_grant(refresh_token: str, scope: str | None = None) -> dict[str, str]:
    """The refresh token grant form (RFC 6749 §6)."""
    grant = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scope is not None:
        grant["scope"] = scope
    return grant


def client_credentials_grant(scope: str | None = None) -> dict[str, str]:
    """The client credentials grant form (RFC 6749 §4.4.2)."""
    grant = {"grant_type": "client_credentials"}
    if scope is not None:
        grant["scope"] = scope
    return grant


def build_token_request(
    token_endpoint: str,
    grant: Mapping[str, str],
    auth_headers: Mapping[str, str],
    auth_form: Mapping[str, str],
) -> HttpRequest:
    """A form POST of ``grant`` plus client authentication, Accept: application/json."""
    return form_request(token_endpoint, _merge(grant, auth_form), auth_headers)


def parse_token_response(response: HttpResponse, *, expect_id_token: bool) -> TokenResponse:
    """Check a token endpoint response (RFC 6749 §5.1, §5.2; OIDC Core §3.1.3.3).

    An OAuth error answer raises ``TokenErrorResponse(endpoint="token")``; a response
    that breaks a rule raises ``TokenResponseError`` naming it.
    """
    raise_for_error_response(response, "token")
    if response.status != 200:
        raise TokenResponseError(f"token_response.status: expected HTTP 200, got {response.status}")
    body = json_object(response, "token_response.body", TokenResponseError)
    # RFC 6749 §5.1: access_token and token_type are REQUIRED.
    access_token = _string(body, "access_token", required=True, syntax=_VSCHARS)
    token_type = _string(body, "token_type", required=True)
    # RFC 6749 §7.1: "The client MUST NOT use an access token if it does not understand the
    # token type"; the type is case-insensitive (§5.1).
    normalized = TOKEN_TYPES.get(str(token_type).lower())
    if normalized is None:
        raise TokenResponseError(f"token_response.token_type: unsupported {token_type!r}")
    id_token = _string(body, "id_token", required=False, syntax=_COMPACT_CHARS)
    # OIDC Core §3.1.3.3: the token response of an OpenID request contains an id_token.
    if expect_id_token and id_token is None:
        raise TokenResponseError("token_response.id_token: missing")
    expires_in = body.get("expires_in")
    if expires_in is not None and (not is_int(expires_in) or expires_in < 0):
        raise TokenResponseError("token_response.expires_in: not a non-negative integer")
    return TokenResponse(
        access_token=str(access_token),
        token_type=normalized,
        expires_in=expires_in,
        refresh_token=_string(body, "refresh_token", required=False, syntax=_VSCHARS),
        id_token=id_token,
        scope=_string(body, "scope", required=False),
        raw=MappingProxyType(body),
    )


def build_revocation_request(
    endpoint: str,
    token: str,
    token_type_hint: str | None,
    auth_headers: Mapping[str, str],
    auth_form: Mapping[str, str],
) -> HttpRequest:
    """A revocation request (RFC 7009 §2.1): ``token`` and an optional ``token_type_hint``."""
    return form_request(
        endpoint, _merge(_token_form(token, token_type_hint), auth_form), auth_headers
    )


def parse_revocation_response(response: HttpResponse) -> None:
    """Check a revocation response (RFC 7009 §2.2, §2.2.1): HTTP 200 means done.

    A 503 (with or without Retry-After) or an OAuth error answer raises
    ``TokenErrorResponse(endpoint="revocation")``; other answers ``TokenResponseError``.
    """
    # RFC 7009 §2.2.1: 503 means the token was not revoked; the client may retry later.
    if response.status == 503:
        retry_after = response.headers.get("retry-after")
        description = f"retry after {retry_after}" if retry_after else None
        raise TokenErrorResponse("temporarily_unavailable", description, endpoint="revocation")
    raise_for_error_response(response, "revocation")
    # RFC 7009 §2.2: "The authorization server responds with HTTP status code 200 if the
    # token has been revoked successfully or if the client submitted an invalid token."
    if response.status != 200:
        raise TokenResponseError(f"revocation.status: expected HTTP 200, got {response.status}")


def build_introspection_request(
    endpoint: str,
    token: str,
    token_type_hint: str | None,
    auth_headers: Mapping[str, str],
    auth_form: Mapping[str, str],
) -> HttpRequest:
    """An introspection request (RFC 7662 §2.1): ``token`` and an optional hint."""
    return form_request(
        endpoint, _merge(_token_form(token, token_type_hint), auth_form), auth_headers
    )


def parse_introspection_response(response: HttpResponse) -> dict[str, Any]:
    """Check an introspection response (RFC 7662 §2.2) and return its JSON object.

    An OAuth error answer raises ``TokenErrorResponse(endpoint="introspection")``.
    """
    raise_for_error_response(response, "introspection")
    if response.status != 200:
        raise TokenResponseError(f"introspection.status: expected HTTP 200, got {response.status}")
    body = json_object(response, "introspection.body", TokenResponseError)
    # RFC 7662 §2.2: active is REQUIRED, a boolean.
    if not isinstance(body.get("active"), bool):
        raise TokenResponseError("introspection.active: missing or not a boolean")
    return body


def raise_for_error_response(response: HttpResponse, endpoint: str) -> None:
    """Raise ``TokenErrorResponse`` when ``response`` is an OAuth error answer (RFC 6749 §5.2).

    That is a 4xx status with a JSON object whose ``error`` is a non-empty string.
    """
    if not 400 <= response.status < 500:
        return
    try:
        body = parse_json(response.body)
    except ValueError:
        return
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"]:
        return
    description = body.get("error_description")
    uri = body.get("error_uri")
    raise TokenErrorResponse(
        body["error"],
        description if isinstance(description, str) else None,
        uri if isinstance(uri, str) else None,
        endpoint=endpoint,
    )


def _token_form(token: str, token_type_hint: str | None) -> dict[str, str]:
    form = {"token": token}
    if token_type_hint is not None:
        if token_type_hint not in TOKEN_TYPE_HINTS:
            raise ValueError(f"token_type_hint: unsupported {token_type_hint!r}")
        form["token_type_hint"] = token_type_hint
    return form


def _merge(form: Mapping[str, str], auth_form: Mapping[str, str]) -> dict[str, str]:
    merged = dict(form)
    for name, value in auth_form.items():
        if name in merged:
            raise ValueError(f"client_auth.{name}: clashes with a request parameter")
        merged[name] = value
    return merged


def _string(
    body: Mapping[str, Any], name: str, *, required: bool, syntax: re.Pattern[str] | None = None
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise TokenResponseError(f"token_response.{name}: missing")
        return None
    if not isinstance(value, str) or not value:
        raise TokenResponseError(f"token_response.{name}: not a non-empty string")
    if syntax is not None and not syntax.fullmatch(value):
        what = "VSCHAR (RFC 6749 Appendix A)" if syntax is _VSCHARS else "compact JWT characters"
        raise TokenResponseError(f"token_response.{name}: has characters outside {what}")
    return value
