"""RelyingParty with DPoP (RFC 9449) against node-oidc-provider: bound tokens, nonces, PAR."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
from joserfc.jwk import ECKey, OKPKey
from joserfc.jws import extract_compact
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from oidc_rp.client import RelyingParty
from oidc_rp.core.authorize import AuthorizationOptions
from oidc_rp.errors import NotSupportedError, TokenErrorResponse
from oidc_rp.http import Exchange
from oidc_rp.settings import Settings
from oidc_rp.tokens import TokenSet
from support.loopback import serve_app
from support.node_op import NodeOP, login_via_dev_interactions, start_node_op
from support.node_rp import OFFLINE, _client, _login, _params, _settings

pytestmark = pytest.mark.integration

EC_KEY = ECKey.generate_key("P-256", private=True)
ED_KEY = OKPKey.generate_key("Ed25519", private=True)
CLIENTS = [_client("basic"), _client("public", "none")]


def _op(tmp: Path, **extra: Any) -> NodeOP:
    return start_node_op(CLIENTS, tmp_dir=tmp, extra=extra)


@pytest.fixture(scope="module")
def op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeOP]:
    node_op = _op(tmp_path_factory.mktemp("node-op-dpop"))
    yield node_op
    node_op.stop()


@pytest.fixture(scope="module")
def nonce_op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeOP]:
    node_op = _op(
        tmp_path_factory.mktemp("node-op-dpop-nonce"),
        features={"dPoP": {"nonceSecret": "a test nonce secret", "requireNonce": True}},
    )
    yield node_op
    node_op.stop()


def _dpop_settings(op: NodeOP, tmp_path: Path, alg: str = "ES256", **values: Any) -> Settings:
    return _settings(op, tmp_path, dpop_signing_alg=alg, **values)


async def _introspect_jkt(op: NodeOP, tmp_path: Path, access_token: str) -> Any:
    """The cnf.jkt the OP bound the access token to (RFC 9449 §6.2), asked as a Bearer client."""
    plain = RelyingParty(_settings(op, tmp_path))
    try:
        answer = await plain.introspect(access_token, "access_token")
    finally:
        await plain.aclose()
    assert answer["active"] is True
    return answer.get("cnf", {}).get("jkt")


def _calls(exchanges: list[Exchange], path: str) -> list[Exchange]:
    return [e for e in exchanges if urlsplit(e.url).path == path]


@pytest.mark.parametrize(
    ("alg", "key"),
    [("ES256", None), ("Ed25519", ED_KEY)],
    ids=["ES256-generated-key", "Ed25519-configured-key"],
)
async def test_login_userinfo_and_refresh_with_bound_tokens(
    op: NodeOP, tmp_path: Path, alg: str, key: OKPKey | None
) -> None:
    values = {"dpop_key": json.dumps(key.as_dict(private=True))} if key else {}
    party = RelyingParty(_dpop_settings(op, tmp_path, alg, **values))
    exchanges: list[Exchange] = []
    try:
        url, pending = await party.start_login(OFFLINE)
        jkt = dict(parse_qsl(urlsplit(url).query))["dpop_jkt"]  # RFC 9449 §10
        if key is not None:
            assert jkt == key.thumbprint()
        result = await login_via_dev_interactions(url)
        login = await party.finish_login(pending, _params(result.url), trace=exchanges.append)
        assert login.tokens.token_type == "DPoP"
        # UserInfo took the DPoP-bound token with a proof (§7.1).
        assert login.userinfo is not None and login.userinfo_error is None
        assert login.userinfo["sub"] == "alice"
        assert login.tokens.access_token is not None
        assert await _introspect_jkt(op, tmp_path, login.tokens.access_token) == jkt
        # The proofs went out, and the trace shows none of them (nor the token).
        for exchange in _calls(exchanges, "/token") + _calls(exchanges, "/me"):
            assert exchange.request_headers["dpop"] == "[redacted]"
        me = _calls(exchanges, "/me")[0]
        assert me.request_headers["authorization"] == "[redacted]"
        # A refresh with a proof keeps the binding (RFC 9449 §5).
        refreshed = await party.refresh(login.tokens)
        assert refreshed.token_type == "DPoP" and refreshed.access_token is not None
        assert refreshed.access_token != login.tokens.access_token
        assert await _introspect_jkt(op, tmp_path, refreshed.access_token) == jkt
        assert (await party.userinfo(refreshed))["sub"] == "alice"
        # TokenSet keeps the type across a session store round trip.
        assert TokenSet.from_dict(refreshed.to_dict()).token_type == "DPoP"
    finally:
        await party.aclose()


async def test_a_bound_token_is_useless_as_a_bearer_token(op: NodeOP, tmp_path: Path) -> None:
    party = RelyingParty(_dpop_settings(op, tmp_path))
    try:
        login = await _login(party)
        assert login.tokens.access_token is not None
        async with httpx2.AsyncClient() as http:
            answer = await http.get(
                f"{op.issuer}/me", headers={"authorization": f"Bearer {login.tokens.access_token}"}
            )
        assert answer.status_code == 401
    finally:
        await party.aclose()


async def test_par_with_a_proof_binds_the_code(op: NodeOP, tmp_path: Path) -> None:
    party = RelyingParty(_dpop_settings(op, tmp_path))
    exchanges: list[Exchange] = []
    try:
        options = AuthorizationOptions(scope="openid", send_parameters_via="par")
        url, pending = await party.start_login(options, trace=exchanges.append)
        assert _calls(exchanges, "/request")[0].request_headers["dpop"] == "[redacted]"
        result = await login_via_dev_interactions(url)
        login = await party.finish_login(pending, _params(result.url))
        assert login.tokens.token_type == "DPoP" and login.userinfo is not None
    finally:
        await party.aclose()


async def test_public_client_refresh_token_is_bound_too(op: NodeOP, tmp_path: Path) -> None:
    values: dict[str, Any] = {
        "client_id": "public",
        "client_secret": None,
        "token_endpoint_auth_method": "none",
    }
    party = RelyingParty(_dpop_settings(op, tmp_path, **values))
    try:
        login = await _login(party)
        refreshed = await party.refresh(login.tokens)
        assert refreshed.token_type == "DPoP"
        # RFC 9449 §5: a public client's refresh token is bound to the key; another key fails.
        other = RelyingParty(_dpop_settings(op, tmp_path, **values))
        try:
            with pytest.raises(TokenErrorResponse) as info:
                await other.refresh(refreshed)
            assert (info.value.error, info.value.endpoint) == ("invalid_grant", "token")
        finally:
            await other.aclose()
    finally:
        await party.aclose()


async def test_server_nonces_are_answered_with_one_retry(nonce_op: NodeOP, tmp_path: Path) -> None:
    party = RelyingParty(_dpop_settings(nonce_op, tmp_path, api_endpoint=f"{nonce_op.issuer}/me"))
    exchanges: list[Exchange] = []
    try:
        url, pending = await party.start_login(OFFLINE)
        result = await login_via_dev_interactions(url)
        login = await party.finish_login(pending, _params(result.url), trace=exchanges.append)
        assert login.tokens.token_type == "DPoP" and login.userinfo is not None
        # §8: the token endpoint asks for a nonce (400 use_dpop_nonce), the retry succeeds.
        assert [e.status for e in _calls(exchanges, "/token")] == [400, 200]
        assert "use_dpop_nonce" in _calls(exchanges, "/token")[0].response_body
        # §9: the resource server (UserInfo) asks for its own with a 401, then answers.
        assert [e.status for e in _calls(exchanges, "/me")] == [401, 200]
        # The latest nonces are remembered: no more challenges.
        exchanges.clear()
        refreshed = await party.refresh(login.tokens, trace=exchanges.append)
        api = await party.call_api(refreshed, trace=exchanges.append)
        assert api.status == 200 and json.loads(api.body)["sub"] == "alice"
        assert [e.status for e in _calls(exchanges, "/token")] == [200]
        assert [e.status for e in _calls(exchanges, "/me")] == [200]
    finally:
        await party.aclose()


async def test_without_dpop_nothing_changes(op: NodeOP, tmp_path: Path) -> None:
    party = RelyingParty(_settings(op, tmp_path, api_endpoint=f"{op.issuer}/me"))
    exchanges: list[Exchange] = []
    try:
        url, pending = await party.start_login(OFFLINE, trace=exchanges.append)
        assert "dpop_jkt" not in dict(parse_qsl(urlsplit(url).query))
        result = await login_via_dev_interactions(url)
        login = await party.finish_login(pending, _params(result.url), trace=exchanges.append)
        assert login.tokens.token_type == "Bearer"
        refreshed = await party.refresh(login.tokens, trace=exchanges.append)
        assert (await party.call_api(refreshed, trace=exchanges.append)).status == 200
        assert exchanges and not [e for e in exchanges if "dpop" in e.request_headers]
        assert refreshed.access_token is not None
        assert await _introspect_jkt(op, tmp_path, refreshed.access_token) is None
    finally:
        await party.aclose()


async def test_an_algorithm_the_op_does_not_take_is_refused_before_login(
    op: NodeOP, tmp_path: Path
) -> None:
    party = RelyingParty(_dpop_settings(op, tmp_path, "PS256"))
    try:
        with pytest.raises(NotSupportedError) as info:
            await party.start_login(OFFLINE)
        assert info.value.rule == "dpop_signing_alg"
        assert "dpop_signing_alg_values_supported: ES256 Ed25519 EdDSA" in info.value.message
    finally:
        await party.aclose()


async def test_a_dpop_bound_session_needs_dpop_configured(op: NodeOP, tmp_path: Path) -> None:
    party = RelyingParty(_dpop_settings(op, tmp_path))
    try:
        login = await _login(party)
    finally:
        await party.aclose()
    plain = RelyingParty(_settings(op, tmp_path, api_endpoint=f"{op.issuer}/me"))
    try:
        with pytest.raises(NotSupportedError, match=r"^dpop_signing_alg: not set"):
            await plain.userinfo(login.tokens)
        api = await plain.call_api(login.tokens)
        assert api.status is None and api.error is not None and "DPoP-bound" in api.error
    finally:
        await plain.aclose()


def _challenging_api(seen: list[dict[str, Any]]) -> Callable[[str], Starlette]:
    """A resource server that demands a fresh nonce on every request (RFC 9449 §9)."""

    async def api(request: Request) -> Response:
        proof = extract_compact(request.headers["dpop"].encode())
        seen.append(
            {"authorization": request.headers["authorization"], **json.loads(proof.payload)}
        )
        challenge = (
            'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce"'
        )
        headers = {"www-authenticate": challenge, "dpop-nonce": f"nonce-{len(seen)}"}
        return JSONResponse({"error": "use_dpop_nonce"}, status_code=401, headers=headers)

    return lambda base_url: Starlette(routes=[Route("/api", api)])


async def test_a_resource_server_nonce_challenge_is_retried_once(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    with serve_app(_challenging_api(seen)) as base_url:
        settings = Settings.model_validate(
            {
                "issuer": "https://op.example",
                "client_id": "rp",
                "data_dir": str(tmp_path),
                "dpop_signing_alg": "ES256",
                "api_endpoint": f"{base_url}/api?q=1",
            }
        )
        party = RelyingParty(settings)
        tokens = TokenSet(access_token="at-1", token_type="DPoP")
        try:
            first = await party.call_api(tokens)
            second = await party.call_api(tokens)
        finally:
            await party.aclose()
    assert (first.status, second.status) == (401, 401)
    # One retry per call, with the nonce just given; the next call starts with the latest one.
    assert [claims.get("nonce") for claims in seen] == [None, "nonce-1", "nonce-2", "nonce-3"]
    for claims in seen:
        assert claims["authorization"] == "DPoP at-1"
        assert (claims["htm"], claims["htu"]) == ("GET", f"{base_url}/api")
        assert claims["ath"] == "R8PYaIQdcYEdkSc9TeGyiUqSAedmCQuOQImPRh1E3HI"
    assert len({claims["jti"] for claims in seen}) == 4
