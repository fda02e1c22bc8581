"""Login routes: start the authorization request, receive the response, land after logout.

- ``GET /start-login``: the advanced options come as query parameters (the sample's
  names); the pending login is stored server-side, bound to this browser, then 302 to
  the OP (OIDC Core §3.1.2.1).
- ``GET /callback`` (query response mode) and ``POST /callback`` (form_post, and the
  fragment relayed by ``/callback-js``) check the response and finish the login
  (OIDC Core §3.1.2.5-§3.1.2.7, RFC 6749 §4.1.2, RFC 9207).
- Form Post Response Mode: the OP's page posts cross-site, so the SameSite=Lax session
  cookie is not sent. A POST without the cookie gets a small same-origin page that
  re-posts the same fields to ``/callback`` (now same-site, so the cookie comes along),
  marked as relayed so that it is never relayed twice. The pending login is still found
  by ``state`` and must belong to this browser.
- Fragment response modes: the browser keeps the fragment across a redirect, so an empty
  ``GET /callback`` of a browser with a fragment-mode login pending is sent to
  ``/callback-js``, whose nonce'd script posts ``location.hash`` to ``/callback``.
- ``GET /logged-out``: the post_logout_redirect_uri; compares ``state`` with the one sent
  (RP-Initiated Logout 1.0 §3) and shows a neutral note when it does not match.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from oidc_rp.client import Login
from oidc_rp.core.authorize import PROMPTS, AuthorizationOptions
from oidc_rp.errors import LoginStateError, OIDCError
from oidc_rp.settings import Settings
from oidc_rp.web.errors import BadRequest
from oidc_rp.web.sessions import REQUEST_OBJECT_PREFIX, WebSession, new_token
from oidc_rp.web.state import WebState, read_form, web_state

__all__ = ["parse_login_options", "routes"]

RELAY_MARKER = "oidc_rp_relay"
FRAGMENT_MARKER = "oidc_rp_fragment"
REQUEST_OBJECT_TTL = 300
REQUEST_OBJECT_TYPE = "application/oauth-authz-req+jwt"
#: The sample's non-standard prompt value (Curity) for optional consent deselection.
CONSENT_DESELECTION = "consent_allow_deselection"
_REQUEST_OBJECT_ID = re.compile(r"[A-Za-z0-9_-]{43}")
_TRUE = ("1", "true", "on", "yes")


def _single(items: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Parameters as a dict; each at most once (RFC 6749 §3.1) and a string."""
    out: dict[str, str] = {}
    for name, value in items:
        # RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
        if name in out:
            raise BadRequest(f"parameters: {name!r} is repeated")
        if not isinstance(value, str):
            raise BadRequest(f"parameters: {name!r} is not a text field")
        out[name] = value
    return out


def _text(params: dict[str, str], *names: str) -> str | None:
    for name in names:
        value = params.get(name, "").strip()
        if value:
            return value
    return None


def _flag(params: dict[str, str], name: str) -> bool:
    return params.get(name, "").strip().lower() in _TRUE


def _prompt(params: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    """The prompt: forceAuthN -> login, forceConsent -> consent (the sample's mapping).

    allowConsentOptionDeselection sends prompt=consent plus the sample's extra prompt
    value ``consent_allow_deselection``; as that value is not one of OIDC Core's, the
    prompt then travels as an extra parameter (docs/web.md).
    """
    values = []
    if _flag(params, "forceAuthN"):
        values.append("login")
    deselect = _flag(params, "allowConsentOptionDeselection")
    if _flag(params, "forceConsent") or deselect:
        values.append("consent")
    explicit = _text(params, "prompt")
    if explicit:
        values.extend(v for v in explicit.split() if v not in values)
    if deselect:
        return None, {"prompt": " ".join([*values, CONSENT_DESELECTION])}
    if any(v not in PROMPTS for v in values):
        raise BadRequest(f"prompt: unsupported value in {' '.join(values)!r}")
    return (" ".join(values) or None), {}


def _max_age(params: dict[str, str]) -> int | None:
    text = _text(params, "max_age")
    if text is None:
        return None
    if not text.isdigit() or len(text) > 10:
        raise BadRequest("max_age: must be a non-negative integer of seconds")
    return int(text)


def parse_login_options(params: dict[str, str], settings: Settings) -> AuthorizationOptions:
    """The login form's fields (the sample's names) -> AuthorizationOptions, or BadRequest."""
    prompt, extra_prompt = _prompt(params)
    acr = _text(params, "acr", "acr_values")
    try:
        return AuthorizationOptions(
            scope=_text(params, "scope") or settings.scope,
            response_type=_text(params, "responseType", "response_type") or settings.response_type,
            response_mode=_text(params, "response_mode") or settings.response_mode,
            prompt=prompt,
            acr_values=acr,
            essential_acr=tuple(acr.split()) if acr and _flag(params, "acr_essential") else (),
            ui_locales=_text(params, "ui_locales"),
            max_age=_max_age(params),
            claims=_text(params, "claims"),  # type: ignore[arg-type]  # JSON text is accepted
            login_hint=_text(params, "login_hint"),
            extra={**settings.authn_parameters, **extra_prompt},
            send_parameters_via=_text(params, "send_parameters_via")
            or settings.send_parameters_via,
        )
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _is_fragment_mode(options: AuthorizationOptions) -> bool:
    if options.response_mode is not None:
        return options.response_mode == "fragment"
    # OAuth 2.0 Multiple Response Type Encoding Practices §5: the default for any
    # response type other than code (and none) is the fragment.
    return options.response_type != "code"


async def start_login(request: Request) -> Response:
    """Build the authorization request and send the browser to the OP."""
    return await _begin(request, _single(request.query_params.multi_items()))


async def initiate_login(request: Request) -> Response:
    """The initiate_login_uri: a third party asks us to log in at ``iss`` (OIDC Core §4).

    ``iss`` must be our issuer exactly; ``login_hint`` is passed on; ``target_link_uri``
    must stay on this site ("the RP MUST verify the value of the target_link_uri to
    prevent being used as an open redirector to external sites").
    """
    web = web_state(request)
    if request.method == "POST":
        params = _single(await read_form(request))
    else:
        params = _single(request.query_params.multi_items())
    iss = params.get("iss")
    if not iss:
        raise BadRequest("initiate_login.iss: missing")
    if iss != web.settings.issuer:
        raise BadRequest(f"initiate_login.iss: {iss!r} is not the configured issuer")
    target = _local_target(web, params.get("target_link_uri"))
    login_params = {"login_hint": params["login_hint"]} if params.get("login_hint") else {}
    return await _begin(request, login_params, target_link_uri=target)


def _local_target(web: WebState, target: str | None) -> str | None:
    """The path of a target_link_uri on this site, or BadRequest for any other site."""
    if not target:
        return None
    base = urlsplit(web.base_url)
    parts = urlsplit(target)
    same_site = (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
    if not same_site or not parts.path.startswith("/") or parts.path.startswith("//"):
        raise BadRequest("initiate_login.target_link_uri: not a page of this site")
    return urlunsplit(("", "", parts.path, parts.query, ""))


async def _begin(
    request: Request, params: dict[str, str], *, target_link_uri: str | None = None
) -> Response:
    web = web_state(request)
    options = parse_login_options(params, web.settings)
    session = await web.sessions.load_or_create(request)
    session.data["target_link_uri"] = target_link_uri
    trace, sink = web.tracer()

    async def publish(request_object: str) -> str:
        # RFC 9101 §5.2: the request_uri must be unguessable (>= 128 bits here: 256).
        object_id = new_token()
        record = {"request_object": request_object}
        await web.store.set(REQUEST_OBJECT_PREFIX + object_id, record, REQUEST_OBJECT_TTL)
        return f"{web.base_url}/request-object/{object_id}"

    try:
        url, pending = await web.rp.start_login(options, publish_request_object=publish, trace=sink)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    finally:
        session.add_trace(trace)
    await web.sessions.save_pending(pending, session)
    if _is_fragment_mode(options):
        session.data["fragment_login"] = True
    response = RedirectResponse(url, status_code=302)
    await web.sessions.save(session, response)
    return response


def _user_record(login: Login, now: float) -> dict[str, Any]:
    """Who logged in: kept in the session record (the tokens are kept apart)."""
    tags = [f"sub:{login.sub}"] + ([f"sid:{login.sid}"] if login.sid else [])
    return {"sub": login.sub, "sid": login.sid, "logged_in_at": now, "tags": tags}


def _tokens_record(login: Login) -> dict[str, Any]:
    """The tokens record: written only by login, refresh, revoke and userinfo."""
    return {
        "tokens": login.tokens.to_dict(),
        "id_token_claims": login.id_token_claims,
        "userinfo": login.userinfo,
        "userinfo_error": login.userinfo_error,
        "revoked": {},
    }


async def _finish(request: Request, web: WebState, params: dict[str, str]) -> Response:
    """Check the response against this browser's pending login; on success a new session."""
    session = await web.sessions.load(request)
    pending = await web.sessions.take_pending(params.get("state"), session)
    assert session is not None  # take_pending refuses a browser without a session
    trace, sink = web.tracer()
    try:
        login = await web.rp.finish_login(pending, params, trace=sink)
    except OIDCError:
        # A failed login creates no session; the browser's own session keeps the trace.
        if trace:
            session.add_trace(trace)
            await web.sessions.save(session, Response())
        raise
    # A new session id at login (session fixation), same browser binding.
    fresh = await web.sessions.rotate(session)
    fresh.add_trace(trace)
    fresh.data["user"] = _user_record(login, web.clock())
    target = session.data.get("target_link_uri")
    response = RedirectResponse(target if isinstance(target, str) else "/", status_code=303)
    # The tokens first: a session record is never live without its tokens record.
    await web.sessions.save_tokens(fresh, _tokens_record(login))
    await web.sessions.save(fresh, response)
    return response


async def callback_get(request: Request) -> Response:
    """The redirect_uri for the query response mode (and fragment modes, via /callback-js)."""
    web = web_state(request)
    params = _single(request.query_params.multi_items())
    if not params:
        session = await web.sessions.load(request)
        if session is not None and session.data.get("fragment_login"):
            # The browser carries the fragment over to /callback-js (RFC 9110 §10.2.2).
            return RedirectResponse("/callback-js", status_code=303)
        raise LoginStateError("callback.state: missing (no authorization response)")
    return await _finish(request, web, params)


async def callback_post(request: Request) -> Response:
    """The redirect_uri for form_post, and the target of the relay and callback-js pages."""
    web = web_state(request)
    params = _single(await read_form(request))
    relayed = params.pop(RELAY_MARKER, None) is not None
    from_fragment = params.pop(FRAGMENT_MARKER, None) is not None
    if not params:
        raise LoginStateError("callback.state: missing (no authorization response)")
    has_cookie = web.sessions.cookie_name in request.cookies
    if not (relayed or from_fragment or has_cookie):
        # A cross-site form_post arrives without our SameSite=Lax cookie: re-post it from
        # our own origin so that the browser sends the cookie.
        return _relay_page(request, web, params)
    return await _finish(request, web, params)


def _relay_page(request: Request, web: WebState, params: dict[str, str]) -> Response:
    context = {"fields": sorted(params.items()), "marker": RELAY_MARKER}
    return web.templates.TemplateResponse(request, "callback_relay.html", context)


async def callback_js(request: Request) -> Response:
    """A page whose nonce'd script posts the URL fragment's parameters to /callback."""
    web = web_state(request)
    return web.templates.TemplateResponse(request, "callback_js.html", {"marker": FRAGMENT_MARKER})


async def request_object(request: Request) -> Response:
    """Serve a request object published for send_parameters_via=request_uri (RFC 9101 §5.2)."""
    web = web_state(request)
    object_id = request.path_params["object_id"]
    record = None
    if _REQUEST_OBJECT_ID.fullmatch(object_id):
        record = await web.store.get(REQUEST_OBJECT_PREFIX + object_id)
    if record is None or not isinstance(record.get("request_object"), str):
        raise HTTPException(404, "No such request object (unknown or expired)")
    return Response(record["request_object"], media_type=REQUEST_OBJECT_TYPE)


def _logout_outcome(session: WebSession | None, query: QueryParams) -> str:
    expected = session.data.get("logout_state") if session else None
    received = query.get("state")
    if session is not None and session.data.get("logout_local"):
        return "local"
    if (
        isinstance(expected, str)
        and isinstance(received, str)
        and hmac.compare_digest(expected.encode(), received.encode())
    ):
        return "confirmed"
    return "unmatched"


async def logged_out(request: Request) -> Response:
    """The post_logout_redirect_uri landing page (RP-Initiated Logout 1.0 §3)."""
    web = web_state(request)
    session = await web.sessions.load(request)
    outcome = _logout_outcome(session, request.query_params)
    context = {"outcome": outcome}
    response = web.templates.TemplateResponse(request, "logged_out.html", context)
    if session is not None and session.user is None:
        session.data["logout_state"] = None
        session.data["logout_local"] = False
        await web.sessions.save(session, response)
    return response


async def frontchannel_logout(request: Request) -> Response:
    """The frontchannel_logout_uri (Front-Channel Logout 1.0 §2-§4), loaded by the OP in an iframe.

    We register frontchannel_logout_session_required, so the OP always sends ``iss`` and
    ``sid``: both are required (400 otherwise, nothing ends), ``iss`` must be our issuer,
    and the sessions of that OP session end. The browser's cookie is never used: a
    SameSite=Lax cookie is sent on any site's top-level GET navigation to this URL, so
    acting on it would let every site log the user out.
    """
    web = web_state(request)
    params = _single(request.query_params.multi_items())
    iss, sid = params.get("iss"), params.get("sid")
    # §3: "The RP MUST verify that iss and sid ... match" before acting on them.
    if not iss:
        raise BadRequest("frontchannel_logout.iss: missing")
    if iss != web.settings.issuer:
        raise BadRequest("frontchannel_logout.iss: not the configured issuer")
    if not sid:
        raise BadRequest("frontchannel_logout.sid: missing")
    ended = await web.sessions.end_tagged(f"sid:{sid}")
    return web.templates.TemplateResponse(request, "frontchannel_logout.html", {"ended": ended})


def routes() -> list[BaseRoute]:
    """The login routes."""
    return [
        Route("/start-login", start_login, methods=["GET"]),
        Route("/initiate-login", initiate_login, methods=["GET", "POST"]),
        Route("/callback", callback_get, methods=["GET"]),
        Route("/callback", callback_post, methods=["POST"]),
        Route("/callback-js", callback_js, methods=["GET"]),
        Route("/request-object/{object_id}", request_object, methods=["GET"]),
        Route("/logged-out", logged_out, methods=["GET"]),
        Route("/frontchannel-logout", frontchannel_logout, methods=["GET"]),
    ]
