"""ID tokens (OIDC Core §2, §3.1.3.6, §3.3.2.11, §12.2), with the case's faults applied.

Defaults as the conformance suite's well-behaved OP: ``iss``, ``sub``, ``aud`` (the client_id as
a string), ``nonce`` when sent, ``iat``, ``exp`` = iat + 300, ``auth_time`` when ``max_age`` was
sent, ``at_hash``/``c_hash`` where the flow requires them, and ``sid``.
"""

from __future__ import annotations

import time
from typing import Any

from .cases import edits_for
from .edits import apply_edits, corrupt_signature
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
