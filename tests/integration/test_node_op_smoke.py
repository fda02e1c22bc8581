"""Smoke tests of the test OP (node-oidc-provider) with plain httpx2 and joserfc.

They prove tests/op_node and tests/support/node_op.py work, and document how the OP behaves
for the integration tests of oidc-rp: the code flow with PKCE (OIDC Core §3.1, RFC 7636), the
iss parameter (RFC 9207), token, refresh, revocation (RFC 7009), introspection (RFC 7662),
UserInfo (OIDC Core §5.3), dynamic registration (RFC 7591), PAR (RFC 9126), request objects
(RFC 9101), RP-Initiated and Back-Channel Logout. No code of oidc-rp is used here.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from support.node_op import (
    AuthorizationResult,
    NodeOP,
    login_via_dev_interactions,
    logout_via_end_session,
    start_node_op,
)

pytestmark = pytest.mark.integration

CLIENT_ID = "rp-test"
CLIENT_SECRET = "rp-test-secret-0123456789abcdef0123456789"
REDIRECT_URI = "http://127.0.0.1:9/callback"
RP_TEST = {
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "redirect_uris": [REDIRECT_URI],
    "grant_types": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_method": "client_secret_basic",
}


@pytest.fixture(scope="module")
def op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeOP]:
    """node-oidc-provider with the one confidential client rp-test."""
    node_op = start_node_op([RP_TEST], tmp_dir=tmp_path_factory.mktemp("node-op"))
    yield node_op
    node_op.stop()
    assert node_op.process.returncode == 0, node_op.log()


@pytest.fixture(scope="module")
def metadata(op: NodeOP) -> dict[str, Any]:
    """The OP's discovery document (OpenID Connect Discovery 1.0 §4)."""
    response = httpx2.get(f"{op.issuer}/.well-known/openid-configuration")
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def pkce_pair() -> tuple[str, str]:
    """A code_verifier and its S256 code_challenge (RFC 7636 §4.1-§4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Login:
    """One authorization request: its secrets and, once logged in, the response params."""

    def __init__(self, metadata: dict[str, Any], client_id: str = CLIENT_ID, **extra: str):
        self.state = secrets.token_urlsafe(16)
        self.nonce = secrets.token_urlsafe(16)
        self.verifier, challenge = pkce_pair()
        self.params = {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        self.url = f"{metadata['authorization_endpoint']}?{urlencode(self.params)}"


def query_of(result: AuthorizationResult) -> dict[str, str]:
    """The single-valued query parameters of the redirect to the client."""
    assert result.url.startswith(REDIRECT_URI + "?"), result.url
    return {key: values[0] for key, values in parse_qs(urlsplit(result.url).query).items()}


async def code_for(login: Login, **kwargs: Any) -> str:
    """Log alice in and return the authorization code, checking state and iss on the way."""
    params = query_of(await login_via_dev_interactions(login.url, **kwargs))
    assert params["state"] == login.state
    assert "code" in params, params
    return params["code"]


async def exchange(metadata: dict[str, Any], login: Login, code: str) -> dict[str, Any]:
    """Token request with client_secret_basic (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    async with httpx2.AsyncClient(auth=(CLIENT_ID, CLIENT_SECRET)) as client:
        response = await client.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": login.verifier,
            },
        )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def op_keys(metadata: dict[str, Any]) -> KeySet:
    """The OP's JWK Set from jwks_uri."""
    async with httpx2.AsyncClient() as client:
        response = await client.get(metadata["jwks_uri"])
    return KeySet.import_key_set(response.json())


async def test_discovery_document(op: NodeOP, metadata: dict[str, Any]) -> None:
    assert metadata["issuer"] == op.issuer
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["request_parameter_supported"] is True
    assert metadata["request_uri_parameter_supported"] is False
    assert metadata["claims_parameter_supported"] is True
    assert metadata["backchannel_logout_supported"] is True
    assert set(metadata["id_token_signing_alg_values_supported"]) == {
        "RS256",
        "PS256",
        "ES256",
        "Ed25519",
        "EdDSA",
    }
    assert {"openid", "profile", "email", "offline_access"} <= set(metadata["scopes_supported"])
    for endpoint in (
        "end_session_endpoint",
        "pushed_authorization_request_endpoint",
        "registration_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "userinfo_endpoint",
    ):
        assert metadata[endpoint].startswith(op.issuer + "/"), endpoint
    assert "resource_indicators_supported" not in metadata


async def test_code_flow_id_token_refresh_userinfo(op: NodeOP, metadata: dict[str, Any]) -> None:
    login = Login(metadata)
    result = await login_via_dev_interactions(login.url, username="alice")
    params = query_of(result)
    assert result.form is None
    assert params["iss"] == op.issuer
    assert params["state"] == login.state
    tokens = await exchange(metadata, login, params["code"])
    assert tokens["token_type"] == "Bearer"
    assert {"access_token", "id_token", "refresh_token", "expires_in"} <= set(tokens)

    id_token = jwt.decode(tokens["id_token"], await op_keys(metadata), algorithms=["RS256"])
    claims = id_token.claims
    assert id_token.header["alg"] == "RS256"
    assert (claims["iss"], claims["aud"], claims["sub"]) == (op.issuer, CLIENT_ID, "alice")
    assert claims["nonce"] == login.nonce
    # Only these: no auth_time (ask with max_age), no sid (unless the client registers
    # backchannel_logout_session_required), no at_hash, and the scope claims (email, ...)
    # go to UserInfo when an access token is issued (OIDC Core §5.4).
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "nonce"}

    async with httpx2.AsyncClient(auth=(CLIENT_ID, CLIENT_SECRET)) as client:
        refreshed = await client.post(
            metadata["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        assert refreshed.status_code == 200, refreshed.text
        assert {"access_token", "id_token"} <= set(refreshed.json())

        userinfo = await client.get(
            metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"},
            auth=None,
        )
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.headers["content-type"].startswith("application/json")
    assert userinfo.json()["sub"] == "alice"
    assert userinfo.json()["email"] == "alice@example.com"
    assert userinfo.json()["name"] == "Alice Example"


async def test_introspection_and_revocation(metadata: dict[str, Any]) -> None:
    login = Login(metadata)
    tokens = await exchange(metadata, login, await code_for(login, username="bob"))
    access_token = tokens["access_token"]
    async with httpx2.AsyncClient(auth=(CLIENT_ID, CLIENT_SECRET)) as client:
        before = await client.post(metadata["introspection_endpoint"], data={"token": access_token})
        assert before.json()["active"] is True
        assert before.json()["sub"] == "bob"
        assert before.json()["client_id"] == CLIENT_ID

        revoked = await client.post(
            metadata["revocation_endpoint"],
            data={"token": access_token, "token_type_hint": "access_token"},
        )
        assert revoked.status_code == 200
        after = await client.post(metadata["introspection_endpoint"], data={"token": access_token})
    assert after.json() == {"active": False}


async def test_consent_denied_returns_access_denied(op: NodeOP, metadata: dict[str, Any]) -> None:
    login = Login(metadata)
    params = query_of(await login_via_dev_interactions(login.url, consent=False))
    assert params["error"] == "access_denied"
    assert params["state"] == login.state
    assert params["iss"] == op.issuer
    assert "code" not in params


async def test_form_post_response_mode(op: NodeOP, metadata: dict[str, Any]) -> None:
    login = Login(metadata, response_mode="form_post")
    result = await login_via_dev_interactions(login.url)
    assert result.url == REDIRECT_URI
    assert result.form is not None
    assert result.form["state"] == login.state
    assert result.form["iss"] == op.issuer
    assert "code" in result.form


async def test_missing_pkce_is_refused(metadata: dict[str, Any]) -> None:
    login = Login(metadata)
    del login.params["code_challenge"], login.params["code_challenge_method"]
    url = f"{metadata['authorization_endpoint']}?{urlencode(login.params)}"
    async with httpx2.AsyncClient() as client:
        response = await client.get(url)
    params = query_of(AuthorizationResult(url=response.headers["location"]))
    assert params["error"] == "invalid_request"
    assert params["error_description"] == (
        "Authorization Server policy requires PKCE to be used for this request"
    )


async def register(metadata: dict[str, Any], **client_metadata: Any) -> dict[str, Any]:
    """Dynamic Client Registration (RFC 7591 §3.1), no initial access token."""
    async with httpx2.AsyncClient() as client:
        response = await client.post(
            metadata["registration_endpoint"],
            json={"redirect_uris": [REDIRECT_URI], **client_metadata},
        )
    assert response.status_code == 201, response.text
    registered: dict[str, Any] = response.json()
    return registered


async def test_dynamic_registration(metadata: dict[str, Any]) -> None:
    registered = await register(
        metadata, client_name="Registered RP", id_token_signed_response_alg="Ed25519"
    )
    assert registered["redirect_uris"] == [REDIRECT_URI]
    assert registered["client_secret"]
    assert registered["token_endpoint_auth_method"] == "client_secret_basic"
    assert registered["id_token_signed_response_alg"] == "Ed25519"

    login = Login(metadata, client_id=registered["client_id"])
    code = await code_for(login)
    async with httpx2.AsyncClient(
        auth=(registered["client_id"], registered["client_secret"])
    ) as client:
        response = await client.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": login.verifier,
            },
        )
    assert "refresh_token" not in response.json()  # grant_types defaults to authorization_code
    id_token = jwt.decode(response.json()["id_token"], await op_keys(metadata), ["Ed25519"])
    assert id_token.claims["aud"] == registered["client_id"]


async def test_pushed_authorization_request(metadata: dict[str, Any]) -> None:
    login = Login(metadata)
    async with httpx2.AsyncClient(auth=(CLIENT_ID, CLIENT_SECRET)) as client:
        response = await client.post(
            metadata["pushed_authorization_request_endpoint"], data=login.params
        )
    assert response.status_code == 201, response.text
    request_uri = response.json()["request_uri"]
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:")
    assert response.json()["expires_in"] > 0

    query = urlencode({"client_id": CLIENT_ID, "request_uri": request_uri})
    code = await code_for(_with_url(login, f"{metadata['authorization_endpoint']}?{query}"))
    assert (await exchange(metadata, login, code))["id_token"]


def _with_url(login: Login, url: str) -> Login:
    login.url = url
    return login


async def test_signed_request_object_and_jwt_userinfo(op: NodeOP, metadata: dict[str, Any]) -> None:
    client_key = ECKey.generate_key("P-256", parameters={"kid": "rp-key-1"})
    registered = await register(
        metadata,
        jwks={"keys": [client_key.as_dict(private=False)]},
        request_object_signing_alg="ES256",
        id_token_signed_response_alg="ES256",
        userinfo_signed_response_alg="ES256",
    )
    client_id = registered["client_id"]
    login = Login(metadata, client_id=client_id)
    now = int(time.time())
    request_object = jwt.encode(
        {"alg": "ES256", "kid": "rp-key-1", "typ": "oauth-authz-req+jwt"},
        {**login.params, "iss": client_id, "aud": op.issuer, "iat": now, "exp": now + 300},
        client_key,
    )
    query = {"client_id": client_id, "response_type": "code", "scope": "openid"}
    url = f"{metadata['authorization_endpoint']}?{urlencode({**query, 'request': request_object})}"
    code = await code_for(_with_url(login, url))

    async with httpx2.AsyncClient(auth=(client_id, registered["client_secret"])) as client:
        tokens = (
            await client.post(
                metadata["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT_URI,
                    "code_verifier": login.verifier,
                },
            )
        ).json()
        userinfo = await client.get(
            metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            auth=None,
        )
    keys = await op_keys(metadata)
    assert jwt.decode(tokens["id_token"], keys, ["ES256"]).claims["nonce"] == login.nonce
    assert userinfo.headers["content-type"].startswith("application/jwt")
    signed = jwt.decode(userinfo.text, keys, ["ES256"]).claims
    assert (signed["sub"], signed["iss"], signed["aud"]) == ("alice", op.issuer, client_id)


class _LogoutReceiver(BaseHTTPRequestHandler):
    """Records the logout_token of each Back-Channel Logout request it receives."""

    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode("ascii")
        self.received.append(parse_qs(body)["logout_token"][0])
        self.send_response(200)
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr logging."""


@pytest.fixture
def logout_receiver() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server standing in for the RP's backchannel_logout_uri."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LogoutReceiver)
    _LogoutReceiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/backchannel", _LogoutReceiver.received
    server.shutdown()
    server.server_close()
    thread.join()


async def test_rp_initiated_and_backchannel_logout(
    op: NodeOP, metadata: dict[str, Any], logout_receiver: tuple[str, list[str]], tmp_path: Path
) -> None:
    backchannel_uri, received = logout_receiver
    post_logout = "http://127.0.0.1:9/logged-out"
    registered = await register(
        metadata,
        post_logout_redirect_uris=[post_logout],
        backchannel_logout_uri=backchannel_uri,
        backchannel_logout_session_required=True,
    )
    client_id = registered["client_id"]
    login = Login(metadata, client_id=client_id)
    async with httpx2.AsyncClient() as browser:
        code = await code_for(login, cookies_client=browser)
        async with httpx2.AsyncClient(auth=(client_id, registered["client_secret"])) as client:
            tokens = (
                await client.post(
                    metadata["token_endpoint"],
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": REDIRECT_URI,
                        "code_verifier": login.verifier,
                    },
                )
            ).json()
        query = urlencode(
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": post_logout,
                "state": "logout-state",
            }
        )
        final = await logout_via_end_session(
            f"{metadata['end_session_endpoint']}?{query}", cookies_client=browser
        )
    assert final == f"{post_logout}?state=logout-state"
    assert len(received) == 1, op.log()
    keys = await op_keys(metadata)
    sid = jwt.decode(tokens["id_token"], keys, ["RS256"]).claims["sid"]
    logout = jwt.decode(received[0], keys, ["RS256"])
    assert logout.header["typ"] == "logout+jwt"
    assert logout.claims["sid"] == sid
    assert logout.claims["sub"] == "alice"
    assert "http://schemas.openid.net/event/backchannel-logout" in logout.claims["events"]
    assert "nonce" not in logout.claims


async def test_unregistered_redirect_uri_is_an_error_page(metadata: dict[str, Any]) -> None:
    login = Login(metadata, redirect_uri="http://127.0.0.1:9/other")
    with pytest.raises(RuntimeError, match=r"400 .* error : invalid_redirect_uri"):
        await login_via_dev_interactions(login.url)
