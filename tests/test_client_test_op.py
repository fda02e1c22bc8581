"""RelyingParty against our own test OP, for what node-oidc-provider cannot play.

Dynamic registration protected by an initial access token (RFC 7591 §3), obtained with the
client credentials grant from dcr_client_id/dcr_client_secret as the original sample did
(Curity's way), and the rate limit on JWKS refetches when the OP rotates its keys.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest

from oidc_rp.client import JWKS_REFETCH_INTERVAL, Login, RelyingParty, TokenSet
from oidc_rp.core.authorize import AuthorizationOptions
from oidc_rp.errors import (
    ConfigurationError,
    IDTokenError,
    KeyNotFoundError,
    TokenErrorResponse,
)
from oidc_rp.settings import Settings
from support.node_rp import REDIRECT_URI, _params
from support.test_op import TestOP, run_test_op

pytestmark = pytest.mark.integration

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


async def test_refreshed_id_token_is_validated_even_without_an_earlier_one(
    test_op: TestOP, tmp_path: Path
) -> None:
    """A session whose TokenSet has no ID token must not store an unchecked one on refresh."""
    test_id = "refresh-token-invalid-issuer"  # the refresh response's ID token has iss + "1"
    test_op.reset(test_id)
    test_op.register_client(
        test_id,
        {"client_id": "ref", "client_secret": DCR_SECRET, "redirect_uris": [REDIRECT_URI]},
    )
    party = RelyingParty(_settings_for(test_op.issuer(test_id), tmp_path, client_id="ref"))
    try:
        login = await _auto_login(party)
        without_id_token = replace(login.tokens, id_token=None)
        with pytest.raises(IDTokenError, match=r"^id_token\.iss"):
            await party.refresh(without_id_token)
    finally:
        await party.aclose()


async def test_a_registered_method_without_its_credential_is_a_configuration_error(
    test_op: TestOP, tmp_path: Path
) -> None:
    """The registration says private_key_jwt but no key is configured: a clear error."""
    test_id = "refresh-token"
    test_op.reset(test_id)
    registration = {
        "client_id": "pk",
        "client_secret": None,
        "token_endpoint_auth_method": "private_key_jwt",
    }
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "registration.json").write_text(json.dumps(registration))
    settings = _settings_for(test_op.issuer(test_id), tmp_path, client_secret=None)
    party = RelyingParty(settings)
    try:
        assert party.client_id == "pk"
        with pytest.raises(ConfigurationError, match=r"^token_endpoint_auth_method: "):
            await party.refresh(TokenSet(access_token="a", refresh_token="r"))
    finally:
        await party.aclose()
