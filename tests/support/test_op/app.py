"""The Starlette app of the test OP: per-issuer routing, call recording, failure answers.

Every path ``/{test_id}/...`` belongs to the issuer ``{base_url}/{test_id}``. Each request under
a catalogued test id is recorded as a ``Call`` (paths the OP does not serve as ``unknown``, 404),
then amended with the status the OP answered and the reason it failed, if it did.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .authorize import error_page, handle_authorization
from .cases import CASES
from .context import ENDPOINT_PATHS, Context
from .discovery import (
    handle_discovery,
    handle_jwks,
    handle_registration,
    webfinger_test_id,
)
from .errors import OPFailure
from .logout import handle_end_session
from .state import Call, Registry
from .token import handle_introspection, handle_par, handle_revocation, handle_token
from .userinfo import handle_userinfo

logger = logging.getLogger(__name__)

ENDPOINT_BY_PATH = {path: name for name, path in ENDPOINT_PATHS.items()}
ENDPOINT_BY_PATH[".well-known/openid-configuration"] = "discovery"
POST_ONLY = {"token", "par", "revocation", "introspection", "registration"}
GET_ONLY = {"discovery", "jwks"}
HTML_ENDPOINTS = {"authorization", "end_session"}


def _single_valued(items: list[tuple[str, str]]) -> dict[str, str]:
    """RFC 6749 §3.1: parameters MUST NOT be included more than once."""
    values: dict[str, str] = {}
    for name, value in items:
        if name in values:
            raise OPFailure("invalid_request", f"parameter {name} repeated")
        values[name] = value
    return values


async def _bodies(request: Request) -> tuple[list[tuple[str, str]], Any]:
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True), None
    if content_type == "application/json" and body:
        try:
            return [], json.loads(body)
        except ValueError:
            return [], None
    return [], None


def _failure_response(endpoint: str, failure: OPFailure) -> Response:
    if endpoint in HTML_ENDPOINTS:
        return error_page(failure)
    headers = {"Cache-Control": "no-store", **failure.headers}
    if failure.status == 401 and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = f'Bearer error="{failure.error}"'
    body = {"error": failure.error, "error_description": failure.description}
    return JSONResponse(body, status_code=failure.status, headers=headers)


async def _dispatch(ctx: Context, endpoint: str, request: Request, call: Call) -> Response:
    method = request.method
    if (endpoint in POST_ONLY and method != "POST") or (endpoint in GET_ONLY and method != "GET"):
        raise OPFailure("invalid_request", f"{method} not allowed here", 405)
    headers = dict(call.headers)
    # RFC 9449 §4.3 (1): there is not more than one DPoP HTTP request header field.
    if len(request.headers.getlist("dpop")) > 1:
        status = 401 if endpoint == "userinfo" else 400
        raise OPFailure("invalid_dpop_proof", "more than one DPoP header", status)
    query = _single_valued(list(request.query_params.multi_items()))
    form_items, body = await _bodies(request)
    form = _single_valued(form_items)
    if endpoint == "discovery":
        return handle_discovery(ctx)
    if endpoint == "jwks":
        return handle_jwks(ctx)
    if endpoint == "authorization":
        return await handle_authorization(ctx, form if method == "POST" else query)
    if endpoint == "token":
        return await handle_token(ctx, headers, form)
    if endpoint == "userinfo":
        return await handle_userinfo(ctx, method, headers, query, form)
    if endpoint == "registration":
        return handle_registration(ctx, headers, body)
    if endpoint == "end_session":
        return await handle_end_session(ctx, form if method == "POST" else query)
    if endpoint == "par":
        return await handle_par(ctx, headers, form)
    if endpoint == "revocation":
        return await handle_revocation(ctx, headers, form)
    if endpoint == "introspection":
        return await handle_introspection(ctx, headers, form)
    raise OPFailure("not_found", "the test OP serves nothing at this path", 404)


def build_app(registry: Registry, base_url: str) -> Starlette:
    """The ASGI app serving every catalogued test id as its own issuer under ``base_url``."""

    async def issuer_route(request: Request) -> Response:
        test_id = request.path_params["test_id"]
        if test_id not in CASES:
            return PlainTextResponse("unknown test id", status_code=404)
        state = registry.get(test_id)
        ctx = Context(registry, state, f"{base_url}/{test_id}")
        rest = request.path_params["rest"]
        endpoint = "jwks" if rest == state.jwks_path else ENDPOINT_BY_PATH.get(rest, "unknown")
        call = await _record_call(request, endpoint)
        index = registry.record(state, call)
        try:
            response = await _dispatch(ctx, endpoint, request, call)
            registry.amend(state, index, response.status_code, None)
        except OPFailure as failure:
            registry.amend(state, index, failure.status, failure.description)
            response = _failure_response(endpoint, failure)
        except Exception as exc:  # a bug in the test OP: record it rather than hang the RP
            logger.exception("test OP failure at %s", endpoint)
            registry.amend(state, index, 500, f"test OP bug: {type(exc).__name__}")
            response = PlainTextResponse("test OP internal error", status_code=500)
        return response

    async def webfinger(request: Request) -> Response:
        resource = request.query_params.get("resource", "")
        host = base_url.split("://", 1)[1]
        test_id = webfinger_test_id(resource, host)
        if test_id is None or test_id not in CASES:
            return JSONResponse({"error": "unknown resource"}, status_code=404)
        state = registry.get(test_id)
        registry.record(state, await _record_call(request, "webfinger", status=200))
        links = [
            {"rel": "http://openid.net/specs/connect/1.0/issuer", "href": f"{base_url}/{test_id}"}
        ]
        return JSONResponse(
            {"subject": resource, "links": links}, media_type="application/jrd+json"
        )

    routes = [
        Route("/.well-known/webfinger", webfinger, methods=["GET"]),
        Route(
            "/{test_id}/{rest:path}",
            issuer_route,
            methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
        ),
    ]
    return Starlette(routes=routes)


async def _record_call(request: Request, endpoint: str, status: int = 0) -> Call:
    """The Call value of a request (lower-case header names, last value of repeated params)."""
    form_items, body = await _bodies(request)
    return Call(
        endpoint=endpoint,
        method=request.method,
        path=request.url.path,
        headers={name.lower(): value for name, value in request.headers.items()},
        query=dict(request.query_params),
        form=dict(form_items),
        json=body,
        status=status,
    )
