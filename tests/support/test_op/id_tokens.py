"""ID tokens (OIDC Core §2, §3.1.3.6, §3.3.2.11, §12.2), with the case's faults applied.

Defaults as the conformance suite's well-behaved OP: ``iss``, ``sub``, ``aud`` (the client_id as
a string), ``nonce`` when sent, ``iat``, ``exp`` = iat + 300, ``auth_time`` when ``max_age`` was
sent, ``at_hash``/``c_hash`` where the flow requires them, and ``sid``; plus the user's claims
the ``id_token`` member of the ``claims`` request parameter asks for (OIDC Core §5.5).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, Literal

from .cases import edits_for
from .edits import apply_edits, corrupt_signature
from .errors import OPFailure
from .keys import half_hash, sign
from .state import TestState

ID_TOKEN_LIFETIME = 300

SCOPE_CLAIMS: dict[str, dict[str, Any]] = {
    "profile": {
        "name": "Jane Doe",
        "given_name": "Jane",
        "family_name": "Doe",
        "preferred_username": "j.doe",
        "locale": "en-GB",
        "updated_at": 1700000000,
    },
    "email": {"email": "janedoe@example.com", "email_verified": True},
    "phone": {"phone_number": "+1 (310) 123-4567", "phone_number_verified": False},
    "address": {
        "address": {
            "street_address": "1234 Hollywood Blvd.",
            "locality": "Los Angeles",
            "region": "CA",
            "postal_code": "90210",
            "country": "US",
        }
    },
}
"""Claims released per scope value (OIDC Core §5.4)."""


def claims_for_scope(scope: str) -> dict[str, Any]:
    """The standard claims the scope values ask for (OIDC Core §5.4)."""
    claims: dict[str, Any] = {}
    for value in scope.split():
        claims.update(SCOPE_CLAIMS.get(value, {}))
    return claims


USER_CLAIMS: dict[str, Any] = {
    name: value for released in SCOPE_CLAIMS.values() for name, value in released.items()
}
"""Every claim the test's user has (besides ``sub``)."""

ClaimsMember = Literal["id_token", "userinfo"]


def parse_claims_parameter(text: str | None) -> dict[str, Any]:
    """The ``claims`` request parameter as a JSON object (OIDC Core §5.5); ``{}`` if absent.

    Query and PAR values are JSON text; a request object's JSON object arrives serialised too.
    """
    if text is None:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        raise OPFailure("invalid_request", "claims is not valid JSON (OIDC Core §5.5)") from None
    # OIDC Core §5.5: a JSON object whose userinfo and id_token members are JSON objects.
    if not isinstance(parsed, dict):
        raise OPFailure("invalid_request", "claims must be a JSON object (OIDC Core §5.5)")
    for member in ("userinfo", "id_token"):
        if not isinstance(parsed.get(member, {}), dict):
            raise OPFailure("invalid_request", f"claims.{member} must be a JSON object")
    return parsed


def requested_claims(claims_request: Mapping[str, Any], member: ClaimsMember) -> dict[str, Any]:
    """The user's claims one member of the ``claims`` parameter asks for (OIDC Core §5.5).

    Each named claim the user has is released whatever its individual request says (null,
    ``essential``, ``value``, ``values``): the test's user has one value per claim.
    """
    asked = claims_request.get(member) or {}
    return {name: USER_CLAIMS[name] for name in asked if name in USER_CLAIMS}


def id_token_alg(state: TestState, client: dict[str, Any]) -> str:
    """The case's forced alg, else the client's ``id_token_signed_response_alg``, else RS256."""
    return state.case.id_token_alg or str(client.get("id_token_signed_response_alg") or "RS256")


def mint_id_token(
    state: TestState,
    client: dict[str, Any],
    issuer: str,
    *,
    nonce: str | None,
    auth_time: int,
    max_age: str | None,
    sid: str,
    access_token: str | None = None,
    code: str | None = None,
    extra: dict[str, Any] | None = None,
    refresh: bool = False,
) -> str:
    """Sign an ID token for the test's user, applying the case's edits and signature fault."""
    case = state.case
    if case.key_rotation == "before_first_signing" and state.signed_id_tokens == 0:
        state.rotate_keys()
    alg = id_token_alg(state, client)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": state.sub,
        "aud": client["client_id"],
        "iat": now,
        "exp": now + ID_TOKEN_LIFETIME,
        "sid": sid,
    }
    if nonce is not None and not refresh:
        claims["nonce"] = nonce
    if max_age is not None:
        claims["auth_time"] = auth_time
    if access_token is not None:
        claims["at_hash"] = half_hash(access_token, alg)
    if code is not None:
        claims["c_hash"] = half_hash(code, alg)
    claims.update(extra or {})
    claims = apply_edits(claims, edits_for(case, "id_token"), now=now)
    if refresh:
        claims = apply_edits(claims, edits_for(case, "refresh_id_token"), now=now)
    token = sign(
        claims,
        alg=alg,
        keys=state.keys,
        client_secret=client.get("client_secret"),
        with_kid=case.kid_in_header,
    )
    if case.corrupt_signature:
        token = corrupt_signature(token)
    state.signed_id_tokens += 1
    state.issued_id_tokens[token] = claims
    state.last_id_token_claims = claims
    return token
