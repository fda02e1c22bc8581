"""The dynamic registration file: atomic, owner-only, tolerant of a damaged file."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from oidc_rp.core.registration import ClientRegistration
from oidc_rp.registry import RegistrationFile

SECRET = "dcr-secret-0123456789"
REGISTRATION = ClientRegistration.from_dict(
    {
        "client_id": "dyn-1",
        "client_secret": SECRET,
        "client_secret_expires_at": 0,
        "registration_access_token": "rat-abc",
        "registration_client_uri": "https://op.example/reg/dyn-1",
        "redirect_uris": ["https://rp.example/callback"],
    }
)


def test_save_then_load(tmp_path: Path) -> None:
    registry = RegistrationFile(tmp_path / "data" / "registration.json")
    assert registry.load() is None
    registry.save(REGISTRATION)
    loaded = registry.load()
    assert loaded == REGISTRATION
    assert loaded is not None
    assert loaded.client_secret == SECRET
    assert loaded.to_dict()["redirect_uris"] == ["https://rp.example/callback"]


def test_file_is_owner_only_and_no_temp_file_is_left(tmp_path: Path) -> None:
    path = tmp_path / "registration.json"
    registry = RegistrationFile(path)
    registry.save(REGISTRATION)
    registry.save(REGISTRATION)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["registration.json"]
    assert json.loads(path.read_text())["client_id"] == "dyn-1"


def test_delete(tmp_path: Path) -> None:
    registry = RegistrationFile(tmp_path / "registration.json")
    registry.save(REGISTRATION)
    registry.delete()
    assert registry.load() is None
    registry.delete()  # deleting nothing is fine


@pytest.mark.parametrize("text", ["{not json", "[]", '{"client_secret": "x"}', '{"client_id": 7}'])
def test_damaged_file_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    path = tmp_path / "registration.json"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="oidc_rp.registry"):
        assert RegistrationFile(path).load() is None
    assert caplog.messages == [f"registration file {path} is unreadable; ignoring it"]
