"""What the facade returns and a session keeps: the token set, a login, an API answer.

JSON-safe (``to_dict``/``from_dict``) so that server-side sessions can store them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from joserfc.jws import extract_compact

from oidc_rp.errors import LoginStateError

__all__ = ["ApiResponse", "Login", "TokenSet", "stored_id_token_claims"]


@dataclass(frozen=True)
class TokenSet:
    """The tokens a session keeps. ``id_token`` is the latest validated ID token."""

    # Token values stay out of reprs (tracebacks, %r in logs).
    access_token: str | None = field(repr=False)
    token_type: str = "Bearer"
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    expires_at: int | None = None
    scope: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "refresh_token": self.refresh_token,
            "id_token": self.id_token,
            "expires_at": self.expires_at,
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        """Read back :meth:`to_dict`; a malformed record raises LoginStateError."""
        values = {k: data.get(k) for k in ("access_token", "refresh_token", "id_token", "scope")}
        expires_at = data.get("expires_at")
        token_type = data.get("token_type", "Bearer")
        strings_ok = all(v is None or isinstance(v, str) for v in values.values())
        if not strings_ok or not isinstance(token_type, str) or not _optional_int(expires_at):
            raise LoginStateError("session.tokens: malformed record")
        return cls(token_type=token_type, expires_at=expires_at, **values)


@dataclass(frozen=True)
class Login:
    """The result of a completed login."""

    tokens: TokenSet
    id_token_claims: dict[str, Any]
    userinfo: dict[str, Any] | None = None
    userinfo_error: str | None = None

    @property
    def sub(self) -> str:
        """The end-user's subject identifier."""
        return str(self.id_token_claims["sub"])

    @property
    def sid(self) -> str | None:
        """The OP session id, for back-channel logout."""
        sid = self.id_token_claims.get("sid")
        return sid if isinstance(sid, str) else None


@dataclass(frozen=True)
class ApiResponse:
    """What the API answered (or why it could not be reached)."""

    status: int | None
    headers: dict[str, str]
    body: str
    error: str | None = None


def _optional_int(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def stored_id_token_claims(raw: str) -> dict[str, Any]:
    """Claims of an ID token this RP validated before storing it in the session."""
    claims = json.loads(extract_compact(raw.encode()).payload)
    if not isinstance(claims, dict):
        raise LoginStateError("session.id_token: malformed record")
    return claims
