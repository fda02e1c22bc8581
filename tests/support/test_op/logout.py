"""RP-Initiated Logout 1.0 §2-3 and Back-Channel Logout 1.0 §2.4-2.5 at the test OP.

The end-session endpoint (GET or POST) fails unless ``id_token_hint`` is an ID token issued in
this test and ``post_logout_redirect_uri`` is registered. It then POSTs a logout token to the
client's ``backchannel_logout_uri`` (if registered; the RP's status code is recorded) and
redirects to the post-logout URI with the ``state`` (edited by the other-state/no-state cases).
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx2
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .cases import BACKCHANNEL_LOGOUT_EVENT, edits_for
from .context import Context
from .edits import apply_edits
from .errors import OPFailure
from .id_tokens import id_token_alg
from .keys import sign

LOGOUT_TOKEN_LIFETIME = 120


def _client_of_hint(ctx: Context, params: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    hint = params.get("id_token_hint")
    with ctx.registry.lock:
        claims = ctx.state.issued_id_tokens.get(hint or "")
    # The suite: id_token_hint must be an ID token this OP issued in this test.
    if claims is None:
        raise OPFailure("invalid_request", "id_token_hint is not an ID token issued in this test")
    aud = claims.get("aud")
    client_id = params.get("client_id") or (aud[0] if isinstance(aud, list) else aud)
    client = ctx.state.clients.get(str(client_id))
    if client is None:
        raise OPFailure("invalid_request", "unknown client_id")
    if aud != client_id and not (isinstance(aud, list) and client_id in aud):
        raise OPFailure("invalid_request", "client_id is not the id_token_hint audience")
    return client, claims


async def handle_end_session(ctx: Context, params: dict[str, str]) -> Response:
    """End the session: back-channel notification, then the post-logout redirect."""
    client, claims = _client_of_hint(ctx, params)
    redirect_uri = params.get("post_logout_redirect_uri")
    # RP-Initiated Logout §2: the URI MUST have been previously registered.
    if redirect_uri and redirect_uri not in client.get("post_logout_redirect_uris", []):
        raise OPFailure("invalid_request", "post_logout_redirect_uri is not registered")
    if client.get("backchannel_logout_uri"):
        status = await send_backchannel_logout(ctx, client, str(claims.get("sid", "")))
        with ctx.registry.lock:
            ctx.state.backchannel_results.append(status)
    if not redirect_uri:
        return HTMLResponse("<!DOCTYPE html><html><body><p>You are logged out.</p></body></html>")
    back = {"state": params["state"]} if "state" in params else {}
    back = apply_edits(back, edits_for(ctx.state.case, "logout_redirect"), now=0)
    separator = "&" if "?" in redirect_uri else "?"
    target = f"{redirect_uri}{separator}{urlencode(back)}" if back else redirect_uri
    return RedirectResponse(target, status_code=302)


def logout_token(ctx: Context, client: dict[str, Any], sid: str) -> str:
    """A logout token (Back-Channel Logout §2.4) with the case's faults."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ctx.issuer,
        "aud": client["client_id"],
        "sub": ctx.state.sub,
        "sid": sid,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        "unknown_claim": "an RP must ignore this",
    }
    claims = apply_edits(claims, edits_for(ctx.state.case, "logout_token"), now=now)
    registered = id_token_alg(ctx.state, client)
    alg = {
        "registered": registered,
        "none": "none",
        "wrong": "ES256" if registered == "RS256" else "RS256",
    }[ctx.state.case.backchannel_alg]
    with ctx.registry.lock:
        return sign(
            claims,
            alg=alg,
            keys=ctx.state.keys,
            client_secret=client.get("client_secret"),
            typ="logout+jwt",
        )


async def send_backchannel_logout(ctx: Context, client: dict[str, Any], sid: str) -> int:
    """POST the logout token (plus one parameter to ignore); return the RP's status (0: none)."""
    form = {"logout_token": logout_token(ctx, client, sid), "extra_param": "ignore-me"}
    try:
        async with httpx2.AsyncClient(timeout=5.0) as http:
            response = await http.post(client["backchannel_logout_uri"], data=form)
    except httpx2.HTTPError:
        return 0
    return response.status_code
