"""The FAPI cases of the test OP: FAPI1-Advanced and FAPI2 checks (§4 of the certification
list, F* and G* rows) with their own test ids, and the DPoP (RFC 9449) cases of FAPI2.

See /work/shared/conformance/rp-certification-tests.md §4 for what each test checks.
"""

from __future__ import annotations

from .case_model import Case
from .case_model import edit as _edit

FAPI_ROWS: tuple[Case, ...] = (
    Case(
        "invalid-expired-exp",
        "ID token exp 6 minutes in the past",
        "reject",
        edits=_edit("id_token", "exp", "now_plus", -360),
    ),
    Case(
        "invalid-missing-exp",
        "ID token without exp",
        "reject",
        edits=_edit("id_token", "exp", "remove"),
    ),
    Case(
        "invalid-missing-iss",
        "ID token without iss",
        "reject",
        edits=_edit("id_token", "iss", "remove"),
    ),
    Case(
        "invalid-missing-nonce",
        "ID token without nonce",
        "reject",
        edits=_edit("id_token", "nonce", "remove"),
    ),
    Case(
        "iat-is-week-in-past",
        "ID token iat 7 days in the past",
        "reject",
        edits=_edit("id_token", "iat", "now_plus", -7 * 24 * 3600),
    ),
    Case(
        "invalid-secondary-aud",
        "ID token aud = [client_id, client_id + '1'], no azp",
        "reject",
        edits=_edit("id_token", "aud", "add_audience", "1"),
    ),
    Case(
        "valid-aud-as-array",
        "ID token aud = [client_id]",
        "accept",
        edits=_edit("id_token", "aud", "to_array"),
    ),
    Case(
        "encrypted-idtoken-usingrsa15",
        "ID token encrypted with RSA1_5 instead of the registered RSA-OAEP-256",
        "reject",
        id_token_encryption="RSA-OAEP-256",
        id_token_jwe_fault="rsa1_5",
    ),
    Case(
        "invalid-authorization-response-iss",
        "authorization response iss = issuer + '1' (RFC 9207)",
        "reject",
        edits=_edit("authorization_response", "iss", "append", "1"),
    ),
    Case(
        "remove-authorization-response-iss",
        "authorization response without iss although advertised (RFC 9207)",
        "reject",
        edits=_edit("authorization_response", "iss", "remove"),
    ),
    Case(
        "invalid-state",
        "authorization response state + '1'",
        "reject",
        edits=_edit("authorization_response", "state", "append", "1"),
    ),
    Case(
        "missing-state",
        "authorization response without state",
        "reject",
        edits=_edit("authorization_response", "state", "remove"),
    ),
    Case(
        "token-type-case-insensitivity",
        "token_type 'bEARER'",
        "accept",
        edits=_edit("token_response", "token_type", "invert_case"),
    ),
    Case(
        "token-endpoint-response-without-expires_in",
        "token response without expires_in",
        "accept",
        edits=_edit("token_response", "expires_in", "remove"),
    ),
    Case(
        "no-scope-in-token-endpoint-response",
        "token response without scope and expires_in",
        "accept",
        edits=_edit("token_response", "scope", "remove")
        + _edit("token_response", "expires_in", "remove"),
    ),
    Case(
        "dpop-happy-path",
        "DPoP required at the token endpoint; AS and RS first answer use_dpop_nonce",
        "accept",
        dpop_required=True,
        dpop_nonce=True,
    ),
    Case(
        "dpop-happy-path-no-nonce",
        "DPoP required at the token endpoint; no nonce demanded",
        "accept",
        dpop_required=True,
    ),
    Case(
        "dpop-scheme-case-insensitivity",
        "as dpop-happy-path; the RS nonce challenge spells the scheme 'dPoP'",
        "accept",
        dpop_required=True,
        dpop_nonce=True,
        dpop_scheme="dPoP",
    ),
    Case(
        "dpop-nonce-always-stale",
        "the AS answers use_dpop_nonce with a fresh nonce to every request",
        "reject",
        dpop_required=True,
        dpop_nonce=True,
        dpop_nonce_stale=True,
    ),
    Case(
        "dpop-token-type-bearer",
        "the AS ignores the DPoP proof: an unbound token with token_type Bearer",
        "reject",
        dpop_ignored=True,
    ),
)
