"""What every endpoint handler gets: the registry, the test id's state and its issuer URL."""

from __future__ import annotations

from dataclasses import dataclass

from .state import Registry, TestState

ENDPOINT_PATHS = {
    "authorization": "authorize",
    "token": "token",
    "userinfo": "userinfo",
    "registration": "register",
    "end_session": "end_session",
    "par": "par",
    "revocation": "revoke",
    "introspection": "introspect",
}
"""Endpoint name -> path under the issuer (the JWKS path is per state)."""


@dataclass(frozen=True)
class Context:
    """One request's view of the test OP."""

    registry: Registry
    state: TestState
    issuer: str

    def url(self, endpoint: str) -> str:
        """The absolute URL of one of this issuer's endpoints."""
        if endpoint == "jwks":
            return f"{self.issuer}/{self.state.jwks_path}"
        return f"{self.issuer}/{ENDPOINT_PATHS[endpoint]}"
