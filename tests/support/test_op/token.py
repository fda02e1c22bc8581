"""Token endpoint (RFC 6749 §4.1.3, §6, OIDC Core §3.1.3, §12), PAR (RFC 9126 §2), revocation
(RFC 7009 §2) and introspection (RFC 7662 §2), all authenticated like the token endpoint.

A token or PAR request with a DPoP proof (RFC 9449) has it checked before the client is
authenticated (so a nonce challenge does not use up a client assertion); the access token is
then bound to the proof's key (``token_type: DPoP``, ``cnf.jkt`` in introspection), and so is
the refresh token of a public client (§5). A proof at PAR binds the code (§10.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

from starlette.responses import JSONResponse, Response

from .authorize import ACCESS_TOKEN_LIFETIME
from .cases import edits_for
from .clients import authenticate_client
from .context import Context
from .dpop import Proof, check_proof
from .edits import apply_edits
from .encryption import encrypt_response
from .errors import OPFailure
from .id_tokens import mint_id_token, requested_claims
from .request_objects import PAR_URN_PREFIX, merge_with_query, verify_request_object
from .state import AuthorizationGrant, TestState, TokenGrant

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PAR_LIFETIME = 60


async def _client(ctx: Context, headers: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
    audiences = (ctx.url("token"), ctx.issuer, ctx.url("par"))
    with ctx.registry.lock:
        used = ctx.state.used_jtis
    return await authenticate_client(
        ctx.state.clients, ctx.state.case, headers, form, audiences, used
    )


async def handle_token(ctx: Context, headers: dict[str, str], form: dict[str, str]) -> Response:
    """Answer a token request: authorization_code, refresh_token or client_credentials grant."""
    proof = check_proof(ctx, headers, "POST", "token", "as")
    if proof is None and ctx.state.case.dpop_required:
        raise OPFailure("invalid_request", "this test requires a DPoP proof (RFC 9449 §5)")
    client = await _client(ctx, headers, form)
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        body = _code_grant(ctx, client, form, proof)
    elif grant_type == "refresh_token":
        body = _refresh_grant(ctx, client, form, proof)
    elif grant_type == "client_credentials":
        body = _client_credentials_grant(ctx, client, form, _bound_key(ctx, proof))
    else:
        raise OPFailure(
            "unsupported_grant_type",
            "grant_type must be authorization_code, refresh_token or client_credentials",
        )
    if "id_token" in body:
        # OIDC Core §10.2 / Registration §2: signed, then encrypted when the client asked.
        body["id_token"] = await encrypt_response(
            ctx.state, client, "id_token", body["id_token"], nested=True
        )
    body = apply_edits(body, edits_for(ctx.state.case, "token_response"), now=0)
    return JSONResponse(body, headers=NO_STORE)


def _bound_key(ctx: Context, proof: Proof | None) -> str | None:
    """The thumbprint tokens get bound to (none when the case ignores DPoP, RFC 9449 §5)."""
    return None if proof is None or ctx.state.case.dpop_ignored else proof.jkt


def _code_grant(
    ctx: Context, client: dict[str, Any], form: dict[str, str], proof: Proof | None
) -> dict[str, Any]:
    state = ctx.state
    with ctx.registry.lock:
        # RFC 6749 §4.1.2: the client MUST NOT use the authorization code more than once.
        grant = state.codes.pop(form.get("code", ""), None)
    if grant is None:
        raise OPFailure("invalid_grant", "unknown or already used code")
    if grant.client_id != client["client_id"]:
        raise OPFailure("invalid_grant", "code was issued to another client")
    # RFC 6749 §4.1.3: redirect_uri REQUIRED and identical when it was in the request.
    if form.get("redirect_uri") != grant.redirect_uri:
        raise OPFailure("invalid_grant", "redirect_uri does not match the authorization request")
    _check_code_verifier(grant, form.get("code_verifier"))
    # RFC 9449 §10: the proof key must match dpop_jkt; if they do not match, MUST reject.
    if grant.dpop_jkt is not None and (proof is None or proof.jkt != grant.dpop_jkt):
        raise OPFailure("invalid_dpop_proof", "the DPoP key is not the code's dpop_jkt")
    jkt = _bound_key(ctx, proof)
    return _issue(ctx, client, grant.scope, grant, grant.claims_request, jkt, refresh=False)


def _check_code_verifier(grant: AuthorizationGrant, verifier: str | None) -> None:
    if grant.code_challenge is None:
        if verifier is not None:
            raise OPFailure("invalid_grant", "code_verifier sent but no code_challenge was")
        return
    if verifier is None:
        raise OPFailure("invalid_grant", "code_verifier missing (RFC 7636 §4.5)")
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    # RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) MUST equal code_challenge.
    if not hmac.compare_digest(computed, grant.code_challenge):
        raise OPFailure("invalid_grant", "code_verifier does not match code_challenge")


def _client_credentials_grant(
    ctx: Context, client: dict[str, Any], form: dict[str, str], jkt: str | None
) -> dict[str, Any]:
    """RFC 6749 §4.4: an access token for the client itself (no refresh token, no ID token)."""
    if "client_credentials" not in client.get("grant_types", []):
        raise OPFailure("unauthorized_client", "client_credentials is not registered")
    scope = form.get("scope", "")
    access_token = secrets.token_urlsafe(24)
    expires_at = int(time.time()) + ACCESS_TOKEN_LIFETIME
    with ctx.registry.lock:
        ctx.state.access_tokens[access_token] = TokenGrant(
            client["client_id"], scope, "", 0, expires_at, jkt=jkt
        )
    return {
        "access_token": access_token,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME,
        "scope": scope,
    }


def _refresh_grant(
    ctx: Context, client: dict[str, Any], form: dict[str, str], proof: Proof | None
) -> dict[str, Any]:
    with ctx.registry.lock:
        grant = ctx.state.refresh_tokens.pop(form.get("refresh_token", ""), None)
    if grant is None or not grant.active or grant.client_id != client["client_id"]:
        raise OPFailure("invalid_grant", "unknown, revoked or foreign refresh_token")
    # RFC 9449 §5: a refresh token bound to a public client's key needs a proof with that key.
    if grant.jkt is not None and (proof is None or proof.jkt != grant.jkt):
        raise OPFailure("invalid_grant", "the refresh token is bound to another DPoP key")
    scope = form.get("scope", grant.scope)
    if not set(scope.split()) <= set(grant.scope.split()):
        raise OPFailure("invalid_scope", "refresh may not widen the scope")
    jkt = _bound_key(ctx, proof)
    return _issue(ctx, client, scope, grant, grant.claims_request, jkt, refresh=True)


def _issue(
    ctx: Context,
    client: dict[str, Any],
    scope: str,
    grant: AuthorizationGrant | TokenGrant,
    claims_request: dict[str, Any],
    jkt: str | None,
    *,
    refresh: bool,
) -> dict[str, Any]:
    """Tokens for a code or refresh grant; the claims request lasts as long as the grant.

    With ``jkt`` the access token is DPoP-bound, and the refresh token too for a public client
    (RFC 9449 §5: refresh tokens issued to confidential clients are not bound).
    """
    state: TestState = ctx.state
    sid, auth_time = grant.sid, grant.auth_time
    code_grant = grant if isinstance(grant, AuthorizationGrant) else None
    now = int(time.time())
    access_token = secrets.token_urlsafe(24)
    refresh_token = secrets.token_urlsafe(24)
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME,
        "refresh_token": refresh_token,
        "scope": scope,
    }
    with ctx.registry.lock:
        expires_at = now + ACCESS_TOKEN_LIFETIME
        state.access_tokens[access_token] = TokenGrant(
            client["client_id"], scope, sid, auth_time, expires_at, claims_request=claims_request
        )
        state.access_tokens[access_token].jkt = jkt
        state.refresh_tokens[refresh_token] = TokenGrant(
            client["client_id"], scope, sid, auth_time, now + 86400, claims_request=claims_request
        )
        if client.get("token_endpoint_auth_method") == "none":
            state.refresh_tokens[refresh_token].jkt = jkt
        if "openid" in scope.split():
            body["id_token"] = mint_id_token(
                state,
                client,
                ctx.issuer,
                nonce=code_grant.nonce if code_grant else None,
                auth_time=auth_time,
                max_age=code_grant.max_age if code_grant else "refresh",
                sid=sid,
                extra=requested_claims(claims_request, "id_token"),
                refresh=refresh,
            )
    return body


async def handle_par(ctx: Context, headers: dict[str, str], form: dict[str, str]) -> Response:
    """RFC 9126 §2: store the pushed request, answer 201 with a single-use request_uri."""
    proof = check_proof(ctx, headers, "POST", "par", "as")
    client = await _client(ctx, headers, form)
    # RFC 9126 §2.1: the request_uri authorization request parameter MUST NOT be provided.
    if "request_uri" in form:
        raise OPFailure("invalid_request", "request_uri must not be pushed")
    auth = {"client_secret", "client_assertion", "client_assertion_type"}
    params = {name: value for name, value in form.items() if name not in auth}
    if "request" in params:
        claims = await verify_request_object(ctx.state, client, params["request"], ctx.issuer)
        params = merge_with_query(params, claims)
    params["client_id"] = client["client_id"]
    jkt = _bound_key(ctx, proof)
    if jkt is not None:
        # RFC 9449 §10.1: with both dpop_jkt and a proof, the AS MUST check they match.
        if params.get("dpop_jkt", jkt) != jkt:
            raise OPFailure("invalid_dpop_proof", "dpop_jkt is not the thumbprint of the proof key")
        params["dpop_jkt"] = jkt
    request_uri = PAR_URN_PREFIX + secrets.token_urlsafe(24)
    with ctx.registry.lock:
        entry = (client["client_id"], params, int(time.time()) + PAR_LIFETIME)
        ctx.state.pushed_requests[request_uri] = entry
    body = {"request_uri": request_uri, "expires_in": PAR_LIFETIME}
    return JSONResponse(body, status_code=201, headers=NO_STORE)


async def handle_revocation(
    ctx: Context, headers: dict[str, str], form: dict[str, str]
) -> Response:
    """RFC 7009 §2: revoke an access or refresh token of this client; 200 even if unknown."""
    client = await _client(ctx, headers, form)
    token = form.get("token")
    if not token:
        raise OPFailure("invalid_request", "token is required")
    with ctx.registry.lock:
        for table in (ctx.state.access_tokens, ctx.state.refresh_tokens):
            grant = table.get(token)
            if grant is not None and grant.client_id == client["client_id"]:
                grant.active = False
    return Response(status_code=200, headers=NO_STORE)


async def handle_introspection(
    ctx: Context, headers: dict[str, str], form: dict[str, str]
) -> Response:
    """RFC 7662 §2.2: describe a token, or just ``active: false``."""
    await _client(ctx, headers, form)
    token = form.get("token", "")
    with ctx.registry.lock:
        access = ctx.state.access_tokens.get(token)
        grant = access or ctx.state.refresh_tokens.get(token)
    if grant is None or not grant.active or grant.expires_at < time.time():
        return JSONResponse({"active": False}, headers=NO_STORE)
    body = {
        "active": True,
        "scope": grant.scope,
        "client_id": grant.client_id,
        "sub": ctx.state.sub,
        "exp": grant.expires_at,
        "iss": ctx.issuer,
        "token_type": "refresh_token",
    }
    if access is not None:
        body["token_type"] = "DPoP" if grant.jkt else "Bearer"
    if grant.jkt:
        # RFC 9449 §6.2: the JWK SHA-256 thumbprint confirmation method.
        body["cnf"] = {"jkt": grant.jkt}
    return JSONResponse(body, headers=NO_STORE)
