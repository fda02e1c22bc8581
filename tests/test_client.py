"""RelyingParty against node-oidc-provider (a certified OP) on loopback: every round trip.

Each test drives the library API the way the web app does: start_login -> the OP's dev
login and consent pages (posted programmatically) -> finish_login -> the follow-ups.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx2
import pytest
from joserfc.jwk import ECKey, RSAKey

from oidc_rp.client import JWKS_REFETCH_INTERVAL, Login, RelyingParty, TokenSet
from oidc_rp.core.authorize import AuthorizationOptions
from oidc_rp.core.transaction import PendingLogin
from oidc_rp.errors import (
    AuthorizationErrorResponse,
    AuthorizationResponseError,
    IDTokenError,
    KeyNotFoundError,
    NotSupportedError,
    TokenErrorResponse,
)
from oidc_rp.http import Exchange
from oidc_rp.settings import Settings
from support.node_op import NodeOP, login_via_dev_interactions, start_node_op
from support.test_op import TestOP, run_test_op

pytestmark = pytest.mark.integration

REDIRECT_URI = "http://127.0.0.1:9/callback"
SECRET = "rp-client-secret-0123456789abcdef0123456789abcdef"
RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "rp-rsa"}, private=True)
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "rp-ec"}, private=True)


def _client(client_id: str, method: str = "client_secret_basic", **extra: Any) -> dict[str, Any]:
    client: dict[str, Any] = {
        "client_id": client_id,
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": ["http://127.0.0.1:9/logged-out"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
        **extra,
    }
    if method != "private_key_jwt" and method != "none":
        client["client_secret"] = SECRET
    return client


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


def _settings(op: NodeOP, tmp_path: Path, **values: Any) -> Settings:
    base: dict[str, Any] = {
        "issuer": op.issuer,
        "client_id": "basic",
        "client_secret": SECRET,
        "redirect_uri": REDIRECT_URI,
        "post_logout_redirect_uri": "http://127.0.0.1:9/logged-out",
        "scope": "openid profile email offline_access",
        "data_dir": str(tmp_path / "data"),
    }
    base.update(values)
    return Settings.model_validate(base)


@pytest.fixture
async def rp(op: NodeOP, tmp_path: Path) -> AsyncIterator[RelyingParty]:
    party = RelyingParty(_settings(op, tmp_path))
    yield party
    await party.aclose()


def _params(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return dict(parse_qsl(parts.query or parts.fragment))


OFFLINE = AuthorizationOptions(scope="openid profile email offline_access", prompt="consent")


async def _login(rp: RelyingParty, options: AuthorizationOptions = OFFLINE, **kw: Any) -> Login:
    url, pending = await rp.start_login(options, **kw)
    result = await login_via_dev_interactions(url)
    params = result.form if result.form is not None else _params(result.url)
    return await rp.finish_login(pending, params)


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


# Dynamic registration protected by an initial access token (RFC 7591 §3), obtained with the
# client credentials grant from dcr_client_id/dcr_client_secret as the original sample did
# (Curity's way). node-oidc-provider has no such mode, so our own test OP plays the OP.

DCR_SECRET = "dcr-client-secret-0123456789abcdef0123456789"


@pytest.fixture(scope="module")
def test_op() -> Iterator[TestOP]:
    with run_test_op() as running:
        yield running


def _dcr_test_id(test_op: TestOP) -> str:
    """A fresh dynamic-registration issuer with the DCR client of the sample's settings."""
    test_id = "dynamic-registration"
    test_op.reset(test_id)
    test_op.register_client(
        test_id,
        {
            "client_id": "dcr-client",
            "client_secret": DCR_SECRET,
            "redirect_uris": ["http://127.0.0.1:9/unused"],
            "grant_types": ["client_credentials"],
        },
    )
    return test_id


async def test_registration_with_initial_access_token_and_template_client(
    test_op: TestOP, tmp_path: Path
) -> None:
    test_id = _dcr_test_id(test_op)
    settings = _settings_for(
        test_op.issuer(test_id),
        tmp_path,
        client_secret=None,
        dcr_client_id="dcr-client",
        dcr_client_secret=DCR_SECRET,
        template_client="template-one",
    )
    party = RelyingParty(settings)
    try:
        registration = await party.register()
    finally:
        await party.aclose()
    calls = test_op.calls(test_id)
    token_call = next(c for c in calls if c.endpoint == "token")
    assert token_call.form["grant_type"] == "client_credentials"
    assert token_call.form["scope"] == "dcr"
    assert token_call.headers["authorization"].startswith("Basic ")
    register_call = next(c for c in calls if c.endpoint == "registration")
    assert register_call.headers["authorization"].startswith("Bearer ")
    assert register_call.json["software_id"] == "template-one"
    assert register_call.json["redirect_uris"] == [REDIRECT_URI]
    assert registration.client_id != "dcr-client" and registration.client_secret


async def test_registration_refused_without_a_valid_initial_access_token(
    test_op: TestOP, tmp_path: Path
) -> None:
    test_id = _dcr_test_id(test_op)
    settings = _settings_for(
        test_op.issuer(test_id),
        tmp_path,
        client_secret=None,
        dcr_client_id="dcr-client",
        dcr_client_secret="wrong-secret-0123456789abcdef0123456789",
    )
    party = RelyingParty(settings)
    try:
        with pytest.raises(TokenErrorResponse) as caught:
            await party.register()
    finally:
        await party.aclose()
    assert caught.value.error == "invalid_client"
    assert not (tmp_path / "data" / "registration.json").exists()
    assert not any(c.endpoint == "registration" for c in test_op.calls(test_id))


async def _auto_login(party: RelyingParty) -> Login:
    """The test OP approves at once: its 302 carries the authorization response."""
    url, pending = await party.start_login(AuthorizationOptions(scope="openid"))
    async with httpx2.AsyncClient() as browser:
        answer = await browser.get(url)
    assert answer.status_code in (302, 303), answer.text
    return await party.finish_login(pending, _params(answer.headers["location"]))


async def test_unknown_kid_refetch_is_rate_limited(test_op: TestOP, tmp_path: Path) -> None:
    """OIDC Core §10.1.1 rotation: one refetch per interval, however many unknown kids."""
    test_id = "signing-key-rotation"  # the OP replaces its keys at the second login
    test_op.reset(test_id)
    test_op.register_client(
        test_id,
        {"client_id": "rot", "client_secret": DCR_SECRET, "redirect_uris": [REDIRECT_URI]},
    )
    now = [time.time()]
    settings = _settings_for(test_op.issuer(test_id), tmp_path, client_id="rot")
    party = RelyingParty(settings, clock=lambda: now[0])
    try:
        await _auto_login(party)
        # The keys changed, but the set was fetched a moment ago: no refetch yet.
        with pytest.raises(KeyNotFoundError):
            await _auto_login(party)
        jwks_calls = [c for c in test_op.calls(test_id) if c.endpoint == "jwks"]
        assert len(jwks_calls) == 1
        now[0] += JWKS_REFETCH_INTERVAL
        assert (await _auto_login(party)).sub
        assert len([c for c in test_op.calls(test_id) if c.endpoint == "jwks"]) == 2
    finally:
        await party.aclose()


def _settings_for(issuer: str, tmp_path: Path, **values: Any) -> Settings:
    return Settings.model_validate(
        {
            "issuer": issuer,
            "client_secret": DCR_SECRET,
            "redirect_uri": REDIRECT_URI,
            "data_dir": str(tmp_path / "data"),
            **values,
        }
    )


# Encrypted ID tokens and UserInfo (OIDC Core §10.2, Registration §2) -----------------

ENC_KEY = RSAKey.generate_key(2048, parameters={"kid": "rp-enc"}, private=True)
ENC_JWKS = {"keys": [{**ENC_KEY.as_dict(private=False), "use": "enc", "alg": "RSA-OAEP-256"}]}
ENC_CLIENTS = [
    _client("plain"),
    _client("enc-idt", jwks=ENC_JWKS, id_token_encrypted_response_alg="RSA-OAEP-256"),
    _client(
        "enc-ui",
        jwks=ENC_JWKS,
        userinfo_encrypted_response_alg="RSA-OAEP-256",
        userinfo_encrypted_response_enc="A256GCM",
        userinfo_signed_response_alg="RS256",
    ),
    _client(
        "enc-kw",
        id_token_encrypted_response_alg="A128KW",
        userinfo_encrypted_response_alg="dir",
        userinfo_encrypted_response_enc="A128CBC-HS256",
        userinfo_signed_response_alg="RS256",
    ),
]


@pytest.fixture(scope="module")
def enc_op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeOP]:
    node_op = start_node_op(
        ENC_CLIENTS,
        tmp_dir=tmp_path_factory.mktemp("node-op-enc"),
        extra={"features": {"encryption": {"enabled": True}}},
    )
    yield node_op
    node_op.stop()


def _enc_settings(op: NodeOP, tmp_path: Path, client_id: str | None, **values: Any) -> Settings:
    return _settings(op, tmp_path, client_id=client_id, **values)


ENC_KEY_JSON = json.dumps(ENC_KEY.as_dict(private=True))


async def test_encrypted_id_token_rsa_oaep_256(enc_op: NodeOP, tmp_path: Path) -> None:
    settings = _enc_settings(
        enc_op,
        tmp_path,
        "enc-idt",
        id_token_encrypted_response_alg="RSA-OAEP-256",
        client_encryption_key=ENC_KEY_JSON,
    )
    party = RelyingParty(settings)
    try:
        published = party.public_jwks()["keys"]
        assert [(k["kid"], k["use"], k["alg"]) for k in published] == [
            ("rp-enc", "enc", "RSA-OAEP-256")
        ]
        assert "d" not in published[0]
        login = await _login(party)
        assert login.sub == "alice" and login.userinfo is not None
        # The session keeps the signed inner JWT (RP-Initiated Logout §2: id_token_hint).
        assert login.tokens.id_token is not None and login.tokens.id_token.count(".") == 2
        # OIDC Core §12.2: the refreshed ID token comes encrypted too and is checked.
        exchanges: list[Exchange] = []
        refreshed = await party.refresh(login.tokens, trace=exchanges.append)
        assert '"id_token"' in exchanges[-1].response_body  # redacted, but it was there
        assert refreshed.id_token is not None and refreshed.id_token.count(".") == 2
    finally:
        await party.aclose()


async def test_encrypted_userinfo_signed_then_encrypted(enc_op: NodeOP, tmp_path: Path) -> None:
    settings = _enc_settings(
        enc_op,
        tmp_path,
        "enc-ui",
        userinfo_encrypted_response_alg="RSA-OAEP-256",
        userinfo_encrypted_response_enc="A256GCM",
        userinfo_signed_response_alg="RS256",
        client_encryption_key=ENC_KEY_JSON,
    )
    party = RelyingParty(settings)
    try:
        login = await _login(party, AuthorizationOptions(scope="openid email"))
        assert login.userinfo is not None and login.userinfo["email"] == "alice@example.com"
        assert login.userinfo["iss"] == enc_op.issuer
    finally:
        await party.aclose()


async def test_encryption_with_keys_derived_from_the_client_secret(
    enc_op: NodeOP, tmp_path: Path
) -> None:
    settings = _enc_settings(
        enc_op,
        tmp_path,
        "enc-kw",
        id_token_encrypted_response_alg="A128KW",
        userinfo_encrypted_response_alg="dir",
        userinfo_signed_response_alg="RS256",
    )
    party = RelyingParty(settings)
    try:
        login = await _login(party, AuthorizationOptions(scope="openid email"))
        assert login.sub == "alice"
        assert login.userinfo is not None and login.userinfo["email"] == "alice@example.com"
    finally:
        await party.aclose()


@pytest.mark.parametrize(
    ("client_id", "values", "rule"),
    [
        # Encryption negotiated (in our settings) but the OP's client does not encrypt.
        (
            "plain",
            {"id_token_encrypted_response_alg": "A128KW"},
            "id_token.jwe: not encrypted, although encryption was negotiated",
        ),
        # The OP encrypts, but this RP expects nothing of the kind.
        ("enc-kw", {}, "id_token.jwe: encrypted, but no encryption is configured"),
        # The OP encrypts with A128KW; the RP is configured for another algorithm.
        (
            "enc-kw",
            {"id_token_encrypted_response_alg": "A256KW"},
            "id_token.jwe.alg: 'A128KW' is not the negotiated 'A256KW'",
        ),
    ],
    ids=["unencrypted", "unexpected-jwe", "other-alg"],
)
async def test_encrypted_id_token_mismatches_are_rejected(
    enc_op: NodeOP, tmp_path: Path, client_id: str, values: dict[str, Any], rule: str
) -> None:
    party = RelyingParty(_enc_settings(enc_op, tmp_path, client_id, **values))
    try:
        with pytest.raises(IDTokenError) as info:
            await _login(party, AuthorizationOptions(scope="openid"))
        assert str(info.value).startswith(rule)
    finally:
        await party.aclose()


async def test_dynamic_registration_asks_for_encryption(enc_op: NodeOP, tmp_path: Path) -> None:
    settings = _enc_settings(
        enc_op,
        tmp_path,
        None,
        client_secret=None,
        id_token_encrypted_response_alg="RSA-OAEP",
        id_token_encrypted_response_enc="A256GCM",
        userinfo_encrypted_response_alg="RSA-OAEP",
        # node-oidc-provider wants it with userinfo encryption (signed, then encrypted).
        userinfo_signed_response_alg="RS256",
        client_encryption_key=ENC_KEY_JSON,
    )
    party = RelyingParty(settings)
    try:
        registration = await party.register()
        assert registration.raw["id_token_encrypted_response_alg"] == "RSA-OAEP"
        assert registration.raw["id_token_encrypted_response_enc"] == "A256GCM"
        assert registration.raw["userinfo_encrypted_response_enc"] == "A128CBC-HS256"
        assert registration.raw["jwks"]["keys"][0]["use"] == "enc"
        login = await _login(party, AuthorizationOptions(scope="openid email"))
        assert login.userinfo is not None and login.userinfo["email"] == "alice@example.com"
    finally:
        await party.aclose()
