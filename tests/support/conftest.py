"""Fixtures of the test OP's own tests: one running test OP per module, a plain HTTP client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from .test_op import TestOP, run_test_op


@pytest.fixture(scope="module")
def op() -> Iterator[TestOP]:
    with run_test_op() as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=10.0) as client:
        yield client
