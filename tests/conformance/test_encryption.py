"""Certification rows 26, 27, 37, 38 and FAPI F2, F4: encrypted ID tokens and userinfo (JWE).

The app registers its encryption algs (Registration §2) and publishes its RSA encryption key
(``use: enc``) at ``/jwks``, its ``jwks_uri``; the test OP signs, then encrypts to that key
(RSA-OAEP-256) or to the key derived from the client secret (A128KW, OIDC Core §10.2), every ID
token (authorization, token and refresh responses) and userinfo response. What the OP sends is
checked in tests/support/test_test_op_encryption.py. Refused: an unencrypted ID token although
encryption was negotiated (OIDC Core §3.1.3.7 step 1), a JWE whose authentication tag was
altered, and RSA1_5 key wrapping (RFC 8725 §3.2, FAPI 1.0 Advanced §8.6.1), each a
``ProtocolError`` (502) with no further call.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from joserfc.jwk import RSAKey

from conformance.browser import Browser
from conformance.harness import CODE_RESPONSE_TYPES, Apps, assert_id_token_rejected

#: The RP's encryption key (``client_encryption_key``): its own kid, never a signing key.
ENCRYPTION_KEY_JWK = json.dumps(
    RSAKey.generate_key(2048, parameters={"kid": "rp-enc"}, private=True).as_dict(private=True)
)
RSA_OAEP_256: dict[str, Any] = {
    "id_token_encrypted_response_alg": "RSA-OAEP-256",
    "id_token_encrypted_response_enc": "A128CBC-HS256",
    "client_encryption_key": ENCRYPTION_KEY_JWK,
}
A128KW: dict[str, Any] = {"id_token_encrypted_response_alg": "A128KW"}


def _param(test_id: str, response_type: str, *rows: str, **values: Any) -> Any:
    return pytest.param(
        test_id,
        response_type,
        values,
        marks=pytest.mark.conformance(*rows),
        id=f"{test_id}-{response_type}",
    )


ACCEPTED = [
    *(_param("id-token-sig-enc", rt, "26", "F2", **RSA_OAEP_256) for rt in CODE_RESPONSE_TYPES),
    *(_param("id-token-sig-enc-a128kw", rt, "27", **A128KW) for rt in ("code", "code id_token")),
]


@pytest.mark.parametrize(("test_id", "response_type", "settings"), ACCEPTED)
def test_encrypted_id_token_accepted(
    apps: Apps, browser: Browser, test_id: str, response_type: str, settings: dict[str, Any]
) -> None:
    app = apps.get(test_id, **settings)
    mark = app.mark()
    body = app.assert_logged_in(browser, app.login(browser, response_type=response_type))
    assert body["claims"].get("email")  # userinfo was fetched and used
    endpoints = app.endpoints_since(mark)
    assert endpoints.count("token") == 1 and endpoints.count("userinfo") == 1, endpoints
    published = browser.get(f"{app.base_url}/jwks").json()["keys"]
    enc_keys = [key for key in published if key.get("use") == "enc"]
    if "client_encryption_key" in settings:
        # Registration §2: the OP encrypted to this key, fetched from the app's jwks_uri.
        assert [(k["kid"], k["alg"]) for k in enc_keys] == [("rp-enc", "RSA-OAEP-256")]
    else:
        assert enc_keys == []  # A128KW: the key is derived from the client secret


@pytest.mark.conformance("26", "F2")
def test_encrypted_id_token_refresh_then_logout(apps: Apps, browser: Browser) -> None:
    app = apps.get("id-token-sig-enc", **RSA_OAEP_256)
    app.assert_logged_in(browser, app.login(browser))
    _, before = app.session(browser)
    mark = app.mark()
    refreshed = app.action(browser, "/refresh")
    # OIDC Core §12.2: the refreshed ID token (encrypted too) is decrypted and checked.
    assert refreshed.status == 200 and refreshed.url == f"{app.base_url}/", refreshed.text[-400:]
    assert app.endpoints_since(mark) == ["token"]
    status, after = app.session(browser)
    assert status == 200 and after["sub"] == before["sub"] == app.sub()
    mark = app.mark()
    visit = app.action(browser, "/logout")
    assert visit.status == 200 and urlsplit(visit.url).path == "/logged-out", visit.url
    # RP-Initiated Logout 1.0 §2: an encrypted ID token is decrypted for id_token_hint; the
    # OP knows the signed ID token it issued (here the refreshed one).
    [end_session] = [call for call in app.calls_since(mark) if call.endpoint == "end_session"]
    assert end_session.status == 302, end_session.error
    assert end_session.query["id_token_hint"].count(".") == 2


REJECTED = [
    *(
        pytest.param(
            test_id,
            rule,
            rt,
            marks=pytest.mark.conformance(row),
            id=f"{test_id}-{rt}",
        )
        for test_id, rule, row in (
            ("id-token-sig-enc-unencrypted", "id_token.jwe: not encrypted", "26"),
            ("id-token-sig-enc-invalid-tag", "id_token.jwe: decryption failed", "26"),
            ("encrypted-idtoken-usingrsa15", "id_token.jwe.alg: RSA1_5 is insecure", "F4"),
        )
        for rt in ("code", "code id_token")
    ),
]


@pytest.mark.parametrize(("test_id", "rule", "response_type"), REJECTED)
def test_encrypted_id_token_rejected(
    apps: Apps, browser: Browser, test_id: str, rule: str, response_type: str
) -> None:
    assert_id_token_rejected(apps, browser, test_id, rule, response_type, **RSA_OAEP_256)


USERINFO = [
    pytest.param(
        "userinfo-enc",
        {"userinfo_encrypted_response_alg": "RSA-OAEP-256"},
        marks=pytest.mark.conformance("37"),
        id="userinfo-enc",
    ),
    pytest.param(
        "userinfo-sig-enc",
        {
            "userinfo_encrypted_response_alg": "RSA-OAEP-256",
            "userinfo_signed_response_alg": "RS256",
        },
        marks=pytest.mark.conformance("38"),
        id="userinfo-sig-enc",
    ),
]


@pytest.mark.parametrize(("test_id", "settings"), USERINFO)
def test_encrypted_userinfo_accepted(
    apps: Apps, browser: Browser, test_id: str, settings: dict[str, Any]
) -> None:
    app = apps.get(test_id, client_encryption_key=ENCRYPTION_KEY_JWK, **settings)
    mark = app.mark()
    body = app.assert_logged_in(browser, app.login(browser))
    # Registration §2: decrypted (and for row 38 verified), then used: the claims are there.
    assert body["claims"].get("email") == "janedoe@example.com"
    [userinfo] = [call for call in app.calls_since(mark) if call.endpoint == "userinfo"]
    assert userinfo.status == 200
