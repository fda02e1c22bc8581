"""core/claims.py: claim checks shared by ID tokens and logout tokens (OIDC Core §3.1.3.7)."""

from __future__ import annotations

from typing import Any

import pytest

from oidc_rp.core.claims import check_audience, is_int, is_number
from oidc_rp.errors import IDTokenError, LogoutTokenError, ProtocolError

CLIENT_ID = "client-123"
API = "https://api.example.com"


@pytest.mark.parametrize(
    ("aud", "trusted", "expected"),
    [
        pytest.param(CLIENT_ID, (), [CLIENT_ID], id="string"),
        pytest.param([CLIENT_ID], (), [CLIENT_ID], id="array"),
        pytest.param([API, CLIENT_ID], (API,), [API, CLIENT_ID], id="trusted-extra"),
    ],
)
def test_check_audience_accepts(aud: Any, trusted: tuple[str, ...], expected: list[str]) -> None:
    claims = {"aud": aud}
    assert check_audience(claims, CLIENT_ID, trusted, prefix="id_token", error=IDTokenError) == (
        expected
    )


@pytest.mark.parametrize(
    ("aud", "trusted", "rule"),
    [
        pytest.param(None, (), "x.aud: missing", id="missing"),
        pytest.param(7, (), "x.aud: not a string or an array of strings", id="number"),
        pytest.param([], (), "x.aud: not a string or an array of strings", id="empty-array"),
        pytest.param([CLIENT_ID, 1], (), "x.aud: not a string", id="array-not-strings"),
        pytest.param("other", (), "x.aud: does not contain the client_id", id="other"),
        pytest.param([API], (API,), "x.aud: does not contain the client_id", id="only-trusted"),
        pytest.param([CLIENT_ID, API], (), "x.aud: untrusted audience 'https://api", id="extra"),
        pytest.param(
            [CLIENT_ID, API, "evil"], (API,), "x.aud: untrusted audience 'evil'", id="one-extra"
        ),
    ],
)
@pytest.mark.parametrize("error", [IDTokenError, LogoutTokenError])
def test_check_audience_rejects(
    aud: Any, trusted: tuple[str, ...], rule: str, error: type[ProtocolError]
) -> None:
    claims = {} if aud is None else {"aud": aud}
    with pytest.raises(error) as info:
        check_audience(claims, CLIENT_ID, trusted, prefix="x", error=error)
    assert type(info.value) is error
    assert str(info.value).startswith(rule), str(info.value)


@pytest.mark.parametrize(
    ("value", "integer", "number"),
    [
        (0, True, True),
        (1_700_000_000, True, True),
        (-5, True, True),
        (1.5, False, True),
        (True, False, False),
        (False, False, False),
        (float("nan"), False, False),
        (float("inf"), False, False),
        ("1", False, False),
        (None, False, False),
        ([1], False, False),
    ],
)
def test_is_int_and_is_number(value: object, integer: bool, number: bool) -> None:
    assert is_int(value) is integer
    assert is_number(value) is number
