"""The values sessions keep: JSON round trips, malformed records, no token in a repr."""

from __future__ import annotations

import json

import pytest

from oidc_rp.errors import LoginStateError
from oidc_rp.tokens import Login, TokenSet

TOKENS = TokenSet(
    access_token="AT-secret-value",
    refresh_token="RT-secret-value",
    id_token="ID-secret-value",
    expires_at=5,
    scope="openid",
)


def test_token_set_round_trips_through_json() -> None:
    assert TokenSet.from_dict(json.loads(json.dumps(TOKENS.to_dict()))) == TOKENS


@pytest.mark.parametrize(
    "record",
    [
        {"access_token": 5},
        {"access_token": "a", "expires_at": "soon"},
        {"access_token": "a", "expires_at": True},
        {"access_token": "a", "token_type": None},
    ],
)
def test_malformed_records_are_refused(record: dict[str, object]) -> None:
    with pytest.raises(LoginStateError, match="malformed"):
        TokenSet.from_dict(record)


def test_reprs_never_show_token_values() -> None:
    login = Login(tokens=TOKENS, id_token_claims={"sub": "alice"})
    for text in (repr(TOKENS), repr(login), str(TOKENS)):
        assert "secret-value" not in text
    assert "openid" in repr(TOKENS)  # what is not secret still shows
