"""Checks on JSON claim and member values shared across the core (RFC 7519 §4.1, RFC 8259).

OIDC Core §3.1.3.7 defines how the ``aud`` claim of an ID token is validated;
Back-Channel Logout 1.0 §2.6 step 3 validates a logout token's ``aud`` "in the same way",
so both call :func:`check_audience`. Each check raises the caller's error class with a
rule under the caller's prefix (``id_token.aud``, ``logout_token.aud``). :func:`is_int`
and :func:`is_number` tell JSON integers and NumericDates from look-alikes (``true``).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any, TypeGuard

from oidc_rp.errors import ProtocolError

__all__ = ["check_audience", "is_int", "is_number"]


def is_int(value: object) -> TypeGuard[int]:
    """A JSON integer: an ``int`` that is not a ``bool`` (JSON ``true`` is no number)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number (RFC 7519 §2 NumericDate): not a bool, not NaN or Infinity."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def check_audience(
    claims: Mapping[str, Any],
    client_id: str,
    trusted_audiences: Collection[str],
    *,
    prefix: str,
    error: type[ProtocolError],
) -> list[str]:
    """Check the ``aud`` claim as OIDC Core §3.1.3.7 step 3 says; return the audiences.

    ``aud`` is a string or a non-empty array of strings (RFC 7519 §4.1.3); it must
    contain ``client_id``, and every other audience must be in ``trusted_audiences``.
    """
    audiences = _audiences(claims, prefix, error)
    # §3.1.3.7 step 3: "The Client MUST validate that the aud (audience) Claim contains
    # its client_id value registered at the Issuer identified by the iss (issuer) Claim"
    if client_id not in audiences:
        raise error(f"{prefix}.aud: does not contain the client_id")
    # §3.1.3.7 step 3: "The ID Token MUST be rejected if the ID Token does not list the
    # Client as a valid audience, or if it contains additional audiences not trusted by
    # the Client."
    for audience in audiences:
        if audience != client_id and audience not in trusted_audiences:
            raise error(f"{prefix}.aud: untrusted audience {audience[:64]!r}")
    return audiences


def _audiences(claims: Mapping[str, Any], prefix: str, error: type[ProtocolError]) -> list[str]:
    aud = claims.get("aud")
    if aud is None:
        raise error(f"{prefix}.aud: missing")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        return aud
    raise error(f"{prefix}.aud: not a string or an array of strings")
