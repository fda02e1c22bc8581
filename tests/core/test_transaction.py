"""Tests for oidc_rp.core.transaction: the pending login record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oidc_rp.core.transaction import DEFAULT_TTL, PendingLogin
from oidc_rp.errors import LoginStateError


def make_pending(**changes: Any) -> PendingLogin:
    values: dict[str, Any] = {
        "state": "s" * 43,
        "nonce": "n" * 43,
        "code_verifier": "v" * 64,
        "redirect_uri": "https://rp.example/callback",
        "response_type": "code",
        "response_mode": None,
        "scope": "openid profile",
        "max_age": 300,
        "acr_values": "urn:acr:mfa",
        "essential_acr": ("urn:acr:mfa",),
        "issuer": "https://op.example",
        "client_id": "client-1",
        "created_at": 1_700_000_000,
        "send_parameters_via": "query",
    }
    values.update(changes)
    return PendingLogin(**values)


def test_round_trip_through_json() -> None:
    pending = make_pending()
    data = json.loads(json.dumps(pending.to_dict()))
    assert PendingLogin.from_dict(data) == pending


def test_round_trip_with_optional_values_absent() -> None:
    pending = make_pending(
        max_age=None, acr_values=None, essential_acr=(), response_mode="form_post"
    )
    assert PendingLogin.from_dict(pending.to_dict()) == pending


def test_essential_acr_defaults_to_empty_when_absent() -> None:
    data = make_pending().to_dict()
    del data["essential_acr"]
    assert PendingLogin.from_dict(data).essential_acr == ()


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        pytest.param({"state": None}, "pending_login.state", id="state-missing"),
        pytest.param({"nonce": 5}, "pending_login.nonce", id="nonce-not-string"),
        pytest.param({"issuer": None}, "pending_login.issuer", id="issuer-missing"),
        pytest.param({"response_mode": 1}, "pending_login.response_mode", id="mode-not-string"),
        pytest.param({"acr_values": ["x"]}, "pending_login.acr_values", id="acr-not-string"),
        pytest.param({"max_age": "300"}, "pending_login.max_age", id="max-age-string"),
        pytest.param({"max_age": True}, "pending_login.max_age", id="max-age-bool"),
        pytest.param({"created_at": None}, "pending_login.created_at", id="created-missing"),
        pytest.param({"created_at": 1.5}, "pending_login.created_at", id="created-float"),
        pytest.param({"essential_acr": "x"}, "pending_login.essential_acr", id="acr-not-list"),
        pytest.param({"essential_acr": [1]}, "pending_login.essential_acr", id="acr-not-strings"),
    ],
)
def test_from_dict_rejects_malformed_records(change: dict[str, Any], rule: str) -> None:
    data = {**make_pending().to_dict(), **change}
    with pytest.raises(LoginStateError) as caught:
        PendingLogin.from_dict(data)
    assert caught.value.code == "invalid_state"
    assert caught.value.rule == rule


@pytest.mark.parametrize("record", [None, [], "state"])
def test_from_dict_rejects_records_that_are_not_objects(record: Any) -> None:
    with pytest.raises(LoginStateError) as caught:
        PendingLogin.from_dict(record)
    assert caught.value.rule == "pending_login"


@pytest.mark.parametrize(
    ("age", "expired"),
    [
        pytest.param(0, False, id="fresh"),
        pytest.param(DEFAULT_TTL - 1, False, id="last-second"),
        pytest.param(DEFAULT_TTL, True, id="at-ttl"),
        pytest.param(DEFAULT_TTL + 1000, True, id="long-gone"),
    ],
)
def test_is_expired_with_default_ttl(age: int, expired: bool) -> None:
    pending = make_pending()
    assert pending.is_expired(pending.created_at + age) is expired


def test_is_expired_with_custom_ttl() -> None:
    pending = make_pending()
    assert not pending.is_expired(pending.created_at + 59, ttl=60)
    assert pending.is_expired(pending.created_at + 60, ttl=60)


@pytest.mark.parametrize("secret", ["state", "nonce", "code_verifier"])
def test_repr_shows_no_secret_of_the_login(secret: str) -> None:
    pending = make_pending(**{secret: f"SECRET-{secret}-value"})
    assert f"SECRET-{secret}-value" not in repr(pending)
    assert "https://rp.example/callback" in repr(pending)  # what is not secret still shows
