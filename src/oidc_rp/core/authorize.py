"""The authorization request: query parameters, request object, pushed request.

OpenID Connect Core §3.1.2.1 (the parameters), §5.5 (``claims``), §6 (request
objects), RFC 7636 §4.3 (PKCE), RFC 9101 §4-5 (JWT-secured authorization request) and
RFC 9126 §2 (pushed authorization requests). Options that come from the user or the
programmer are checked when :class:`AuthorizationOptions` is built: a bad one raises
ValueError (the web layer answers 400).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from joserfc.jwk import Key

from oidc_rp.core.claims import is_int
from oidc_rp.core.client_auth import sign_jwt
from oidc_rp.core.messages import HttpRequest, HttpResponse, form_request, json_object, parse_json
from oidc_rp.core.random import code_challenge_s256
from oidc_rp.core.token import raise_for_error_response
from oidc_rp.core.transaction import PendingLogin
from oidc_rp.errors import TokenResponseError

__all__ = [
    "PROTECTED_PARAMETERS",
    "REQUEST_OBJECT_TYPE",
    "AuthorizationOptions",
    "PushedAuthorizationResponse",
    "build_authorization_parameters",
    "build_authorization_url",
    "build_pushed_authorization_request",
    "build_request_object",
    "build_request_object_parameters",
    "normalize_scope",
    "parse_pushed_authorization_response",
]

REQUEST_OBJECT_TYPE = "oauth-authz-req+jwt"
PAR_REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
#: Parameters that bind the response to this login; extra parameters may not set them.
PROTECTED_PARAMETERS = frozenset(
    {
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "client_id",
        "redirect_uri",
        "response_type",
        "request",
        "request_uri",
    }
)
RESPONSE_TYPES = frozenset(
    frozenset(rt.split())
    for rt in ("code", "id_token", "id_token token", "code id_token", "code token")
) | {frozenset({"code", "id_token", "token"})}
RESPONSE_MODES = ("query", "fragment", "form_post")
PROMPTS = ("none", "login", "consent", "select_account", "create")
SEND_VIA = ("query", "request_object", "request_uri", "par")
_CLAIMS_MEMBERS = ("userinfo", "id_token")


@dataclass(frozen=True)
class AuthorizationOptions:
    """What to ask of the OP in one authorization request (OIDC Core §3.1.2.1).

    ``extra`` holds further authentication parameters (``authn_parameters``); they may
    not override the parameters that bind the response to this login. Raises
    ValueError when an option breaks a rule.
    """

    scope: str = "openid"
    response_type: str = "code"
    response_mode: str | None = None
    prompt: str | None = None
    acr_values: str | None = None
    essential_acr: tuple[str, ...] = ()
    ui_locales: str | None = None
    max_age: int | None = None
    claims: Mapping[str, Any] | None = None
    login_hint: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    send_parameters_via: str = "query"

    def __post_init__(self) -> None:
        values = self.response_type.split()
        if len(set(values)) != len(values) or frozenset(values) not in RESPONSE_TYPES:
            raise ValueError(f"authorization.response_type: unsupported {self.response_type!r}")
        if self.response_mode is not None and self.response_mode not in RESPONSE_MODES:
            raise ValueError(f"authorization.response_mode: unsupported {self.response_mode!r}")
        # Multiple Response Type Encoding Practices §5: for response types that return a
        # token or an ID token, "the query encoding MUST NOT be used" (RFC 9700 §4.3.2).
        if self.response_mode == "query" and {"token", "id_token"} & set(values):
            raise ValueError(
                "authorization.response_mode: the query encoding MUST NOT be used with "
                f"response_type {self.response_type!r} (Multiple Response Types §5)"
            )
        if self.send_parameters_via not in SEND_VIA:
            raise ValueError(
                f"authorization.send_parameters_via: unsupported {self.send_parameters_via!r}"
            )
        _check_prompt(self.prompt)
        # OIDC Core §3.1.2.1: max_age is a number of seconds, >= 0.
        max_age = self.max_age
        if max_age is not None and not is_int(max_age):
            raise ValueError("authorization.max_age: must be an integer")
        if max_age is not None and max_age < 0:
            raise ValueError("authorization.max_age: must not be negative")
        claims: object = self.claims
        if isinstance(claims, str):
            # A JSON text (from a form or a settings file) is accepted too.
            object.__setattr__(self, "claims", _parse_claims_json(claims))
        _check_claims(self.claims)
        if not all(isinstance(v, str) and v for v in self.essential_acr):
            raise ValueError("authorization.essential_acr: must be non-empty strings")
        object.__setattr__(self, "essential_acr", tuple(self.essential_acr))
        _check_extra(self.extra)


def normalize_scope(scope: str) -> str:
    """The scope with ``openid`` first, once (OIDC Core §3.1.2.1: scope MUST contain openid)."""
    values = [v for v in scope.split() if v != "openid"]
    return " ".join(["openid", *dict.fromkeys(values)])


def build_authorization_parameters(
    *, client_id: str, redirect_uri: str, options: AuthorizationOptions, pending: PendingLogin
) -> dict[str, str]:
    """The authorization request parameters (OIDC Core §3.1.2.1, RFC 7636 §4.3).

    ``state``, ``nonce`` and the PKCE challenge (S256) come from ``pending``.
    """
    params = {
        "response_type": options.response_type,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        # OIDC Core §3.1.2.1: "OpenID Connect requests MUST contain the openid scope value."
        "scope": normalize_scope(options.scope),
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": code_challenge_s256(pending.code_verifier),
        "code_challenge_method": "S256",
    }
    optional = {
        "response_mode": options.response_mode,
        "prompt": options.prompt,
        "acr_values": options.acr_values,
        "ui_locales": options.ui_locales,
        "max_age": None if options.max_age is None else str(options.max_age),
        "claims": _claims_parameter(options.claims, options.essential_acr),
        "login_hint": options.login_hint,
    }
    params.update({k: v for k, v in optional.items() if v is not None})
    for name, value in options.extra.items():
        if name in params:
            raise ValueError(f"authorization.extra: {name!r} is already set")
        params[name] = value
    return params


def build_authorization_url(endpoint: str, params: Mapping[str, str]) -> str:
    """The authorization endpoint URL with ``params`` in its query (RFC 6749 §3.1).

    The endpoint's own query is kept, except for names that ``params`` sets again:
    RFC 6749 §3.1: parameters "MUST NOT be included more than once".
    """
    parts = urlsplit(endpoint)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query = urlencode([*kept, *params.items()])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def build_request_object(
    params: Mapping[str, str],
    *,
    client_id: str,
    audience: str,
    key: Key | None,
    alg: str,
    now: int,
    jti: str,
    lifetime: int = 300,
) -> str:
    """A request object carrying every authorization parameter (RFC 9101 §4, OIDC Core §6.1).

    Claims: the parameters (``claims`` as a JSON object, ``max_age`` as a number) plus
    iss=client_id, aud=audience (the OP's issuer), iat, nbf, exp=iat+lifetime and jti;
    header ``typ: oauth-authz-req+jwt``. ``alg="none"`` (only when asked) is unsigned
    and takes ``key=None``; HS* algorithms take the client secret as an OctKey.
    """
    claims: dict[str, Any] = dict(params)
    if "claims" in claims:
        claims["claims"] = parse_json(claims["claims"])
    if "max_age" in claims:
        claims["max_age"] = int(claims["max_age"])
    # RFC 9101 §4: the request object SHOULD contain iss and aud (the AS's issuer).
    claims.update(
        {
            "iss": client_id,
            "aud": audience,
            "client_id": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": jti,
        }
    )
    return sign_jwt(claims, key, alg, header={"typ": REQUEST_OBJECT_TYPE})


def build_request_object_parameters(
    request_object_or_uri: str, params: Mapping[str, str], *, pushed: bool | None = None
) -> dict[str, str]:
    """The front-channel parameters that accompany a request object (RFC 9101 §5).

    ``request_object_or_uri`` is a request object (a compact JWT) or a ``request_uri``
    (a URI always has a ``:``, a JWT never). Sent alongside: ``client_id`` (RFC 9101
    §5) and, as OIDC Core §6.1 requires, ``response_type``, ``scope`` and
    ``redirect_uri``; ``state``, ``nonce`` and the PKCE challenge stay inside the object.
    A ``request_uri`` from PAR (``pushed``; by default recognised by RFC 9126's
    ``urn:ietf:params:oauth:request_uri:`` prefix) goes with ``client_id`` alone (§4).
    """
    if ":" not in request_object_or_uri:
        front = {"client_id": params["client_id"], "request": request_object_or_uri}
    else:
        front = {"client_id": params["client_id"], "request_uri": request_object_or_uri}
        if pushed is None:
            pushed = request_object_or_uri.startswith(PAR_REQUEST_URI_PREFIX)
        if pushed:
            return front
    for name in ("response_type", "scope", "redirect_uri"):
        if name in params:
            front[name] = params[name]
    return front


@dataclass(frozen=True)
class PushedAuthorizationResponse:
    """A checked PAR response (RFC 9126 §2.2)."""

    request_uri: str
    expires_in: int


def build_pushed_authorization_request(
    endpoint: str,
    params: Mapping[str, str],
    client_auth: tuple[Mapping[str, str], Mapping[str, str]],
) -> HttpRequest:
    """POST every authorization parameter plus client authentication (RFC 9126 §2.1).

    ``client_auth`` is the ``(headers, form fields)`` pair of ``client_auth_parameters``.
    """
    # RFC 9126 §2.1: "The request_uri authorization request parameter MUST NOT be provided".
    if "request_uri" in params:
        raise ValueError("par.request_uri: must not be sent in a pushed authorization request")
    headers, auth_form = client_auth
    form = dict(params)
    for name, value in auth_form.items():
        if form.get(name, value) != value:
            raise ValueError(f"par.{name}: client authentication disagrees with the parameters")
        form[name] = value
    return form_request(endpoint, form, headers)


def parse_pushed_authorization_response(response: HttpResponse) -> PushedAuthorizationResponse:
    """Check the PAR endpoint's answer (RFC 9126 §2.2, §2.3).

    An OAuth error answer raises ``TokenErrorResponse(endpoint="pushed_authorization_request")``,
    anything else that is not a 201 with ``request_uri`` and ``expires_in`` raises
    ``TokenResponseError``.
    """
    raise_for_error_response(response, "pushed_authorization_request")
    # RFC 9126 §2.2: the AS "responds with HTTP status code 201".
    if response.status != 201:
        raise TokenResponseError(f"par.status: expected HTTP 201, got {response.status}")
    body = json_object(response, "par.body", TokenResponseError)
    request_uri = body.get("request_uri")
    if not isinstance(request_uri, str) or not request_uri:
        raise TokenResponseError("par.request_uri: missing or not a string")
    expires_in = body.get("expires_in")
    if not is_int(expires_in) or expires_in <= 0:
        raise TokenResponseError("par.expires_in: missing or not a positive integer")
    return PushedAuthorizationResponse(request_uri, expires_in)


def _check_prompt(prompt: str | None) -> None:
    if prompt is None:
        return
    values = prompt.split()
    if not values or any(v not in PROMPTS for v in values):
        raise ValueError(f"authorization.prompt: unsupported {prompt!r}")
    # OIDC Core §3.1.2.1: "If this parameter contains none with any other value, an error
    # is returned."
    if "none" in values and len(values) > 1:
        raise ValueError("authorization.prompt: 'none' cannot be combined with other values")


def _parse_claims_json(text: str) -> Any:
    try:
        return parse_json(text)
    except ValueError:
        raise ValueError("authorization.claims: not valid JSON") from None


def _check_claims(claims: object) -> None:
    if claims is None:
        return
    # OIDC Core §5.5: the claims parameter is a JSON object whose top-level members are
    # userinfo and id_token, each a JSON object.
    if not isinstance(claims, Mapping):
        raise ValueError("authorization.claims: must be a JSON object")
    for name, value in claims.items():
        if name not in _CLAIMS_MEMBERS:
            raise ValueError(f"authorization.claims: unknown member {name!r}")
        if not isinstance(value, Mapping):
            raise ValueError(f"authorization.claims.{name}: must be a JSON object")
    try:
        json.dumps(claims)
    except (TypeError, ValueError, RecursionError):
        raise ValueError("authorization.claims: not serialisable as JSON") from None


def _check_extra(extra: Mapping[str, str]) -> None:
    for name, value in extra.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError("authorization.extra: names and values must be strings")
        if name in PROTECTED_PARAMETERS:
            raise ValueError(f"authorization.extra: may not override {name!r}")


def _claims_parameter(
    claims: Mapping[str, Any] | None, essential_acr: tuple[str, ...]
) -> str | None:
    if claims is None and not essential_acr:
        return None
    merged = {k: dict(v) for k, v in (claims or {}).items()}
    if essential_acr:
        # OIDC Core §5.5.1.1: request acr as an Essential Claim with the accepted values.
        merged.setdefault("id_token", {})["acr"] = {
            "essential": True,
            "values": list(essential_acr),
        }
    return json.dumps(merged, separators=(",", ":"))
