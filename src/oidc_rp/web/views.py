"""Display helpers: JWTs decoded for reading, times as dates, JSON pretty-printed.

Decoding here is for display only: nothing decoded by this module is trusted or used
for a decision. Tokens are validated by the core (``oidc_rp.core.id_token``) before they
reach a session.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError

__all__ = ["DecodedToken", "TimeClaim", "decode_for_display", "pretty_json", "time_claims"]

TIME_CLAIMS = ("exp", "iat", "nbf", "auth_time")


@dataclass(frozen=True)
class TimeClaim:
    """A NumericDate claim shown as a date, with the time left (or passed)."""

    name: str
    value: int
    date: str
    relative: str


@dataclass(frozen=True)
class DecodedToken:
    """A token as shown on the page: raw, and decoded when it is a JWS."""

    name: str
    raw: str
    is_jwt: bool
    header: str = ""
    payload: str = ""
    times: tuple[TimeClaim, ...] = ()


def pretty_json(value: Any) -> str:
    """Indented JSON (non-ASCII kept), for a <pre> block; autoescaped by Jinja2."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _relative(seconds: int) -> str:
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"
    if days:
        text = f"{days}d {text}"
    return f"in {text}" if seconds >= 0 else f"{text} ago"


def time_claims(claims: dict[str, Any], now: float) -> tuple[TimeClaim, ...]:
    """The exp/iat/nbf/auth_time claims as UTC dates with the time left."""
    out = []
    for name in TIME_CLAIMS:
        value = claims.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                date = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            except (OverflowError, OSError, ValueError):
                continue
            out.append(TimeClaim(name, int(value), date, _relative(int(value - now))))
    return tuple(out)


def decode_for_display(name: str, token: str, now: float) -> DecodedToken:
    """Decode a compact JWS's header and payload for reading; opaque tokens stay opaque.

    Display only: the signature is not checked here and nothing decoded is trusted.
    """
    if token.count(".") != 2:
        return DecodedToken(name, token, is_jwt=False)
    try:
        compact = jws.extract_compact(token.encode("ascii"))
        payload = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError):
        return DecodedToken(name, token, is_jwt=False)
    if not isinstance(payload, dict):
        return DecodedToken(name, token, is_jwt=False)
    return DecodedToken(
        name,
        token,
        is_jwt=True,
        header=pretty_json(compact.headers()),
        payload=pretty_json(payload),
        times=time_claims(payload, now),
    )
