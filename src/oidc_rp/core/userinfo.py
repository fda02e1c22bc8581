"""The UserInfo endpoint: build the request, check the response (OIDC Core §5.3).

:func:`build_userinfo_request` and :func:`parse_userinfo_response` are the round trip.
A signed response (``application/jwt``) is verified with :func:`verify_userinfo_jwt`;
either way :func:`validate_userinfo_claims` must then compare ``sub`` with the ID
token's before any claim is used (§5.3.4).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from joserfc.jwk import KeySet

from oidc_rp.core.jwks import rewrap_jws_error, verify_jws
from oidc_rp.core.messages import HttpRequest, HttpResponse, json_object
from oidc_rp.errors import JWKSError, TokenErrorResponse, UserInfoError

__all__ = [
    "build_userinfo_request",
    "parse_userinfo_response",
    "validate_userinfo_claims",
    "verify_userinfo_jwt",
]

#: An auth-param of a WWW-Authenticate challenge (RFC 6750 §3), quoted or a token.
_AUTH_PARAM = r'\b{name}\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))'
#: Authorization schemes spelled the way RFC 6750 §2.1 and RFC 9449 §7.1 spell them.
_SCHEMES = {"bearer": "Bearer", "dpop": "DPoP"}


def build_userinfo_request(
    endpoint: str, access_token: str, token_type: str = "Bearer"
) -> HttpRequest:
    """GET the UserInfo endpoint with the access token in the header (OIDC Core §5.3.1).

    RFC 6750 §2.1 (or RFC 9449 §7.1 for ``DPoP``); the token never goes into the URL.
    ``token_type`` from the token response is matched case-insensitively (RFC 6749 §5.1).
    """
    scheme = _SCHEMES.get(token_type.lower(), token_type)
    headers = {
        "authorization": f"{scheme} {access_token}",
        "accept": "application/json, application/jwt",
    }
    return HttpRequest("GET", endpoint, headers)


def parse_userinfo_response(response: HttpResponse) -> dict[str, Any] | str:
    """Read a UserInfo response (OIDC Core §5.3.2, §5.3.3).

    Returns the JSON object, or the JWT string when the Content-Type is
    ``application/jwt``. A 401/403 is the OP saying no (RFC 6750 §3.1):
    :class:`TokenErrorResponse` with the ``error`` of ``WWW-Authenticate``
    (default ``invalid_token``). Anything else unusable raises :class:`UserInfoError`.
    """
    if response.status in (401, 403):
        challenge = response.headers.get("www-authenticate", "")
        error = _auth_param(challenge, "error") or "invalid_token"
        description = _auth_param(challenge, "error_description")
        raise TokenErrorResponse(error, description, endpoint="userinfo")
    if response.status != 200:
        raise UserInfoError(f"userinfo: HTTP {response.status} from the userinfo endpoint")
    if response.media_type == "application/jwt":
        # §5.3.2: a signed or encrypted response is "a JWT" with Content-Type application/jwt.
        try:
            token = response.body.decode("ascii").strip()
        except UnicodeDecodeError:
            raise UserInfoError("userinfo: the JWT is not ASCII") from None
        if not token:
            raise UserInfoError("userinfo: the JWT is empty")
        return token
    # §5.3.2: "The UserInfo Claims MUST be returned as the members of a JSON object".
    return json_object(response, "userinfo", UserInfoError)


def _auth_param(challenge: str, name: str) -> str | None:
    match = re.search(_AUTH_PARAM.format(name=re.escape(name)), challenge)
    if match is None:
        return None
    quoted, token = match.groups()
    return re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else token


def verify_userinfo_jwt(
    token: str,
    keys: KeySet,
    *,
    allowed_algs: Collection[str],
    client_secret: str | None = None,
) -> dict[str, Any]:
    """Verify a signed UserInfo response and return its claims (OIDC Core §5.3.2).

    ``allowed_algs`` is the client's ``userinfo_signed_response_alg``. Failures raise
    :class:`UserInfoError` (``userinfo.alg`` / ``userinfo.signature``); an unknown
    ``kid`` raises :class:`KeyNotFoundError` so the caller can refetch the JWK set.
    """
    try:
        _, claims = verify_jws(token, keys, allowed_algs=allowed_algs, client_secret=client_secret)
    except JWKSError as error:
        rewrap_jws_error(error, "userinfo", UserInfoError)
    return claims


def validate_userinfo_claims(
    claims: Mapping[str, Any],
    *,
    expected_sub: str,
    issuer: str | None = None,
    client_id: str | None = None,
) -> dict[str, Any]:
    """Check UserInfo claims against the ID token and return them (OIDC Core §5.3.2, §5.3.4).

    Pass ``issuer`` and ``client_id`` for a signed response: then ``iss`` must equal the
    issuer and ``aud`` must contain the client_id.
    """
    sub = claims.get("sub")
    # §5.3.2: "The sub (subject) Claim MUST always be returned in the UserInfo Response."
    if sub is None:
        raise UserInfoError("userinfo.sub: missing")
    # §5.3.4: "The sub Claim in the UserInfo Response MUST be verified to exactly match the
    # sub Claim in the ID Token; if they do not match, the UserInfo Response values MUST
    # NOT be used."
    if not isinstance(sub, str) or sub != expected_sub:
        raise UserInfoError("userinfo.sub: does not match the ID token")
    # §5.3.2: "If signed, the UserInfo Response MUST contain the Claims iss (issuer) and
    # aud (audience) as members. The iss value MUST be the OP's Issuer Identifier URL. The
    # aud value MUST be or include the RP's Client ID value."
    if issuer is not None and claims.get("iss") != issuer:
        raise UserInfoError("userinfo.iss: does not match the issuer")
    if client_id is not None and not _has_audience(claims.get("aud"), client_id):
        raise UserInfoError("userinfo.aud: does not contain the client_id")
    return dict(claims)


def _has_audience(aud: object, client_id: str) -> bool:
    if isinstance(aud, str):
        return aud == client_id
    return isinstance(aud, list) and client_id in aud
