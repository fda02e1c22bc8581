"""The pending login: what the RP sent in the authorization request and must check on return.

A :class:`PendingLogin` is stored server-side (never in the cookie) between the
authorization request and the callback. It holds the values that bind the
authorization response and the ID token to this login: ``state`` (RFC 6749 §10.12),
``nonce`` (OIDC Core §3.1.2.1), the PKCE ``code_verifier`` (RFC 7636 §4.1), and the
requested ``max_age`` and ``acr`` that the ID token must honour (OIDC Core §3.1.3.7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oidc_rp.core.claims import is_int
from oidc_rp.errors import LoginStateError

__all__ = ["DEFAULT_TTL", "PendingLogin"]

#: How long a pending login is accepted, in seconds.
DEFAULT_TTL = 600

_STRINGS = (
    "state",
    "nonce",
    "code_verifier",
    "redirect_uri",
    "response_type",
    "scope",
    "issuer",
    "client_id",
    "send_parameters_via",
)
_OPTIONAL_STRINGS = ("response_mode", "acr_values")


@dataclass(frozen=True)
class PendingLogin:
    """One authorization request in flight, keyed by its ``state``.

    ``state``, ``nonce`` and ``code_verifier`` are secrets of this login: never in its repr.
    """

    state: str = field(repr=False)
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)
    redirect_uri: str
    response_type: str
    response_mode: str | None
    scope: str
    max_age: int | None
    acr_values: str | None
    essential_acr: tuple[str, ...]
    issuer: str
    client_id: str
    created_at: int
    send_parameters_via: str = "query"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` reads it back."""
        return {
            "state": self.state,
            "nonce": self.nonce,
            "code_verifier": self.code_verifier,
            "redirect_uri": self.redirect_uri,
            "response_type": self.response_type,
            "response_mode": self.response_mode,
            "scope": self.scope,
            "max_age": self.max_age,
            "acr_values": self.acr_values,
            "essential_acr": list(self.essential_acr),
            "issuer": self.issuer,
            "client_id": self.client_id,
            "created_at": self.created_at,
            "send_parameters_via": self.send_parameters_via,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PendingLogin:
        """Read back a dict made by :meth:`to_dict`.

        A record that is not of that shape is unusable: raises ``LoginStateError``.
        """
        if not isinstance(data, Mapping):
            raise LoginStateError("pending_login: record is not a JSON object")
        for name in _STRINGS:
            if not isinstance(data.get(name), str):
                raise LoginStateError(f"pending_login.{name}: missing or not a string")
        for name in _OPTIONAL_STRINGS:
            if not isinstance(data.get(name), str | None):
                raise LoginStateError(f"pending_login.{name}: not a string")
        max_age = data.get("max_age")
        if max_age is not None and not is_int(max_age):
            raise LoginStateError("pending_login.max_age: not an integer")
        if not is_int(data.get("created_at")):
            raise LoginStateError("pending_login.created_at: missing or not an integer")
        essential_acr = data.get("essential_acr", [])
        if not isinstance(essential_acr, list | tuple) or not all(
            isinstance(v, str) for v in essential_acr
        ):
            raise LoginStateError("pending_login.essential_acr: not a list of strings")
        return cls(
            **{name: data[name] for name in _STRINGS},
            response_mode=data.get("response_mode"),
            acr_values=data.get("acr_values"),
            max_age=max_age,
            essential_acr=tuple(essential_acr),
            created_at=data["created_at"],
        )

    def is_expired(self, now: int, ttl: int = DEFAULT_TTL) -> bool:
        """True when the login was started ``ttl`` seconds or more before ``now``."""
        return now >= self.created_at + ttl
