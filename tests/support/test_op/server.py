"""Run the test OP with uvicorn on a free loopback port, in a thread.

``run_test_op()`` yields a :class:`TestOP`: the base URL, one issuer per test id, and the
accessors the RP tests use to see what the OP received and did.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..loopback import serve_app
from .app import build_app
from .cases import CASES
from .clients import register
from .state import Call, Registry


class TestOP:
    """A running test OP: every catalogued test id is its own issuer under ``base_url``."""

    __test__ = False  # not a pytest test class

    def __init__(self, base_url: str, registry: Registry) -> None:
        self.base_url = base_url
        self._registry = registry

    def _known(self, test_id: str) -> str:
        # A test id not in the catalogue is a mistake of the calling test.
        if test_id not in CASES:
            raise ValueError(f"unknown test OP case {test_id!r}")
        return test_id

    def issuer(self, test_id: str) -> str:
        """The issuer of one test id: ``{base_url}/{test_id}``."""
        return f"{self.base_url}/{self._known(test_id)}"

    def calls(self, test_id: str) -> list[Call]:
        """Every request received under that issuer (and request_uri fetches), in order."""
        state = self._registry.get(self._known(test_id))
        with self._registry.lock:
            return list(state.calls)

    def reset(self, test_id: str) -> None:
        """Forget everything about a test id (fresh keys, clients, codes, calls)."""
        self._registry.reset(self._known(test_id))

    def register_client(self, test_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """Pre-register a client statically; returns the registration response (RFC 7591 §3.2.1)."""
        state = self._registry.get(self._known(test_id))
        client = register(state.case, metadata)
        with self._registry.lock:
            state.clients[client["client_id"]] = client
        return dict(client)

    def last_id_token_claims(self, test_id: str) -> dict[str, Any] | None:
        """The claims (after the case's edits) of the last ID token issued, if any."""
        state = self._registry.get(self._known(test_id))
        with self._registry.lock:
            claims = state.last_id_token_claims
            return dict(claims) if claims is not None else None

    def backchannel_results(self, test_id: str) -> list[int]:
        """HTTP status codes the RP's backchannel_logout_uri answered (0: no answer), in order."""
        state = self._registry.get(self._known(test_id))
        with self._registry.lock:
            return list(state.backchannel_results)

    def jwks(self, test_id: str) -> dict[str, Any]:
        """The JWK set the issuer publishes right now (public keys only)."""
        state = self._registry.get(self._known(test_id))
        with self._registry.lock:
            return state.keys.jwks()

    def errors(self, test_id: str) -> list[str]:
        """The reasons of every failed call of a test id, in order."""
        return [call.error for call in self.calls(test_id) if call.error]


@contextmanager
def run_test_op() -> Iterator[TestOP]:
    """Start the test OP on a free 127.0.0.1 port in a thread; stop it at exit."""
    registry = Registry()
    with serve_app(lambda base_url: build_app(registry, base_url)) as base_url:
        yield TestOP(base_url, registry)
