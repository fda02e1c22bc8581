"""Tests for oidc_rp.core.random (RFC 7636 §4.1-4.2)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from oidc_rp.core.random import (
    code_challenge_s256,
    generate_code_verifier,
    generate_jti,
    generate_nonce,
    generate_state,
)

URLSAFE = re.compile(r"[A-Za-z0-9_-]+")


@pytest.mark.parametrize("generate", [generate_state, generate_nonce, generate_jti])
def test_tokens_have_at_least_128_bits_and_differ(generate: Callable[[], str]) -> None:
    values = {generate() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert URLSAFE.fullmatch(value)
        # base64url carries 6 bits a character: 22 characters are >= 128 bits.
        assert len(value) * 6 >= 128


def test_code_verifier_is_43_to_128_unreserved_characters() -> None:
    verifiers = {generate_code_verifier() for _ in range(50)}
    assert len(verifiers) == 50
    for verifier in verifiers:
        assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)
        assert code_challenge_s256(verifier)


def test_code_challenge_matches_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize(
    "verifier",
    [
        pytest.param("a" * 43, id="43-chars-min"),
        pytest.param("a" * 128, id="128-chars-max"),
        pytest.param("-._~" * 11, id="unreserved-punctuation"),
    ],
)
def test_code_challenge_accepts_verifiers_in_range(verifier: str) -> None:
    challenge = code_challenge_s256(verifier)
    assert len(challenge) == 43
    assert "=" not in challenge


@pytest.mark.parametrize(
    "verifier",
    [
        pytest.param("a" * 42, id="too-short"),
        pytest.param("a" * 129, id="too-long"),
        pytest.param("a" * 42 + "+", id="reserved-plus"),
        pytest.param("a" * 42 + "/", id="reserved-slash"),
        pytest.param("a" * 42 + "é", id="non-ascii"),
        pytest.param("a" * 43 + "\n", id="trailing-newline"),
        pytest.param("", id="empty"),
    ],
)
def test_code_challenge_rejects_bad_verifiers(verifier: str) -> None:
    with pytest.raises(ValueError, match=r"^pkce\.code_verifier: "):
        code_challenge_s256(verifier)
