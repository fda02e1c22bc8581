"""The catalogue and the report: every test OP case has a row, the table renders every row."""

from __future__ import annotations

import datetime

from conformance.catalogue import ROWS, case_ids
from conformance.report import Outcome, render, row_result
from support.test_op import CASES


def test_every_test_op_case_has_a_row() -> None:
    named = frozenset().union(*(case_ids(row) for row in ROWS))
    assert set(CASES) - named == set()


def test_rows_are_played_or_say_why_not() -> None:
    for row in ROWS:
        assert row.checks and (row.new or row.old), row.key
        assert row.reason is None or row.reason.strip(), row.key


def test_report_counts_and_results() -> None:
    played, unsupported = ROWS[0], next(row for row in ROWS if row.reason)
    outcomes = [
        Outcome(rows=(played.key,), variant="code", result="pass"),
        Outcome(rows=(played.key,), variant="code id_token", result="fail"),
    ]
    assert row_result(played, outcomes)[0] == "**fail** (code id_token)"
    assert row_result(played, outcomes[:1]) == ("pass", "played: code")
    assert row_result(unsupported, outcomes)[0] == f"not supported: {unsupported.reason}"
    text = render(ROWS, outcomes, datetime.date(2025, 1, 2))
    assert "on 2025-01-02" in text and "`make conformance`" in text
    assert text.count("\n| ") == len(ROWS) + len({row.section for row in ROWS})
    assert "0 pass, 1 fail" in text
