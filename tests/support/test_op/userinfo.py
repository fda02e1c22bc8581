"""The userinfo endpoint (OIDC Core §5.3, RFC 6750 §2).

The access token comes in the ``Authorization: Bearer`` header or a form-encoded ``access_token``
body parameter (a case may allow only one of them); a token in the URL query, or two tokens at
once, fails the call. A DPoP-bound token (RFC 9449 §7.1) must come as ``Authorization: DPoP``
(any letter case) with a proof of the same key carrying ``ath``; as a Bearer token it is a 401.
Claims follow the granted scope and the ``userinfo`` member of the ``claims`` request parameter
(OIDC Core §5.5); the response is a signed JWT
(``application/jwt``, with ``iss`` and ``aud``) when the client registered
``userinfo_signed_response_alg`` or the case forces it, then encrypted (the signed JWT, or the
JSON text of the claims) when the client registered ``userinfo_encrypted_response_alg``.
"""

from __future__ import annotations

import time

from starlette.responses import JSONResponse, Response

from .cases import edits_for
from .context import Context
from .dpop import check_proof, failure
from .edits import apply_edits
from .encryption import encrypt_response, userinfo_plaintext
from .errors import OPFailure
from .id_tokens import claims_for_scope, requested_claims
from .keys import sign
from .state import TokenGrant


def _access_token(
    ctx: Context, headers: dict[str, str], query: dict[str, str], form: dict[str, str]
) -> tuple[str, str]:
    """The one access token, where the case allows it (RFC 6750 §2), and how it came:
    ``bearer`` or ``dpop`` (the header's scheme, case-insensitive), or ``body``."""
    # RFC 6750 §2.3: the URI query method is not allowed here (the suite fails such a call).
    if "access_token" in query:
        raise OPFailure("invalid_request", "access_token must not be sent in the URL query", 401)
    scheme, _, value = headers.get("authorization", "").partition(" ")
    scheme = scheme.lower()
    in_header = value.strip() if scheme in ("bearer", "dpop") and value.strip() else None
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
    if in_header:
        return in_header, scheme
    if not in_body:
        raise OPFailure("invalid_token", "no access token", 401)
    return in_body, "body"


def _check_binding(
    ctx: Context, method: str, headers: dict[str, str], token: str, how: str, grant: TokenGrant
) -> None:
    """RFC 9449 §7.1: a DPoP-bound token needs the DPoP scheme and a proof of its key."""
    if grant.jkt is None:
        if how == "dpop":
            raise OPFailure("invalid_token", "not a DPoP-bound access token", 401)
        return
    if how != "dpop":
        # RFC 9449 §7.2: a DPoP-bound token presented as a Bearer token is refused.
        raise failure(ctx, "rs", "invalid_token", "DPoP-bound token sent without the DPoP scheme")
    proof = check_proof(ctx, headers, method, "userinfo", "rs", access_token=token)
    if proof is None:
        raise failure(ctx, "rs", "invalid_dpop_proof", "DPoP proof missing")
    # RFC 9449 §4.3 (12): the public key of the proof matches the one the token is bound to.
    if proof.jkt != grant.jkt:
        raise failure(ctx, "rs", "invalid_dpop_proof", "proof key is not the token's cnf.jkt")


async def handle_userinfo(
    ctx: Context,
    method: str,
    headers: dict[str, str],
    query: dict[str, str],
    form: dict[str, str],
) -> Response:
    """Answer a userinfo request with the claims of the granted scope and claims request."""
    token, how = _access_token(ctx, headers, query, form)
    state = ctx.state
    with ctx.registry.lock:
        grant = state.access_tokens.get(token)
        client = state.clients.get(grant.client_id) if grant else None
    if grant is None or client is None or not grant.active or grant.expires_at < time.time():
        raise OPFailure("invalid_token", "unknown, revoked or expired access token", 401)
    _check_binding(ctx, method, headers, token, how, grant)
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
