"""Request objects by value and by reference (OIDC Core §6, RFC 9101) and PAR (RFC 9126).

The OP fetches a ``request_uri`` from the RP with httpx2 (recorded as a ``request_uri_fetch``
call), verifies the object with the client's registered keys or secret (``alg: none`` only when
the client registered ``request_object_signing_alg=none``) and merges it with the query, whose
parameters must match the object's.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx2

from .clients import client_keys, verify_client_jwt
from .edits import unverified_header
from .errors import OPFailure
from .state import Call, Registry, TestState

PAR_URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
MAX_REQUEST_OBJECT_AGE = 3600
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback_http(uri: str) -> bool:
    """An http URI on a loopback host (accepted where https is otherwise required)."""
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


async def fetch_request_uri(registry: Registry, state: TestState, uri: str) -> str:
    """GET the RP-hosted request object (OIDC Core §6.2), recording the fetch."""
    # OIDC Core §6.2 / the suite: an unsigned object must come from an https request_uri.
    if urlsplit(uri).scheme != "https" and not is_loopback_http(uri):
        raise OPFailure("invalid_request_uri", "request_uri must be https")
    path = urlsplit(uri).path
    index = registry.record(state, Call("request_uri_fetch", "GET", path, {}, {}, {}, None))
    try:
        async with httpx2.AsyncClient(timeout=5.0) as http:
            response = await http.get(uri)
    except httpx2.HTTPError as exc:
        registry.amend(state, index, 0, "request_uri fetch failed")
        raise OPFailure("invalid_request_uri", "could not fetch request_uri") from exc
    registry.amend(state, index, response.status_code, None)
    if response.status_code != 200:
        raise OPFailure("invalid_request_uri", f"request_uri answered {response.status_code}")
    return response.text.strip()


async def verify_request_object(
    state: TestState, client: dict[str, Any], token: str, issuer: str
) -> dict[str, Any]:
    """Verify a request object with the client's keys/secret and return its claims."""
    try:
        alg = str(unverified_header(token).get("alg"))
    except ValueError as exc:
        raise OPFailure("invalid_request_object", "request object is not a JWT") from exc
    registered = client.get("request_object_signing_alg")
    # OIDC Registration §2: objects not signed with the registered alg MUST be rejected.
    if registered and alg != registered:
        raise OPFailure("invalid_request_object", f"request object alg {alg} != registered")
    if alg == "none" and registered != "none":
        raise OPFailure("invalid_request_object", "alg none needs request_object_signing_alg none")
    keys = None if alg == "none" or alg.startswith("HS") else await client_keys(client)
    allowed = ("none", "RS256", "PS256", "ES256", "EdDSA", "Ed25519", "HS256")
    try:
        claims = verify_client_jwt(token, keys, client.get("client_secret"), allowed)
    except OPFailure as exc:
        raise OPFailure("invalid_request_object", exc.description) from exc
    _check_times(claims)
    if "client_id" in claims and claims["client_id"] != client["client_id"]:
        raise OPFailure("invalid_request_object", "request object client_id mismatch")
    claims["_alg"] = alg
    return claims


def _check_times(claims: dict[str, Any]) -> None:
    now = time.time()
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, int | float) or exp < now):
        raise OPFailure("invalid_request_object", "request object expired")
    iat = claims.get("iat")
    if iat is not None and (not isinstance(iat, int | float) or iat < now - MAX_REQUEST_OBJECT_AGE):
        raise OPFailure("invalid_request_object", "request object iat too old")


def object_params(claims: dict[str, Any]) -> dict[str, str]:
    """Request object members as authorization parameters (JSON values serialised)."""
    skip = {"iss", "aud", "exp", "iat", "nbf", "jti", "_alg"}
    params: dict[str, str] = {}
    for name, value in claims.items():
        if name in skip:
            continue
        params[name] = value if isinstance(value, str) else json.dumps(value)
    return params


def merge_with_query(query: dict[str, str], claims: dict[str, Any]) -> dict[str, str]:
    """Query parameters present in the object must match it (OIDC Core §6.1); object wins."""
    from_object = object_params(claims)
    for name, value in query.items():
        if name in ("request", "request_uri"):
            continue
        if name in from_object and from_object[name] != value:
            raise OPFailure("invalid_request", f"query {name} does not match the request object")
    merged = {k: v for k, v in query.items() if k not in ("request", "request_uri")}
    merged.update(from_object)
    return merged


def check_case_mechanism(state: TestState, mechanism: str, alg: str | None) -> None:
    """The request-object cases insist on one mechanism and alg."""
    required = state.case.request_object
    wanted = {
        "request_uri_none": ("request_uri", "none"),
        "request_uri_rs256": ("request_uri", "RS256"),
        "request_rs256": ("request", "RS256"),
    }.get(required)
    if wanted is None:
        return
    if (mechanism, alg) != wanted:
        raise OPFailure(
            "invalid_request",
            f"this test requires a {wanted[1]} request object passed as {wanted[0]}",
        )
