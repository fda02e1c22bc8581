"""FAPI2 rows G1, G2, G21, G22 and G1b: DPoP (RFC 9449) with PAR, PKCE and private_key_jwt.

The app is configured as a FAPI2 client (``send_parameters_via=par``, ``private_key_jwt``,
``dpop_signing_alg=ES256``) and calls the test OP's userinfo endpoint, also as ``api_endpoint``.
The test OP checks every proof (RFC 9449 §4.3); these tests check what it saw: one key for
every proof, a single retry per ``use_dpop_nonce`` challenge (the AS nonce learnt at PAR reused
at the token endpoint, §8.2; the RS nonce learnt at userinfo reused by the API call, §9), and the
DPoP scheme with ``ath`` at the resource. A ``Bearer`` answer to a DPoP token request is refused
(the RP's documented choice, docs/configuration.md ``dpop_signing_alg``; RFC 9449 §5).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from joserfc.jwk import JWKRegistry
from joserfc.jws import extract_compact

from conformance.browser import Browser
from conformance.harness import RP_KEY_JWK, Apps, RunningApp
from support.test_op import Call

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _fapi2_app(apps: Apps, test_id: str) -> RunningApp:
    return apps.get(
        test_id,
        send_parameters_via="par",
        token_endpoint_auth_method="private_key_jwt",
        client_private_key=RP_KEY_JWK,
        dpop_signing_alg="ES256",
        api_endpoint=f"{apps.op.issuer(test_id)}/userinfo",
    )


def _proof(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of the call's DPoP proof (checked by the test OP already)."""
    assert "dpop" in call.headers, f"no DPoP proof at {call.endpoint}"
    compact = extract_compact(call.headers["dpop"].encode())
    return dict(compact.protected), json.loads(compact.payload)


def _statuses(calls: list[Call], endpoint: str) -> list[int]:
    return [call.status for call in calls if call.endpoint == endpoint]


def _ath(token: str) -> str:
    digest = hashlib.sha256(token.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _check_proofs(app: RunningApp, calls: list[Call], *, nonces: bool) -> None:
    """One ES256 key, htm/htu of each endpoint, nonces exactly on the retries, ath at userinfo."""
    proven = [call for call in calls if call.endpoint in ("par", "token", "userinfo")]
    thumbprints = set()
    for call in proven:
        header, claims = _proof(call)
        assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
        assert not {"d", "p", "q"} & set(header["jwk"])
        thumbprints.add(JWKRegistry.import_key(header["jwk"]).thumbprint())
        assert claims["htm"] == call.method
        assert claims["htu"] == f"{app.op.issuer(app.test_id)}/{call.path.rsplit('/', 1)[1]}"
        # Without nonces none is sent; with them, each server's nonce after its challenge.
        assert ("nonce" in claims) == (nonces and call.status != 400 and call.status != 401)
    # RFC 9449 §10.1: the PAR proof's key is the one the code (and so every token) is bound to.
    assert len(thumbprints) == 1
    userinfo = [call for call in proven if call.endpoint == "userinfo"]
    for call in userinfo:
        scheme, _, token = call.headers["authorization"].partition(" ")
        assert scheme == "DPoP"
        assert _proof(call)[1]["ath"] == _ath(token)
    jtis = [_proof(call)[1]["jti"] for call in proven]
    assert len(set(jtis)) == len(jtis)


def _check_fapi2_requests(calls: list[Call]) -> None:
    """PAR with private_key_jwt and PKCE; the authorization request carries only the urn."""
    [par] = [call for call in calls if call.endpoint == "par" and call.status == 201]
    assert par.form["client_assertion_type"] == JWT_BEARER and par.form["code_challenge"]
    [authorization] = [call for call in calls if call.endpoint == "authorization"]
    assert set(authorization.query) == {"client_id", "request_uri"}
    [token] = [call for call in calls if call.endpoint == "token"]
    assert token.form["client_assertion_type"] == JWT_BEARER and token.form["code_verifier"]


@pytest.mark.conformance("G1")
def test_fapi2_happy_path_with_dpop_nonces(apps: Apps, browser: Browser) -> None:
    app = _fapi2_app(apps, "dpop-happy-path")
    mark = app.mark()
    body = app.assert_logged_in(browser, app.login(browser))
    assert body["claims"].get("email")  # userinfo answered through DPoP
    calls = app.calls_since(mark)
    # RFC 9449 §8: one retry at PAR after use_dpop_nonce; the token request already has it.
    assert _statuses(calls, "par") == [400, 201]
    assert _statuses(calls, "token") == [200]
    # RFC 9449 §9: the RS has its own nonce: one challenge, one retry.
    assert _statuses(calls, "userinfo") == [401, 200]
    _check_fapi2_requests(calls)
    _check_proofs(app, calls, nonces=True)
    # RFC 7523 §3: the retry carries a fresh client assertion (its jti is single-use).
    first, retry = (call.form["client_assertion"] for call in calls if call.endpoint == "par")
    assert first != retry
    # The resource call (api_endpoint) reuses the RS nonce: no new challenge.
    api_mark = app.mark()
    visit = app.action(browser, "/call-api")
    assert "API answered 200" in visit.text, visit.text[-600:]
    api_calls = app.calls_since(api_mark)
    assert _statuses(api_calls, "userinfo") == [200]
    _check_proofs(app, api_calls, nonces=True)


@pytest.mark.conformance("G2")
def test_fapi2_happy_path_without_nonce(apps: Apps, browser: Browser) -> None:
    app = _fapi2_app(apps, "dpop-happy-path-no-nonce")
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    calls = app.calls_since(mark)
    assert [_statuses(calls, name) for name in ("par", "token", "userinfo")] == [
        [201],
        [200],
        [200],
    ]
    _check_fapi2_requests(calls)
    _check_proofs(app, calls, nonces=False)


@pytest.mark.conformance("G22")
def test_rs_challenge_scheme_spelled_dpop(apps: Apps, browser: Browser) -> None:
    app = _fapi2_app(apps, "dpop-scheme-case-insensitivity")
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    calls = app.calls_since(mark)
    # The 401 challenge says `dPoP error="use_dpop_nonce"`: recognised, retried once.
    assert _statuses(calls, "userinfo") == [401, 200]
    _check_proofs(app, calls, nonces=True)


@pytest.mark.parametrize(
    "test_id",
    [
        pytest.param(
            "token-type-case-insensitivity",
            marks=pytest.mark.conformance("G21"),
            id="token-type-case-insensitivity-dpop",
        )
    ],
)
def test_dpop_token_type_in_another_case(apps: Apps, browser: Browser, test_id: str) -> None:
    app = _fapi2_app(apps, test_id)
    mark = app.mark()
    app.assert_logged_in(browser, app.login(browser))
    calls = app.calls_since(mark)
    # RFC 6749 §5.1: token_type is case-insensitive: 'dpOp' is DPoP, used as such.
    assert _statuses(calls, "userinfo") == [200]
    _check_proofs(app, calls, nonces=False)


@pytest.mark.conformance("G1b")
def test_bearer_answer_to_a_dpop_request_refused(apps: Apps, browser: Browser) -> None:
    app = _fapi2_app(apps, "dpop-token-type-bearer")
    mark = app.mark()
    visit = app.login(browser)
    # RFC 9449 §5: the client MUST discard the response if this protection is deemed important.
    app.assert_rejected(
        browser,
        visit,
        status=502,
        code="invalid_token_response",
        rule="token_response.token_type",
        mark=mark,
        after="token",
        forbidden=("userinfo",),
    )


@pytest.mark.conformance("G1c")
def test_endless_nonce_challenges_stop_after_one_retry(apps: Apps, browser: Browser) -> None:
    app = _fapi2_app(apps, "dpop-nonce-always-stale")
    mark = app.mark()
    visit = app.login(browser)
    calls = app.calls_since(mark)
    # RFC 9449 §8: one retry with the new nonce; a second challenge ends the login, shown as
    # the OP's refusal (OPErrorResponse -> 400, docs/web.md).
    assert _statuses(calls, "par") == [400, 400]
    app.assert_rejected(
        browser,
        visit,
        status=400,
        code="use_dpop_nonce",
        rule="a DPoP nonce from this server is required",
        mark=mark,
        after="par",
        forbidden=("par", "authorization", "token"),
    )
