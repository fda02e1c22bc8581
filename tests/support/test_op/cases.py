"""The catalogue of test OP cases: one row per OpenID Foundation RP certification test.

Test ids are the new conformance-suite names without the ``oidcc-client-test-`` prefix (and
``client-test`` for the plain ``oidcc-client-test``); a few old-suite-only tests keep a short name
(``sig-es256``, ``sig-hs256``, ``request-object-signed-rs256``). Every invalid value is made by the
official suite's small deterministic edits (append ``1`` / ``INVALID`` / ``_INVALID``, XOR the
signature bytes with 0x5A, delete the claim), described by :class:`Edit` rows.

See /work/shared/conformance/rp-certification-tests.md for what each test checks.
The model is in ``case_model.py``, the FAPI (and DPoP) rows in ``cases_fapi.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .case_model import Case, Edit, Op, Target, edits_for
from .case_model import edit as _edit
from .cases_fapi import FAPI_ROWS

__all__ = ["BACKCHANNEL_LOGOUT_EVENT", "CASES", "Case", "Edit", "Op", "Target", "edits_for"]

_BCL_EVENT = "http://schemas.openid.net/event/backchannel-logout"

_ROWS: tuple[Case, ...] = (
    Case("client-test", "happy path for the response type the RP asks for", "accept"),
    Case(
        "nonce-invalid",
        "ID token nonce = sent nonce + '1'",
        "reject",
        edits=_edit("id_token", "nonce", "append", "1"),
    ),
    Case("nonce-unless-code-flow", "nonce required for implicit/hybrid, echoed", "accept"),
    Case(
        "scope-userinfo-claims",
        "scope must ask profile/email/phone/address; claims returned by scope",
        "accept",
        require_scope_claims=True,
    ),
    Case(
        "client-secret-basic",
        "token endpoint accepts only client_secret_basic",
        "accept",
        token_auth_method="client_secret_basic",
    ),
    Case(
        "invalid-iss",
        "ID token iss = issuer + '1'",
        "reject",
        edits=_edit("id_token", "iss", "append", "1"),
    ),
    Case("missing-sub", "ID token without sub", "reject", edits=_edit("id_token", "sub", "remove")),
    Case(
        "invalid-aud",
        "ID token aud = client_id + '1'",
        "reject",
        edits=_edit("id_token", "aud", "append", "1"),
    ),
    Case("missing-aud", "ID token without aud", "reject", edits=_edit("id_token", "aud", "remove")),
    Case("missing-iat", "ID token without iat", "reject", edits=_edit("id_token", "iat", "remove")),
    Case(
        "kid-absent-single-jwks",
        "RS256 without kid; JWKS has one key per type, none with a kid",
        "accept",
        id_token_alg="RS256",
        kid_in_header=False,
        jwks_layout="single_no_kid",
    ),
    Case(
        "kid-absent-multiple-jwks",
        "RS256 without kid; JWKS has three RSA keys without kid",
        "reject",
        either_ok=True,
        id_token_alg="RS256",
        kid_in_header=False,
        jwks_layout="multiple_no_kid",
    ),
    Case("idtoken-sig-rs256", "valid RS256 ID token", "accept", id_token_alg="RS256"),
    Case(
        "idtoken-sig-none",
        "unsigned ID token (alg none) from the token endpoint",
        "reject",
        either_ok=True,
        id_token_alg="none",
    ),
    Case(
        "invalid-sig-rs256",
        "RS256 signature bytes XOR 0x5A",
        "reject",
        id_token_alg="RS256",
        corrupt_signature=True,
    ),
    Case(
        "invalid-sig-hs256",
        "HS256 MAC (client secret) bytes XOR 0x5A",
        "reject",
        id_token_alg="HS256",
        corrupt_signature=True,
    ),
    Case(
        "invalid-sig-es256",
        "ES256 signature bytes XOR 0x5A",
        "reject",
        id_token_alg="ES256",
        corrupt_signature=True,
    ),
    Case("sig-es256", "valid ES256 ID token", "accept", id_token_alg="ES256"),
    Case(
        "sig-hs256",
        "valid HS256 ID token keyed with the client secret",
        "accept",
        id_token_alg="HS256",
    ),
    Case(
        "id-token-sig-enc",
        "ID token signed, then encrypted RSA-OAEP-256 / A128CBC-HS256 to the client's enc key",
        "accept",
        id_token_encryption="RSA-OAEP-256",
    ),
    Case(
        "id-token-sig-enc-a128kw",
        "ID token signed, then encrypted A128KW with the key derived from the client secret",
        "accept",
        id_token_encryption="A128KW",
    ),
    Case(
        "id-token-sig-enc-unencrypted",
        "ID token signed but not encrypted although the client registered encryption",
        "reject",
        id_token_encryption="RSA-OAEP-256",
        id_token_jwe_fault="unencrypted",
    ),
    Case(
        "id-token-sig-enc-invalid-tag",
        "encrypted ID token, JWE authentication tag bytes XOR 0x5A",
        "reject",
        id_token_encryption="RSA-OAEP-256",
        id_token_jwe_fault="corrupt_tag",
    ),
    Case(
        "invalid-athash",
        "front-channel at_hash + '1'",
        "reject",
        edits=_edit("id_token", "at_hash", "append", "1"),
    ),
    Case(
        "missing-athash",
        "front-channel ID token without at_hash next to an access token",
        "reject",
        edits=_edit("id_token", "at_hash", "remove"),
    ),
    Case(
        "invalid-chash",
        "front-channel c_hash + '1'",
        "reject",
        edits=_edit("id_token", "c_hash", "append", "1"),
    ),
    Case(
        "missing-chash",
        "front-channel ID token without c_hash",
        "reject",
        edits=_edit("id_token", "c_hash", "remove"),
    ),
    Case(
        "ignores-unparseable-key-in-jwks",
        "JWKS = the RSA signing key plus an AKP and an unknown-kty key",
        "accept",
        id_token_alg="RS256",
        jwks_layout="unparseable",
    ),
    Case(
        "userinfo-bearer-header",
        "userinfo accepts the token only in the Authorization header",
        "accept",
        userinfo_token_location="header",
    ),
    Case(
        "userinfo-bearer-body",
        "userinfo accepts the token only as a form body parameter",
        "accept",
        userinfo_token_location="body",
    ),
    Case(
        "userinfo-invalid-sub",
        "userinfo sub = sub + 'invalid'",
        "reject",
        edits=_edit("userinfo", "sub", "append", "invalid"),
    ),
    Case("userinfo-signed", "userinfo as an RS256 JWT", "accept", userinfo_alg="RS256"),
    Case(
        "userinfo-enc",
        "userinfo claims (JSON) encrypted RSA-OAEP-256 / A128CBC-HS256, not signed",
        "accept",
        userinfo_encryption="RSA-OAEP-256",
    ),
    Case(
        "userinfo-sig-enc",
        "userinfo signed RS256 (iss, aud), then encrypted RSA-OAEP-256",
        "accept",
        userinfo_alg="RS256",
        userinfo_encryption="RSA-OAEP-256",
    ),
    Case(
        "claims-request-id-token",
        "requires the claims parameter asking claims in the ID token; puts them there",
        "accept",
        require_claims_request="id_token",
    ),
    Case(
        "claims-request-userinfo",
        "requires the claims parameter asking claims in userinfo; returns them there",
        "accept",
        require_claims_request="userinfo",
    ),
    Case(
        "request-uri-signed-none",
        "requires an unsigned request object passed by request_uri",
        "accept",
        request_object="request_uri_none",
    ),
    Case(
        "request-uri-signed-rs256",
        "requires an RS256 request object passed by request_uri",
        "accept",
        request_object="request_uri_rs256",
    ),
    Case(
        "request-object-signed-rs256",
        "requires an RS256 request object passed by value",
        "accept",
        request_object="request_rs256",
    ),
    Case("discovery-openid-config", "serves the configuration document", "accept"),
    Case(
        "discovery-jwks-uri-keys",
        "jwks_uri path is random; only that path serves the keys",
        "accept",
        random_jwks_path=True,
    ),
    Case(
        "discovery-issuer-mismatch",
        "configuration issuer = issuer + 'INVALID'",
        "reject",
        edits=_edit("discovery", "issuer", "append", "INVALID"),
    ),
    Case(
        "signing-key-rotation",
        "the second authorization request replaces the whole JWKS",
        "accept",
        key_rotation="second_authorization",
    ),
    Case(
        "signing-key-rotation-just-before-signing",
        "the JWKS is replaced just before the first ID token is signed",
        "accept",
        key_rotation="before_first_signing",
    ),
    Case("dynamic-registration", "registration endpoint (RFC 7591)", "accept"),
    Case("refresh-token", "issues refresh tokens", "accept"),
    Case(
        "refresh-token-invalid-issuer",
        "refresh response ID token iss + '1'",
        "reject",
        edits=_edit("refresh_id_token", "iss", "append", "1"),
    ),
    Case(
        "refresh-token-invalid-sub",
        "refresh response ID token sub + '1'",
        "reject",
        edits=_edit("refresh_id_token", "sub", "append", "1"),
    ),
    Case("rp-init-logout", "end_session redirects back with the state", "accept"),
    Case(
        "rp-init-logout-other-state",
        "end_session redirects back with state + '_INVALID'",
        "reject",
        edits=_edit("logout_redirect", "state", "append", "_INVALID"),
    ),
    Case(
        "rp-init-logout-no-state",
        "end_session redirects back without state",
        "accept",
        either_ok=True,
        edits=_edit("logout_redirect", "state", "remove"),
    ),
    Case(
        "form-post-error",
        "requires form_post + prompt=none + max_age=0; form-posts login_required",
        "reject",
        form_post_error=True,
    ),
)

_LOGOUT_ROWS: tuple[Case, ...] = (
    Case("rp-backchannel-rpinitlogout", "valid back-channel logout token", "accept"),
    Case(
        "rp-backchannel-rpinitlogout-alg-none",
        "unsigned logout token",
        "reject",
        backchannel_alg="none",
    ),
    Case(
        "rp-backchannel-rpinitlogout-no-event",
        "logout token without events",
        "reject",
        edits=_edit("logout_token", "events", "remove"),
    ),
    Case(
        "rp-backchannel-rpinitlogout-with-nonce",
        "logout token with a nonce",
        "reject",
        edits=_edit("logout_token", "nonce", "set", "a-nonce-is-forbidden-here"),
    ),
    Case(
        "rp-backchannel-rpinitlogout-wrong-alg",
        "logout token signed with another alg than the ID tokens",
        "reject",
        backchannel_alg="wrong",
    ),
    Case(
        "rp-backchannel-rpinitlogout-wrong-aud",
        "logout token aud = client_id + 'INVALID'",
        "reject",
        edits=_edit("logout_token", "aud", "append", "INVALID"),
    ),
    Case(
        "rp-backchannel-rpinitlogout-wrong-event",
        "logout token events hold only an unrelated event",
        "reject",
        edits=_edit(
            "logout_token", "events", "set", {"http://schemas.openid.net/event/foobar": {}}
        ),
    ),
    Case(
        "rp-backchannel-rpinitlogout-wrong-iss",
        "logout token iss = issuer + 'INVALID'",
        "reject",
        edits=_edit("logout_token", "iss", "append", "INVALID"),
    ),
)

BACKCHANNEL_LOGOUT_EVENT = _BCL_EVENT
"""The event member of a back-channel logout token (Back-Channel Logout 1.0 §2.4)."""

CASES: Mapping[str, Case] = MappingProxyType(
    {case.test_id: case for case in (*_ROWS, *FAPI_ROWS, *_LOGOUT_ROWS)}
)
"""Every test id the test OP serves, in catalogue order."""
