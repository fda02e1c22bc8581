"""What the test OP remembers for one test id: calls, clients, codes, tokens, keys, results.

Every test id is its own issuer with its own state; ``reset`` forgets it (fresh keys, clients,
codes). The state is touched by the server thread (requests) and by the test thread (the
``TestOP`` accessors), so every read or write of shared members holds ``Registry.lock``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .cases import CASES, Case
from .keys import OPKeys


@dataclass(frozen=True)
class Call:
    """One HTTP request received under an issuer (or made by the OP: ``request_uri_fetch``).

    ``status`` is the HTTP status the OP answered (or the RP answered, for OP-made requests) and
    ``error`` the reason a request failed validation, ``None`` when it passed.
    """

    endpoint: str
    method: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    form: Mapping[str, str]
    json: Any
    status: int = 0
    error: str | None = None


@dataclass
class AuthorizationGrant:
    """What an authorization code stands for (RFC 6749 §4.1.2)."""

    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    auth_time: int
    max_age: str | None
    sid: str
    claims_request: dict[str, Any] = field(default_factory=dict)  # OIDC Core §5.5
    dpop_jkt: str | None = None  # RFC 9449 §10: the code is bound to this DPoP key


@dataclass
class TokenGrant:
    """What an access or refresh token stands for."""

    client_id: str
    scope: str
    sid: str
    auth_time: int
    expires_at: int
    active: bool = True
    claims_request: dict[str, Any] = field(default_factory=dict)  # OIDC Core §5.5
    jkt: str | None = None  # RFC 9449 §6: bound to this DPoP key (cnf.jkt)


@dataclass
class TestState:
    """All the OP state of one test id."""

    __test__ = False  # not a pytest test class

    test_id: str
    case: Case
    sub: str = field(default_factory=lambda: "user-" + secrets.token_hex(6))
    jwks_path: str = "jwks"
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, AuthorizationGrant] = field(default_factory=dict)
    access_tokens: dict[str, TokenGrant] = field(default_factory=dict)
    refresh_tokens: dict[str, TokenGrant] = field(default_factory=dict)
    pushed_requests: dict[str, tuple[str, dict[str, str], int]] = field(default_factory=dict)
    issued_id_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    last_id_token_claims: dict[str, Any] | None = None
    backchannel_results: list[int] = field(default_factory=list)
    used_jtis: set[str] = field(default_factory=set)
    dpop_jtis: set[str] = field(default_factory=set)  # RFC 9449 §11.1
    dpop_nonces: dict[str, str] = field(default_factory=dict)  # "as"/"rs" -> nonce (§8, §9)
    authorization_requests: int = 0
    signed_id_tokens: int = 0
    _keys: OPKeys | None = None

    @property
    def keys(self) -> OPKeys:
        """The current signing keys, generated on first use (discovery alone needs none)."""
        if self._keys is None:
            self._keys = OPKeys.generate(self.case.jwks_layout)
        return self._keys

    @classmethod
    def fresh(cls, test_id: str) -> TestState:
        """New state (keys come on first use; a random jwks path when the case asks for one)."""
        case = CASES[test_id]
        state = cls(test_id, case)
        if case.random_jwks_path:
            state.jwks_path = "jwks-" + secrets.token_hex(8)
        return state

    def rotate_keys(self) -> None:
        """Replace the whole JWK set with fresh keys and kids."""
        self._keys = OPKeys.generate(self.case.jwks_layout)


class Registry:
    """The states of all test ids, created on first use."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._states: dict[str, TestState] = {}

    def get(self, test_id: str) -> TestState:
        """The state of a catalogued test id (``KeyError`` for any other)."""
        if test_id not in CASES:
            raise KeyError(test_id)
        with self.lock:
            state = self._states.get(test_id)
            if state is None:
                state = self._states[test_id] = TestState.fresh(test_id)
            return state

    def reset(self, test_id: str) -> None:
        """Forget a test id's state."""
        with self.lock:
            self._states.pop(test_id, None)

    def record(self, state: TestState, call: Call) -> int:
        """Append a call, returning its index (to amend it with the final status)."""
        with self.lock:
            state.calls.append(call)
            return len(state.calls) - 1

    def amend(self, state: TestState, index: int, status: int, error: str | None) -> None:
        """Set the status and failure reason of a recorded call."""
        with self.lock:
            if index < len(state.calls):
                old = state.calls[index]
                state.calls[index] = Call(
                    old.endpoint,
                    old.method,
                    old.path,
                    old.headers,
                    old.query,
                    old.form,
                    old.json,
                    status,
                    error,
                )
