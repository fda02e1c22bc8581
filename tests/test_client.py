"""RelyingParty against node-oidc-provider (a certified OP) on loopback: every round trip.

Each test drives the library API the way the web app does: start_login -> the OP's dev
login and consent pages (posted programmatically) -> finish_login -> the follow-ups.

Encryption (test_client_encryption.py) and the cases node-oidc-provider cannot play
(test_client_test_op.py, against our own test OP) have their own files.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc.jwk import ECKey, RSAKey

from oidc_rp.client import RelyingParty, TokenSet
from oidc_rp.core.authorize import AuthorizationOptions
from oidc_rp.core.transaction import PendingLogin
from oidc_rp.errors import (
    AuthorizationErrorResponse,
    AuthorizationResponseError,
    IDTokenError,
    NotSupportedError,
    TokenErrorResponse,
)
from support.node_op import NodeOP, login_via_dev_interactions, start_node_op
from support.node_rp import OFFLINE, REDIRECT_URI, _client, _login, _params, _settings

pytestmark = pytest.mark.integration

RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "rp-rsa"}, private=True)


EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "rp-ec"}, private=True)


def _public(*keys: RSAKey | ECKey) -> dict[str, Any]:
    return {"keys": [k.as_dict(private=False) for k in keys]}


CLIENTS = [
    _client("basic"),
    _client("post", "client_secret_post"),
    _client("jwt", "client_secret_jwt"),
    _client("pkjwt", "private_key_jwt", jwks=_public(EC_KEY)),
    _client("public", "none"),
    _client("signed-req", jwks=_public(RSA_KEY), request_object_signing_alg="RS256"),
    _client("signed-ui", userinfo_signed_response_alg="RS256"),
    _client(
        "hybrid",
        response_types=["code id_token", "code"],
        grant_types=["authorization_code", "implicit", "refresh_token"],
        # node-oidc-provider wants https URIs for implicit-capable web clients; loopback
        # http is fine for native ones.
        application_type="native",
    ),
]


@pytest.fixture(scope="module")
def op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeOP]:
    node_op = start_node_op(CLIENTS, tmp_dir=tmp_path_factory.mktemp("node-op"))
    yield node_op
    node_op.stop()


@pytest.fixture
async def rp(op: NodeOP, tmp_path: Path) -> AsyncIterator[RelyingParty]:
    party = RelyingParty(_settings(op, tmp_path))
    yield party
    await party.aclose()


async def test_code_flow_with_pkce_logs_in_and_fetches_userinfo(rp: RelyingParty) -> None:
    url, pending = await rp.start_login(OFFLINE)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == [pending.state] and query["nonce"] == [pending.nonce]
    result = await login_via_dev_interactions(url)
    login = await rp.finish_login(pending, _params(result.url))
    assert login.sub == "alice"
    assert login.id_token_claims["nonce"] == pending.nonce
    assert login.userinfo is not None and login.userinfo["email"] == "alice@example.com"
    assert login.tokens.refresh_token and login.tokens.access_token


async def test_callback_replayed_with_another_pending_login_is_rejected(rp: RelyingParty) -> None:
    url, _pending = await rp.start_login(OFFLINE)
    result = await login_via_dev_interactions(url)
    _, other = await rp.start_login(OFFLINE)
    with pytest.raises(AuthorizationResponseError, match="state"):
        await rp.finish_login(other, _params(result.url))


async def test_refresh_changes_the_access_token_and_revalidates_the_id_token(
    rp: RelyingParty,
) -> None:
    login = await _login(rp)
    refreshed = await rp.refresh(login.tokens)
    assert refreshed.access_token != login.tokens.access_token
    assert refreshed.refresh_token
    assert refreshed.id_token


async def test_introspect_then_revoke_access_token(rp: RelyingParty) -> None:
    login = await _login(rp)
    assert login.tokens.access_token is not None
    active = await rp.introspect(login.tokens.access_token, "access_token")
    assert active["active"] is True
    await rp.revoke(login.tokens.access_token, "access_token")
    assert (await rp.introspect(login.tokens.access_token, "access_token"))["active"] is False


async def test_revoked_refresh_token_cannot_refresh(rp: RelyingParty) -> None:
    login = await _login(rp)
    assert login.tokens.refresh_token is not None
    await rp.revoke(login.tokens.refresh_token, "refresh_token")
    with pytest.raises(TokenErrorResponse) as caught:
        await rp.refresh(login.tokens)
    assert caught.value.error == "invalid_grant"


async def test_consent_denied_is_an_authorization_error(rp: RelyingParty) -> None:
    url, pending = await rp.start_login(OFFLINE)
    result = await login_via_dev_interactions(url, consent=False)
    with pytest.raises(AuthorizationErrorResponse) as caught:
        await rp.finish_login(pending, _params(result.url))
    assert caught.value.error == "access_denied"


@pytest.mark.parametrize(
    ("client_id", "values"),
    [
        ("post", {"token_endpoint_auth_method": "client_secret_post"}),
        ("jwt", {"token_endpoint_auth_method": "client_secret_jwt"}),
        (
            "pkjwt",
            {
                "token_endpoint_auth_method": "private_key_jwt",
                "client_secret": None,
                "client_private_key": json.dumps(EC_KEY.as_dict(private=True)),
            },
        ),
        ("public", {"token_endpoint_auth_method": "none", "client_secret": None}),
    ],
)
async def test_client_authentication_methods(
    op: NodeOP, tmp_path: Path, client_id: str, values: dict[str, Any]
) -> None:
    party = RelyingParty(_settings(op, tmp_path, client_id=client_id, **values))
    try:
        login = await _login(party, AuthorizationOptions(scope="openid"))
        assert login.sub == "alice"
    finally:
        await party.aclose()


async def test_signed_request_object_by_value(op: NodeOP, tmp_path: Path) -> None:
    key = json.dumps(RSA_KEY.as_dict(private=True))
    settings = _settings(op, tmp_path, client_id="signed-req", request_object_key=key)
    party = RelyingParty(settings)
    try:
        options = AuthorizationOptions(scope="openid", send_parameters_via="request_object")
        url, _ = await party.start_login(options)
        query = parse_qs(urlsplit(url).query)
        assert "request" in query and "state" not in query and "nonce" not in query
        login = await _login(party, options)
        assert login.sub == "alice"
    finally:
        await party.aclose()


async def test_pushed_authorization_request(rp: RelyingParty) -> None:
    options = AuthorizationOptions(scope="openid", send_parameters_via="par")
    url, _ = await rp.start_login(options)
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"client_id", "request_uri"}
    assert query["request_uri"][0].startswith("urn:ietf:params:oauth:request_uri:")
    login = await _login(rp, options)
    assert login.sub == "alice"


async def test_form_post_response_mode(rp: RelyingParty) -> None:
    login = await _login(rp, AuthorizationOptions(scope="openid", response_mode="form_post"))
    assert login.sub == "alice"


async def test_signed_userinfo_is_verified(op: NodeOP, tmp_path: Path) -> None:
    party = RelyingParty(
        _settings(op, tmp_path, client_id="signed-ui", userinfo_signed_response_alg="RS256")
    )
    try:
        login = await _login(party, AuthorizationOptions(scope="openid email"))
        assert login.userinfo is not None and login.userinfo["sub"] == "alice"
        assert login.userinfo["email"] == "alice@example.com"
    finally:
        await party.aclose()


async def test_dynamic_registration_then_login(op: NodeOP, tmp_path: Path) -> None:
    party = RelyingParty(_settings(op, tmp_path, client_id=None, client_secret=None))
    try:
        assert not party.is_registered
        registration = await party.register()
        assert party.is_dynamic and party.client_id == registration.client_id
        assert (tmp_path / "data" / "registration.json").stat().st_mode & 0o777 == 0o600
        login = await _login(party, AuthorizationOptions(scope="openid"))
        assert login.sub == "alice"
        # A new process picks the saved registration up.
        again = RelyingParty(party.settings)
        assert again.client_id == registration.client_id
        await again.clean_registration()
        assert not again.is_registered
        await again.aclose()
    finally:
        await party.aclose()


async def test_end_session_url_carries_the_logout_parameters(rp: RelyingParty) -> None:
    login = await _login(rp, AuthorizationOptions(scope="openid"))
    url = await rp.end_session_url(login.tokens, "logout-state")
    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert query["id_token_hint"] == [login.tokens.id_token]
    assert query["state"] == ["logout-state"]
    assert query["post_logout_redirect_uri"] == ["http://127.0.0.1:9/logged-out"]
    assert query["client_id"] == ["basic"]


async def test_features_are_read_from_discovery(rp: RelyingParty) -> None:
    features = await rp.features()
    assert features["revocation"] and features["introspection"] and features["par"]
    assert features["call_api"] is False
    with pytest.raises(NotSupportedError):
        await rp.call_api(TokenSet(access_token="x"))


def test_token_set_round_trips_and_rejects_malformed_records() -> None:
    tokens = TokenSet(access_token="a", refresh_token="r", id_token="i", expires_at=5)
    assert TokenSet.from_dict(tokens.to_dict()) == tokens
    with pytest.raises(Exception, match="malformed"):
        TokenSet.from_dict({"access_token": 5})


def test_pending_login_is_json_safe() -> None:
    pending = PendingLogin(
        state="s",
        nonce="n",
        code_verifier="v" * 43,
        redirect_uri=REDIRECT_URI,
        response_type="code",
        response_mode=None,
        scope="openid",
        max_age=None,
        acr_values=None,
        essential_acr=(),
        issuer="http://127.0.0.1:1",
        client_id="basic",
        created_at=1,
    )
    assert PendingLogin.from_dict(json.loads(json.dumps(pending.to_dict()))) == pending


async def test_audience_setting_is_sent_as_an_authorization_parameter(
    op: NodeOP, tmp_path: Path
) -> None:
    party = RelyingParty(_settings(op, tmp_path, audience="https://api.example"))
    try:
        url, _ = await party.start_login(AuthorizationOptions(scope="openid"))
        assert parse_qs(urlsplit(url).query)["audience"] == ["https://api.example"]
        explicit = AuthorizationOptions(scope="openid", extra={"audience": "urn:other"})
        url, _ = await party.start_login(explicit)
        assert parse_qs(urlsplit(url).query)["audience"] == ["urn:other"]
    finally:
        await party.aclose()


async def test_hybrid_code_id_token_flow_checks_c_hash_before_redeeming(
    op: NodeOP, tmp_path: Path
) -> None:
    party = RelyingParty(_settings(op, tmp_path, client_id="hybrid"))
    try:
        options = AuthorizationOptions(scope="openid", response_type="code id_token")
        url, pending = await party.start_login(options)
        result = await login_via_dev_interactions(url)
        params = _params(result.url)
        assert "id_token" in params and "code" in params  # delivered in the fragment
        # Another code than the one the ID token's c_hash covers: refused before redemption.
        with pytest.raises(IDTokenError, match="c_hash"):
            await party.finish_login(pending, {**params, "code": params["code"] + "x"})
        # So the real code is still unused and the login completes.
        login = await party.finish_login(pending, params)
        assert login.sub == "alice"
    finally:
        await party.aclose()
