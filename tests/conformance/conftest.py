"""Fixtures and reporting of the conformance suite (OpenID RP certification tests).

- ``op``: one test OP for the whole run (every case is its own issuer under it);
- ``apps``: the real web app per case and settings, served on loopback, stopped per module;
- ``browser``: a fresh browser (cookie jar) per test;
- ``@pytest.mark.conformance("<row>", ...)`` ties a test to rows of the certification list
  (tests/conformance/catalogue.py); ``conformance_note`` adds a line to the row's notes;
- ``--conformance-report=PATH`` writes the results table (docs/conformance.md) after the run.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conformance.browser import Browser
from conformance.catalogue import ROWS
from conformance.harness import Apps
from conformance.report import Outcome, render
from support.test_op import TestOP, run_test_op

OUTCOMES = pytest.StashKey[dict[str, Outcome]]()
_CONFIG: list[pytest.Config] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--conformance-report",
        metavar="PATH",
        default=None,
        help="write the RP certification results table (Markdown) to PATH after the run",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "conformance(*rows): the certification-list rows this test plays"
    )
    config.stash[OUTCOMES] = {}
    _CONFIG[:] = [config]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    known = {row.key for row in ROWS}
    outcomes = config.stash[OUTCOMES]
    for item in items:
        marker = item.get_closest_marker("conformance")
        if marker is None:
            continue
        rows = tuple(str(arg) for arg in marker.args)
        unknown = [row for row in rows if row not in known]
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: unknown conformance rows {unknown}")
        callspec = getattr(item, "callspec", None)
        variant = callspec.id if callspec is not None else ""
        outcomes[item.nodeid] = Outcome(rows=rows, variant=variant)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    outcome = _outcomes_of(report).get(report.nodeid)
    if outcome is None:
        return
    if report.failed:
        outcome.result = "fail"
    elif report.skipped:
        outcome.result = outcome.result or "skipped"
    elif report.when == "call" and outcome.result is None:
        outcome.result = "pass"


def _outcomes_of(report: pytest.TestReport) -> dict[str, Outcome]:
    # pytest_runtest_logreport gets no config; the one of this run is kept at configure.
    return _CONFIG[0].stash[OUTCOMES] if _CONFIG else {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = session.config.getoption("--conformance-report")
    if not path:
        return
    outcomes = list(session.config.stash[OUTCOMES].values())
    text = render(ROWS, outcomes, datetime.date.today())
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")


@pytest.fixture(scope="session")
def op() -> Iterator[TestOP]:
    """The test OP, shared by every case (each case is its own issuer)."""
    with run_test_op() as test_op:
        yield test_op


@pytest.fixture(scope="module")
def apps(op: TestOP, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    """Apps per case and settings; stopped at the end of the module."""
    pool = Apps(op, tmp_path_factory.mktemp("apps"))
    yield pool
    pool.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A fresh browser profile (its own cookie jar)."""
    profile = Browser()
    yield profile
    profile.close()


@pytest.fixture
def conformance_note(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Add a line to the notes of this test's rows in the report (e.g. which outcome)."""
    outcome = request.config.stash[OUTCOMES].get(request.node.nodeid)

    def note(text: str) -> None:
        if outcome is not None:
            outcome.notes.append(text)

    return note
