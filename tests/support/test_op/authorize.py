"""The authorization endpoint: validate like the conformance suite, auto-approve, redirect.

No user interface: a valid request is approved at once for the test's one user. Validation follows
§1 of the conformance notes (OIDC Core §3.1.2.1-§3.1.2.2, §3.2.2.1, §3.3.2.1, RFC 7636, RFC 9101,
RFC 9126); a request failing it gets an HTML error page with HTTP 400 and the reason. The
response goes back by query (code), fragment (implicit/hybrid) or auto-submitting form_post
(OAuth 2.0 Form Post Response Mode), with ``iss`` (RFC 9207) and the case's faults applied.
"""

from __future__ import annotations

import html
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.responses import HTMLResponse, RedirectResponse, Response

from .cases import edits_for
from .context import Context
from .edits import apply_edits
from .encryption import encrypt_response
from .errors import OPFailure
from .id_tokens import (
    claims_for_scope,
    mint_id_token,
    parse_claims_parameter,
    requested_claims,
)
from .request_objects import (
    PAR_URN_PREFIX,
    check_case_mechanism,
    fetch_request_uri,
    is_loopback_http,
    merge_with_query,
    verify_request_object,
)
from .state import AuthorizationGrant, TokenGrant

ACCESS_TOKEN_LIFETIME = 300
SCOPE_CLAIM_VALUES = ("profile", "email", "phone", "address")


def _words(value: str) -> frozenset[str]:
    return frozenset(value.split())


async def handle_authorization(ctx: Context, query: dict[str, str]) -> Response:
    """Answer one authorization request (auto-approved, or a 400 page naming the failed rule)."""
    state = ctx.state
    with ctx.registry.lock:
        state.authorization_requests += 1
        # The rotation case: a second authorization request replaces the whole JWKS.
        if state.case.key_rotation == "second_authorization" and state.authorization_requests == 2:
            state.rotate_keys()
    client = state.clients.get(query.get("client_id", ""))
    if client is None:
        raise OPFailure("invalid_request", "unknown or missing client_id")
    params = await _effective_params(ctx, client, query)
    redirect_uri = _check_redirect_uri(client, params)
    response_type = _check_request(ctx, client, params)
    if state.case.form_post_error:
        error = {"error": "login_required", "error_description": "the user is not logged in"}
        if "state" in params:
            error["state"] = params["state"]
        error["iss"] = ctx.issuer
        return form_post_page(redirect_uri, error)
    response = _approve(ctx, client, params, response_type)
    if "id_token" in response:
        # OIDC Core §10.2: the front-channel ID token is encrypted like the others.
        response["id_token"] = await encrypt_response(
            state, client, "id_token", response["id_token"], nested=True
        )
    response = apply_edits(response, edits_for(state.case, "authorization_response"), now=0)
    mode = params.get("response_mode") or ("query" if response_type == {"code"} else "fragment")
    return deliver(redirect_uri, response, mode)


async def _effective_params(
    ctx: Context, client: dict[str, Any], query: dict[str, str]
) -> dict[str, str]:
    """The query, or the query merged with a request object, or the pushed request."""
    if "request" in query and "request_uri" in query:
        raise OPFailure("invalid_request", "request and request_uri must not both be used")
    request_uri = query.get("request_uri")
    if request_uri and request_uri.startswith(PAR_URN_PREFIX):
        return _pushed_params(ctx, client, request_uri)
    if request_uri:
        token = await fetch_request_uri(ctx.registry, ctx.state, request_uri)
        mechanism = "request_uri"
    elif "request" in query:
        token, mechanism = query["request"], "request"
    else:
        check_case_mechanism(ctx.state, "query", None)
        return dict(query)
    claims = await verify_request_object(ctx.state, client, token, ctx.issuer)
    check_case_mechanism(ctx.state, mechanism, str(claims["_alg"]))
    return merge_with_query(query, claims)


def _pushed_params(ctx: Context, client: dict[str, Any], request_uri: str) -> dict[str, str]:
    """RFC 9126 §4: the pushed request replaces the query; single use; not expired."""
    with ctx.registry.lock:
        pushed = ctx.state.pushed_requests.pop(request_uri, None)
    if pushed is None:
        raise OPFailure("invalid_request_uri", "unknown or used PAR request_uri")
    client_id, params, expires_at = pushed
    if client_id != client["client_id"] or expires_at < time.time():
        raise OPFailure("invalid_request_uri", "PAR request_uri expired or of another client")
    return dict(params)


def _check_redirect_uri(client: dict[str, Any], params: dict[str, str]) -> str:
    redirect_uri = params.get("redirect_uri", "")
    # OIDC Core §3.1.2.1: redirect_uri MUST exactly match a pre-registered value.
    if redirect_uri not in client.get("redirect_uris", []):
        raise OPFailure("invalid_request", "redirect_uri is not exactly a registered one")
    if "#" in redirect_uri:
        raise OPFailure("invalid_request", "redirect_uri must not have a fragment")
    if urlsplit(redirect_uri).scheme != "https" and not is_loopback_http(redirect_uri):
        raise OPFailure("invalid_request", "redirect_uri must be https (or loopback http)")
    return redirect_uri


def _check_request(ctx: Context, client: dict[str, Any], params: dict[str, str]) -> frozenset[str]:
    """The suite's checks of every authorization request; returns the response type words."""
    case = ctx.state.case
    response_type = _words(params.get("response_type", ""))
    registered = [_words(value) for value in client.get("response_types", ["code"])]
    if not response_type or response_type not in registered:
        raise OPFailure("unsupported_response_type", "response_type is not a registered one")
    scope = _words(params.get("scope", ""))
    # OIDC Core §3.1.2.1: scope MUST contain the openid scope value.
    if "openid" not in scope:
        raise OPFailure("invalid_scope", "scope must contain openid")
    # OIDC Core §3.2.2.1: nonce is REQUIRED when an ID token comes from the authorization endpoint.
    if "id_token" in response_type and not params.get("nonce"):
        raise OPFailure("invalid_request", "nonce is required for this response_type")
    mode = params.get("response_mode")
    if mode not in (None, "query", "fragment", "form_post"):
        raise OPFailure("invalid_request", "unsupported response_mode")
    # Multiple Response Types §5: the query encoding MUST NOT be used when tokens are returned.
    if mode == "query" and response_type != {"code"}:
        raise OPFailure("invalid_request", "response_mode query with tokens in the response")
    prompt_none_max_age_0 = params.get("prompt") == "none" and params.get("max_age") == "0"
    if case.form_post_error and not (mode == "form_post" and prompt_none_max_age_0):
        raise OPFailure(
            "invalid_request", "this test needs response_mode=form_post, prompt=none, max_age=0"
        )
    if prompt_none_max_age_0 and not case.form_post_error:
        raise OPFailure("invalid_request", "prompt=none with max_age=0 can never succeed")
    if case.require_scope_claims and not scope & set(SCOPE_CLAIM_VALUES):
        raise OPFailure("invalid_scope", "this test needs profile, email, phone or address scope")
    member = case.require_claims_request
    if member and not parse_claims_parameter(params.get("claims")).get(member):
        raise OPFailure("invalid_request", f"this test needs the claims parameter asking {member}")
    _check_pkce(params)
    return response_type


def _check_pkce(params: dict[str, str]) -> None:
    if "code_challenge" not in params:
        return
    # RFC 7636 §4.3: the method defaults to plain; this OP supports only S256.
    if params.get("code_challenge_method") != "S256":
        raise OPFailure("invalid_request", "code_challenge_method must be S256")
    challenge = params["code_challenge"]
    if not 43 <= len(challenge) <= 128:
        raise OPFailure("invalid_request", "code_challenge has the wrong length")


def _approve(
    ctx: Context, client: dict[str, Any], params: dict[str, str], response_type: frozenset[str]
) -> dict[str, Any]:
    """Issue the code and/or tokens the response type asks for."""
    state = ctx.state
    now = int(time.time())
    sid = secrets.token_urlsafe(12)
    scope = params.get("scope", "")
    claims_request = parse_claims_parameter(params.get("claims"))
    response: dict[str, Any] = {}
    with ctx.registry.lock:
        code = None
        access_token = None
        if "code" in response_type:
            code = secrets.token_urlsafe(24)
            state.codes[code] = AuthorizationGrant(
                client["client_id"],
                params["redirect_uri"],
                scope,
                params.get("nonce"),
                params.get("code_challenge"),
                now,
                params.get("max_age"),
                sid,
                claims_request,
                params.get("dpop_jkt"),
            )
            response["code"] = code
        if "token" in response_type:
            access_token = secrets.token_urlsafe(24)
            expires_at = now + ACCESS_TOKEN_LIFETIME
            grant = TokenGrant(
                client["client_id"], scope, sid, now, expires_at, claims_request=claims_request
            )
            state.access_tokens[access_token] = grant
            response.update(access_token=access_token, token_type="Bearer")
            response["expires_in"] = ACCESS_TOKEN_LIFETIME
        if "id_token" in response_type:
            # OIDC Core §5.4: scope claims go in the ID token when no access token is issued.
            extra = claims_for_scope(scope) if response_type == {"id_token"} else {}
            extra.update(requested_claims(claims_request, "id_token"))
            response["id_token"] = mint_id_token(
                state,
                client,
                ctx.issuer,
                nonce=params.get("nonce"),
                auth_time=now,
                max_age=params.get("max_age"),
                sid=sid,
                access_token=access_token,
                code=code,
                extra=extra,
            )
    if "state" in params:
        response["state"] = params["state"]
    response["iss"] = ctx.issuer
    return response


def deliver(redirect_uri: str, response: dict[str, Any], mode: str) -> Response:
    """Send the authorization response by query, fragment or form_post."""
    params = {name: str(value) for name, value in response.items()}
    if mode == "form_post":
        return form_post_page(redirect_uri, params)
    if mode == "fragment":
        return RedirectResponse(f"{redirect_uri}#{urlencode(params)}", status_code=302)
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(params)}", status_code=302)


def form_post_page(redirect_uri: str, params: dict[str, str]) -> HTMLResponse:
    """An auto-submitting HTML form POSTing the parameters (Form Post Response Mode §2)."""
    fields = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}"/>'
        for name, value in params.items()
    )
    page = (
        "<!DOCTYPE html><html><head><title>Submit This Form</title></head>"
        '<body onload="javascript:document.forms[0].submit()">'
        f'<form method="post" action="{html.escape(redirect_uri)}">{fields}'
        '<noscript><button type="submit">Continue</button></noscript></form></body></html>'
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def error_page(failure: OPFailure) -> HTMLResponse:
    """The 400 page shown for a request that failed validation (never redirected)."""
    body = (
        "<!DOCTYPE html><html><head><title>Test OP error</title></head><body>"
        f"<h1>{html.escape(failure.error)}</h1><p>{html.escape(failure.description)}</p>"
        "</body></html>"
    )
    return HTMLResponse(body, status_code=failure.status)
