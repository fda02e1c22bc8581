"""The shape of a test OP case: how the OP misbehaves for one test id (:class:`Case`), made of
the official suite's small deterministic edits (:class:`Edit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Target = Literal[
    "discovery",  # the provider configuration document
    "id_token",  # every ID token of the test (authorization and token endpoints)
    "refresh_id_token",  # only the ID token of a refresh_token grant response
    "authorization_response",  # the authorization response parameters (iss, state)
    "token_response",  # the token endpoint's JSON response
    "userinfo",  # the userinfo claims
    "logout_token",  # the back-channel logout token claims
    "logout_redirect",  # the post-logout redirect parameters
]
Op = Literal["append", "remove", "set", "now_plus", "to_array", "add_audience", "invert_case"]


@dataclass(frozen=True)
class Edit:
    """One deterministic edit of one member of one message (the official suite's faults)."""

    target: Target
    member: str
    op: Op
    arg: object = None


@dataclass(frozen=True)
class Case:
    """How the test OP misbehaves for one test id, and what a correct RP does about it."""

    test_id: str
    description: str
    expected: Literal["reject", "accept"]
    either_ok: bool = False  # the official suite also passes the other outcome
    edits: tuple[Edit, ...] = ()
    corrupt_signature: bool = False  # XOR every ID-token signature byte with 0x5A
    id_token_alg: str | None = None  # forced ID-token alg (else the client's, else RS256)
    kid_in_header: bool = True
    jwks_layout: Literal["default", "single_no_kid", "multiple_no_kid", "unparseable"] = "default"
    random_jwks_path: bool = False
    key_rotation: Literal["none", "second_authorization", "before_first_signing"] = "none"
    userinfo_token_location: Literal["header_or_body", "header", "body"] = "header_or_body"
    userinfo_alg: str | None = None  # forced signed userinfo alg
    request_object: Literal["", "request_uri_none", "request_uri_rs256", "request_rs256"] = ""
    token_auth_method: str | None = None  # forced token endpoint client authentication
    require_scope_claims: bool = False  # scope must hold profile, email, phone or address
    # The claims request parameter (OIDC Core §5.5) must ask some claim in this member.
    require_claims_request: Literal["", "id_token", "userinfo"] = ""
    form_post_error: bool = False  # answer login_required by form_post
    backchannel_alg: Literal["registered", "none", "wrong"] = "registered"
    # The alg the client must register as id_token_/userinfo_encrypted_response_alg.
    id_token_encryption: str | None = None
    userinfo_encryption: str | None = None
    # ID tokens sent unencrypted although negotiated, with the JWE tag bytes XOR 0x5A, or
    # encrypted with RSA1_5 instead of the registered alg.
    id_token_jwe_fault: Literal["", "unencrypted", "corrupt_tag", "rsa1_5"] = ""
    # DPoP (RFC 9449): the token endpoint requires a proof; the AS and the RS demand their
    # nonce (§8, §9); the scheme the RS challenges with; the AS ignores proofs (Bearer, §5).
    dpop_required: bool = False
    dpop_nonce: bool = False
    dpop_scheme: str = "DPoP"
    dpop_ignored: bool = False
    dpop_nonce_stale: bool = False  # every AS nonce is stale at once: challenges never end


def edit(target: Target, member: str, op: Op, arg: object = None) -> tuple[Edit, ...]:
    """One edit, as the ``edits`` of a case."""
    return (Edit(target, member, op, arg),)


def edits_for(case: Case, target: Target) -> tuple[Edit, ...]:
    """The case's edits that apply to one message."""
    return tuple(one for one in case.edits if one.target == target)
