"""The official suite's deterministic faults, applied to a message or to a compact JWS.

Edits: append a suffix (``1``, ``INVALID``, ``_INVALID``), remove the member, set a value, move a
time claim relative to now, turn ``aud`` into an array or add an untrusted second audience, invert
the letter case. Signature corruption XORs every signature byte with 0x5A
(``AbstractInvalidateJwsSignature`` in the conformance suite).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from .cases import Edit


def apply_edits(message: dict[str, Any], edits: Iterable[Edit], *, now: int) -> dict[str, Any]:
    """Return a copy of ``message`` with every edit applied (edits of absent members are no-ops)."""
    edited = dict(message)
    for edit in edits:
        _apply_one(edited, edit, now)
    return edited


def _apply_one(message: dict[str, Any], edit: Edit, now: int) -> None:
    name = edit.member
    if edit.op == "set":
        message[name] = edit.arg
    elif edit.op == "now_plus":
        assert isinstance(edit.arg, int)
        message[name] = now + edit.arg
    elif name not in message:
        return
    elif edit.op == "remove":
        del message[name]
    elif edit.op == "append":
        message[name] = f"{message[name]}{edit.arg}"
    elif edit.op == "to_array":
        message[name] = [message[name]]
    elif edit.op == "add_audience":
        message[name] = [message[name], f"{message[name]}{edit.arg}"]
    elif edit.op == "invert_case":
        message[name] = str(message[name]).swapcase()


def _b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _b64url_encode(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii")


def corrupt_signature(token: str) -> str:
    """XOR each signature byte of a compact JWS with 0x5A (an empty signature stays empty)."""
    header, payload, signature = token.split(".")
    flipped = bytes(byte ^ 0x5A for byte in _b64url_decode(signature))
    return f"{header}.{payload}.{_b64url_encode(flipped)}"


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, without verification (the OP reads its own tokens)."""
    import json

    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")
    claims = json.loads(_b64url_decode(parts[1]))
    if not isinstance(claims, dict):
        raise ValueError("JWS payload is not a JSON object")
    return claims


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS, without verification."""
    import json

    header = json.loads(_b64url_decode(token.split(".")[0]))
    if not isinstance(header, dict):
        raise ValueError("JWS header is not a JSON object")
    return header
