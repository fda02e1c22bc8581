"""Logout: the end-session URL (RP-Initiated Logout 1.0), logout tokens (Back-Channel Logout 1.0).

:func:`build_end_session_url` sends the browser to the OP's ``end_session_endpoint``;
:func:`validate_logout_token` checks a ``logout_token`` POSTed by the OP to the RP's
``backchannel_logout_uri`` (§2.6) and returns a :class:`LogoutToken`. Every failure is a
:class:`LogoutTokenError` (the web layer answers 400); an unknown ``kid`` raises
:class:`KeyNotFoundError` so the caller can refetch the JWK set. Replay detection by
``jti`` and terminating the matching sessions are the caller's (it holds the state).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from joserfc.jwk import KeySet

from oidc_rp.core.claims import check_audience, is_number
from oidc_rp.core.jwks import rewrap_jws_error, verify_jws
from oidc_rp.errors import JWKSError, LogoutTokenError

__all__ = [
    "BACKCHANNEL_LOGOUT_EVENT",
    "LogoutToken",
    "build_end_session_url",
    "validate_logout_token",
]

#: The event member of a logout token (Back-Channel Logout 1.0 §2.4).
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: ``typ`` values accepted in a logout token header (§2.4 recommends ``logout+jwt``).
_LOGOUT_TYPES = frozenset({"logout+jwt", "application/logout+jwt", "jwt", "application/jwt"})


def build_end_session_url(
    endpoint: str,
    *,
    id_token_hint: str | None,
    client_id: str | None,
    post_logout_redirect_uri: str | None,
    state: str | None,
    ui_locales: str | None = None,
) -> str:
    """The URL of the OP's end-session endpoint with the logout request (RP-Initiated Logout §2).

    Only the parameters that are not ``None`` are sent; a query already on the endpoint
    is kept (RFC 6749 §3.1).
    """
    params = {
        "id_token_hint": id_token_hint,
        "client_id": client_id,
        "post_logout_redirect_uri": post_logout_redirect_uri,
        "state": state,
        "ui_locales": ui_locales,
    }
    scheme, netloc, path, query, _ = urlsplit(endpoint)
    pairs = parse_qsl(query, keep_blank_values=True)
    pairs += [(name, value) for name, value in params.items() if value is not None]
    return urlunsplit((scheme, netloc, path, urlencode(pairs), ""))


@dataclass(frozen=True)
class LogoutToken:
    """A validated back-channel logout token (Back-Channel Logout 1.0 §2.4)."""

    iss: str
    sub: str | None
    sid: str | None
    jti: str
    iat: int


def validate_logout_token(
    token: str,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    allowed_algs: Collection[str],
    now: int,
    clock_skew: int = 60,
    max_age: int | None = None,
    trusted_audiences: Collection[str] = (),
) -> LogoutToken:
    """Validate a logout token (Back-Channel Logout 1.0 §2.6) and return its identifiers.

    ``allowed_algs`` is the client's ``id_token_signed_response_alg``; ``none`` is never
    accepted. ``max_age`` (seconds), when set, bounds how old ``iat`` may be.
    ``aud`` is checked as for ID tokens: it contains ``client_id`` and any other audience
    is one of ``trusted_audiences``.
    """
    # §2.6 step 2: "Validate the Logout Token signature in the same way that an ID Token
    # signature is validated, with the following refinements." §2.4: "A Logout Token MUST
    # be signed" — so alg none is refused even when the ID tokens may use it.
    signed_algs = [alg for alg in allowed_algs if alg != "none"]
    try:
        header, claims = verify_jws(token, keys, allowed_algs=signed_algs)
    except JWKSError as error:
        rewrap_jws_error(error, "logout_token", LogoutTokenError)
    _check_typ(header)
    _check_iss_aud(claims, issuer, client_id, trusted_audiences)
    iat = _check_times(claims, now, clock_skew, max_age)
    jti = claims.get("jti")
    # §2.4: jti is REQUIRED.
    if not isinstance(jti, str) or not jti:
        raise LogoutTokenError("logout_token.jti: missing")
    _check_events(claims)
    sub, sid = claims.get("sub"), claims.get("sid")
    # §2.6 step 4: "Verify that the Logout Token contains a sub Claim, a sid Claim, or both."
    if sub is None and sid is None:
        raise LogoutTokenError("logout_token.sub: neither sub nor sid is present")
    if not isinstance(sub, str | None) or not isinstance(sid, str | None):
        raise LogoutTokenError("logout_token.sub: sub and sid must be strings")
    # §2.6 step 6: "Verify that the Logout Token does not contain a nonce Claim."
    if "nonce" in claims:
        raise LogoutTokenError("logout_token.nonce: must not be present")
    return LogoutToken(iss=issuer, sub=sub, sid=sid, jti=jti, iat=iat)


def _check_typ(header: Mapping[str, Any]) -> None:
    typ = header.get("typ")
    # §2.4: "it is RECOMMENDED that Logout Tokens be explicitly typed" with logout+jwt; any
    # other type (e.g. an access token's at+jwt) is a token made for something else.
    if typ is not None and str(typ).lower() not in _LOGOUT_TYPES:
        raise LogoutTokenError("logout_token.typ: not a logout token type")


def _check_iss_aud(
    claims: Mapping[str, Any], issuer: str, client_id: str, trusted_audiences: Collection[str]
) -> None:
    # §2.6 step 3: "Validate the iss, aud, iat, and exp Claims in the same way they are
    # validated in ID Tokens."
    if claims.get("iss") != issuer:
        raise LogoutTokenError("logout_token.iss: does not match the issuer")
    check_audience(
        claims, client_id, trusted_audiences, prefix="logout_token", error=LogoutTokenError
    )


def _check_times(claims: Mapping[str, Any], now: int, skew: int, max_age: int | None) -> int:
    iat: Any = claims.get("iat")
    exp: Any = claims.get("exp")
    # §2.4: iat and exp are REQUIRED.
    if not is_number(iat):
        raise LogoutTokenError("logout_token.iat: missing or not a number")
    if iat > now + skew:
        raise LogoutTokenError("logout_token.iat: issued in the future")
    if max_age is not None and now - iat > max_age + skew:
        raise LogoutTokenError("logout_token.iat: issued too long ago")
    if not is_number(exp):
        raise LogoutTokenError("logout_token.exp: missing or not a number")
    if now >= exp + skew:
        raise LogoutTokenError("logout_token.exp: expired")
    return int(iat)


def _check_events(claims: Mapping[str, Any]) -> None:
    events = claims.get("events")
    # §2.6 step 5: "Verify that the Logout Token contains an events Claim whose value is
    # JSON object containing the member name
    # http://schemas.openid.net/event/backchannel-logout." §2.4: its value "MUST be a
    # JSON object and SHOULD be the empty JSON object {}".
    if not isinstance(events, dict):
        raise LogoutTokenError("logout_token.events: missing or not a JSON object")
    if not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise LogoutTokenError("logout_token.events: no back-channel logout event")
