"""Every test of the OpenID RP certification list, as rows of the results table.

The rows live in ``catalogue.toml`` next to this module (numbers and ids as in
/work/shared/conformance/rp-certification-tests.md: §3 core tests, §4 FAPI F1-F28 and G1-G32).
A row with a ``reason`` is one oidc-rp does not play; a row without one is played by the tests
marked ``@pytest.mark.conformance("<key>")``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATALOGUE = Path(__file__).with_name("catalogue.toml")


@dataclass(frozen=True)
class Row:
    """One test of the list."""

    key: str
    section: str
    new: tuple[str, ...]  # new-suite ids (without oidcc-client-test-)
    old: tuple[str, ...]  # old-suite rp-* ids
    checks: str
    cases: tuple[str, ...] = ()  # test OP case ids it is played as, when not in ``new``
    reason: str | None = None  # set: not supported, and why
    note: str = ""


def _row(section: str, data: dict[str, Any]) -> Row:
    return Row(
        key=str(data["key"]),
        section=section,
        new=tuple(data["new"]),
        old=tuple(data["old"]),
        checks=str(data["checks"]),
        cases=tuple(data.get("cases", ())),
        reason=data.get("reason"),
        note=str(data.get("note", "")),
    )


def load_rows(path: Path = CATALOGUE) -> tuple[Row, ...]:
    """The rows of the catalogue file, in order; keys must be unique."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rows = tuple(_row(s["title"], r) for s in data["section"] for r in s["row"])
    keys = [row.key for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{path}: duplicate row keys")
    return rows


def case_ids(row: Row) -> frozenset[str]:
    """The test OP case ids a row names: its new-suite ids and ``cases``."""
    return frozenset(row.new) | frozenset(row.cases)


ROWS = load_rows()
