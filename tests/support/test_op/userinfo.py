"""The userinfo endpoint (OIDC Core §5.3, RFC 6750 §2).

The access token comes in the ``Authorization: Bearer`` header or a form-encoded ``access_token``
body parameter (a case may allow only one of them); a token in the URL query, or two tokens at
once, fails the call. Claims follow the granted scope and the ``userinfo`` member of the
``claims`` request parameter (OIDC Core §5.5); the response is a signed JWT
(``application/jwt``, with ``iss`` and ``aud``) when the client registered
``userinfo_signed_response_alg`` or the case forces it, then encrypted (the signed JWT, or the
JSON text of the claims) when the client registered ``userinfo_encrypted_response_alg``.
"""

from __future__ import annotations

import time

from starlette.responses import JSONResponse, Response

from .cases import edits_for
from .context import Context
from .edits import apply_edits
from .encryption import encrypt_response, userinfo_plaintext
from .errors import OPFailure
from .id_tokens import claims_for_scope, requested_claims
from .keys import sign


def _bearer_token(
    ctx: Context, headers: dict[str, str], query: dict[str, str], form: dict[str, str]
) -> str:
    """Find the one access token, where the case allows it (RFC 6750 §2)."""
    # RFC 6750 §2.3: the URI query method is not allowed here (the suite fails such a call).
    if "access_token" in query:
        raise OPFailure("invalid_request", "access_token must not be sent in the URL query", 401)
    scheme, _, value = headers.get("authorization", "").partition(" ")
    in_header = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    in_body = form.get("access_token")
    # RFC 6750 §2: clients MUST NOT use more than one method to transmit the token.
    if in_header and in_body:
        raise OPFailure("invalid_request", "access token sent both in header and body")
    where = ctx.state.case.userinfo_token_location
    if where == "header" and not in_header:
        raise OPFailure(
            "invalid_token", "this test accepts the token only in the Bearer header", 401
        )
    if where == "body" and not in_body:
        raise OPFailure("invalid_token", "this test accepts the token only in the form body", 401)
    token = in_header or in_body
    if not token:
        raise OPFailure("invalid_token", "no access token", 401)
    return token


async def handle_userinfo(
    ctx: Context, headers: dict[str, str], query: dict[str, str], form: dict[str, str]
) -> Response:
    """Answer a userinfo request with the claims of the granted scope and claims request."""
    token = _bearer_token(ctx, headers, query, form)
    state = ctx.state
    with ctx.registry.lock:
        grant = state.access_tokens.get(token)
        client = state.clients.get(grant.client_id) if grant else None
    if grant is None or client is None or not grant.active or grant.expires_at < time.time():
        raise OPFailure("invalid_token", "unknown, revoked or expired access token", 401)
    claims = {"sub": state.sub, **claims_for_scope(grant.scope)}
    claims.update(requested_claims(grant.claims_request, "userinfo"))
    claims = apply_edits(claims, edits_for(state.case, "userinfo"), now=int(time.time()))
    alg = state.case.userinfo_alg or client.get("userinfo_signed_response_alg")
    encrypted = bool(client.get("userinfo_encrypted_response_alg"))
    if not alg and not encrypted:
        return JSONResponse(claims, headers={"Cache-Control": "no-store"})
    if alg:
        claims.update(iss=ctx.issuer, aud=client["client_id"])
        with ctx.registry.lock:
            body = sign(
                claims,
                alg=str(alg),
                keys=state.keys,
                client_secret=client.get("client_secret"),
                typ=None,
            )
    else:
        body = userinfo_plaintext(claims)
    # Registration §2: signed (if asked), then encrypted (if asked); both are application/jwt.
    body = await encrypt_response(state, client, "userinfo", body, nested=bool(alg))
    return Response(body, media_type="application/jwt", headers={"Cache-Control": "no-store"})
