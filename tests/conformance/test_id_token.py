"""Certification rows 5, 12-32 and the FAPI ID-token checks: ID tokens the RP must refuse or accept.

A refused ID token is a ``ProtocolError`` (``invalid_id_token``), which the web app maps to 502
(docs/web.md). The suite's "no further call" rule: after a bad front-channel ID token no token
and no userinfo call; after a bad ID token from the token endpoint no userinfo call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from conformance.browser import Browser
from conformance.harness import CODE_RESPONSE_TYPES, Apps, assert_id_token_rejected

CaseRow = tuple[str, str, tuple[str, ...]]  # test id, rule named on the error page, rows
Variant = tuple[str, str | None]  # response type, response mode

REJECTED_EVERYWHERE: list[CaseRow] = [
    ("nonce-invalid", "id_token.nonce", ("5", "F7", "G14")),
    ("invalid-iss", "id_token.iss", ("12", "F8", "G4")),
    ("missing-sub", "id_token.sub", ("13",)),
    ("invalid-aud", "id_token.aud", ("14", "F9", "G5")),
    ("missing-aud", "id_token.aud", ("15", "F17", "G11")),
    ("missing-iat", "id_token.iat", ("16",)),
    ("invalid-sig-rs256", "id_token.signature", ("21", "F11")),
    ("invalid-expired-exp", "id_token.exp", ("F14", "G9")),
    ("invalid-missing-exp", "id_token.exp", ("F15", "G10")),
    ("invalid-missing-iss", "id_token.iss", ("F18", "G12")),
    ("invalid-missing-nonce", "id_token.nonce", ("F19", "G15")),
    ("iat-is-week-in-past", "id_token.iat", ("F16",)),
    ("invalid-secondary-aud", "id_token.aud", ("F10", "G6")),
]
#: Every code-bearing response type by its default mode, and one hybrid type by form_post.
VARIANTS: list[Variant] = [(rt, None) for rt in CODE_RESPONSE_TYPES]
VARIANTS.append(("code id_token", "form_post"))


def _variant_id(response_type: str, mode: str | None) -> str:
    return response_type + (f" ({mode})" if mode else "")


def _params(rows: Sequence[CaseRow], variants: Sequence[Variant]) -> list[Any]:
    return [
        pytest.param(
            test_id,
            rule,
            response_type,
            mode,
            marks=pytest.mark.conformance(*marks),
            id=f"{test_id}-{_variant_id(response_type, mode)}",
        )
        for test_id, rule, marks in rows
        for response_type, mode in variants
    ]


@pytest.mark.parametrize(
    ("test_id", "rule", "response_type", "mode"), _params(REJECTED_EVERYWHERE, VARIANTS)
)
def test_id_token_rejected(
    apps: Apps, browser: Browser, test_id: str, rule: str, response_type: str, mode: str | None
) -> None:
    assert_id_token_rejected(apps, browser, test_id, rule, response_type, mode)


HASH_CASES: list[CaseRow] = [
    ("invalid-chash", "id_token.c_hash", ("30", "F6")),
    ("missing-chash", "id_token.c_hash", ("31",)),
]
AT_HASH_CASES: list[CaseRow] = [
    ("invalid-athash", "id_token.at_hash", ("28",)),
    ("missing-athash", "id_token.at_hash", ("29",)),
]


@pytest.mark.parametrize(
    ("test_id", "rule", "response_type", "mode"),
    _params(HASH_CASES, [("code id_token", None), ("code id_token token", None)])
    + _params(AT_HASH_CASES, [("code id_token token", None)])
    + _params(HASH_CASES + AT_HASH_CASES, [("code id_token token", "form_post")]),
)
def test_front_channel_hash_rejected(
    apps: Apps, browser: Browser, test_id: str, rule: str, response_type: str, mode: str | None
) -> None:
    # The code is not redeemed: no token call after the bad authorization response.
    assert_id_token_rejected(apps, browser, test_id, rule, response_type, mode)


@pytest.mark.parametrize(
    ("test_id", "alg"),
    [
        pytest.param(
            "invalid-sig-hs256",
            "HS256",
            marks=pytest.mark.conformance("22"),
            id="invalid-sig-hs256-code",
        ),
        pytest.param(
            "invalid-sig-es256",
            "ES256",
            marks=pytest.mark.conformance("23"),
            id="invalid-sig-es256-code",
        ),
    ],
)
def test_corrupted_signature_of_other_algs(
    apps: Apps, browser: Browser, test_id: str, alg: str
) -> None:
    assert_id_token_rejected(
        apps, browser, test_id, "id_token.signature", "code", id_token_signed_response_alg=alg
    )


ACCEPTED = [
    pytest.param(
        "kid-absent-single-jwks",
        "RS256",
        "code",
        marks=pytest.mark.conformance("17"),
        id="kid-absent-single-jwks-code",
    ),
    pytest.param(
        "kid-absent-single-jwks",
        "RS256",
        "code id_token",
        marks=pytest.mark.conformance("17"),
        id="kid-absent-single-jwks-code id_token",
    ),
    *(
        pytest.param(
            "idtoken-sig-rs256",
            "RS256",
            rt,
            marks=pytest.mark.conformance("19"),
            id=f"idtoken-sig-rs256-{rt}",
        )
        for rt in CODE_RESPONSE_TYPES
    ),
    pytest.param(
        "sig-es256", "ES256", "code", marks=pytest.mark.conformance("24"), id="sig-es256-code"
    ),
    pytest.param(
        "sig-es256",
        "ES256",
        "code id_token",
        marks=pytest.mark.conformance("24"),
        id="sig-es256-code id_token",
    ),
    pytest.param(
        "sig-hs256", "HS256", "code", marks=pytest.mark.conformance("25"), id="sig-hs256-code"
    ),
    pytest.param(
        "sig-hs256",
        "HS256",
        "code id_token",
        marks=pytest.mark.conformance("25"),
        id="sig-hs256-code id_token",
    ),
    pytest.param(
        "ignores-unparseable-key-in-jwks",
        "RS256",
        "code",
        marks=pytest.mark.conformance("32"),
        id="ignores-unparseable-key-in-jwks-code",
    ),
    pytest.param(
        "valid-aud-as-array",
        "RS256",
        "code",
        marks=pytest.mark.conformance("F21", "G13"),
        id="valid-aud-as-array-code",
    ),
    pytest.param(
        "valid-aud-as-array",
        "RS256",
        "code id_token",
        marks=pytest.mark.conformance("F21", "G13"),
        id="valid-aud-as-array-code id_token",
    ),
]


@pytest.mark.parametrize(("test_id", "alg", "response_type"), ACCEPTED)
def test_id_token_accepted(
    apps: Apps, browser: Browser, test_id: str, alg: str, response_type: str
) -> None:
    app = apps.get(test_id, id_token_signed_response_alg=alg)
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser, response_type=response_type))
    endpoints = app.endpoints_since(mark)
    assert endpoints.count("token") == 1 and endpoints.count("userinfo") == 1, endpoints


@pytest.mark.conformance("18")
def test_kid_absent_multiple_jwks_either_outcome(
    apps: Apps, browser: Browser, conformance_note: Any
) -> None:
    # Either outcome passes: reject (no key can be chosen) or try every candidate key.
    app = apps.get("kid-absent-multiple-jwks")
    mark = app.mark()
    visit = app.login(browser)
    if visit.status == 200:
        app.assert_logged_in(browser, visit)
        conformance_note("outcome: accepted (tried the candidate keys)")
        return
    app.assert_rejected(
        browser,
        visit,
        status=502,
        code="invalid_id_token",
        rule="id_token.signature",
        mark=mark,
        after="token",
        forbidden=("userinfo",),
    )
    conformance_note("outcome: rejected, no key can be chosen without a kid (either passes)")


@pytest.mark.conformance("20", "F12", "G7")
def test_idtoken_sig_none_rejected(apps: Apps, browser: Browser, conformance_note: Any) -> None:
    # The suite passes accept-and-continue and marks reject-and-stop "skipped"; oidc-rp never
    # accepts alg none (settings refuse id_token_signed_response_alg=none).
    assert_id_token_rejected(apps, browser, "idtoken-sig-none", "id_token.alg", "code")
    conformance_note("outcome: rejected (alg none is never accepted; the suite allows both)")
