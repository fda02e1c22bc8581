"""The layering rules of STYLE.md, checked on the source with ``ast``.

- core/ is sans-IO: it imports only the standard library (minus I/O, clock and randomness
  modules), joserfc, cryptography, oidc_rp.errors and oidc_rp.core; no clock or random
  calls except in core/random.py;
- nothing imports oidc_rp.web or oidc_rp.cli except themselves (and __main__);
- only oidc_rp/http.py imports the HTTP client.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "oidc_rp"
CORE = PACKAGE / "core"

CORE_THIRD_PARTY = ("joserfc", "cryptography")
CORE_OWN = ("oidc_rp.errors", "oidc_rp.core")
# Standard-library modules that do I/O or read the clock, the environment or randomness.
CORE_FORBIDDEN_STDLIB = (
    "asyncio", "datetime", "fileinput", "glob", "http", "io", "multiprocessing", "os",
    "pathlib", "random", "secrets", "select", "selectors", "shutil", "socket", "sqlite3",
    "ssl", "subprocess", "tempfile", "threading", "time", "urllib.request",
)  # fmt: skip
RANDOMNESS = ("random", "secrets", "os")  # os: os.urandom
CLOCK_CALLS = frozenset(
    {"time", "time_ns", "monotonic", "perf_counter", "now", "utcnow", "today", "urandom"}
)
HTTP_CLIENTS = ("httpx2", "httpx", "httpcore", "httpcore2", "requests", "aiohttp", "urllib3")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = (
        _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:  # `from oidc_rp import web` imports oidc_rp.web
                yield node.lineno, f"{base}.{alias.name}"


def _is(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def core_import_violations(path: Path) -> list[str]:
    out = []
    for line, name in imports(path):
        top = name.split(".")[0]
        allowed_stdlib = top in sys.stdlib_module_names and not _is(name, CORE_FORBIDDEN_STDLIB)
        if name == "__future__" or name.startswith("__future__."):
            continue
        if _is(name, RANDOMNESS) and path.name == "random.py" and path.parent == CORE:
            continue
        if allowed_stdlib or _is(name, CORE_THIRD_PARTY) or _is(name, CORE_OWN):
            continue
        out.append(f"{path.relative_to(SRC)}:{line}: core must not import {name}")
    return out


def clock_and_random_calls(path: Path) -> list[str]:
    """Calls such as time.time(), datetime.now(), os.urandom(), and the builtin open()."""
    out = []
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in CLOCK_CALLS:
            out.append(f"{path.relative_to(SRC)}:{node.lineno}: core must not call .{func.attr}()")
        if isinstance(func, ast.Name) and func.id in ("open", "input"):
            out.append(f"{path.relative_to(SRC)}:{node.lineno}: core must not call {func.id}()")
    return out


def _files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(SRC)) for p in paths]


@pytest.mark.parametrize("path", _files(CORE), ids=_ids(_files(CORE)))
def test_core_imports_only_stdlib_joserfc_cryptography_and_itself(path: Path) -> None:
    violations = core_import_violations(path)
    assert not violations, "sans-IO core broken:\n" + "\n".join(violations)


@pytest.mark.parametrize("path", _files(CORE), ids=_ids(_files(CORE)))
def test_core_reads_no_clock_and_makes_no_randomness(path: Path) -> None:
    calls = [] if path == CORE / "random.py" else clock_and_random_calls(path)
    assert not calls, "time and randomness come in as arguments:\n" + "\n".join(calls)


@pytest.mark.parametrize("path", _files(PACKAGE), ids=_ids(_files(PACKAGE)))
def test_nothing_imports_web_or_cli(path: Path) -> None:
    name = _module_name(path)
    bad = [
        f"{path.relative_to(SRC)}:{line}: imports {imported}"
        for line, imported in imports(path)
        for edge in ("oidc_rp.web", "oidc_rp.cli")
        if _is(imported, (edge,)) and not _is(name, (edge,))
        and not (name == "oidc_rp.__main__" and edge == "oidc_rp.cli")
        and not (name == "oidc_rp.cli" and edge == "oidc_rp.web")
    ]  # fmt: skip
    assert not bad, "web and cli are the edges; nothing may import them:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", _files(PACKAGE), ids=_ids(_files(PACKAGE)))
def test_only_http_module_imports_the_http_client(path: Path) -> None:
    if path == PACKAGE / "http.py":
        return
    bad = [
        f"{path.relative_to(SRC)}:{line}: imports {name}"
        for line, name in imports(path)
        if _is(name, HTTP_CLIENTS)
    ]
    assert not bad, "only oidc_rp/http.py talks HTTP:\n" + "\n".join(bad)


def test_http_module_does_import_httpx2() -> None:
    assert any(name == "httpx2" for _, name in imports(PACKAGE / "http.py"))


# The scanners themselves must catch what they are for.
def test_scanners_catch_violations(tmp_path: Path) -> None:
    core = tmp_path / "src" / "oidc_rp" / "core"
    core.mkdir(parents=True)
    bad = core / "bad.py"
    bad.write_text(
        "import os\nimport time\nfrom ..web import app\nfrom . import messages\n"
        "import httpx2\nfrom pathlib import Path\n"
        "x = time.time()\ny = datetime.now()\nz = open('f')\n"
    )
    global SRC, CORE
    saved = SRC, CORE
    SRC, CORE = tmp_path / "src", core
    try:
        names = [name for _, name in imports(bad)]
        assert "oidc_rp.web.app" in names
        assert "oidc_rp.core.messages" in names
        violations = core_import_violations(bad)
        calls = clock_and_random_calls(bad)
    finally:
        SRC, CORE = saved
    assert violations == [
        "oidc_rp/core/bad.py:1: core must not import os",
        "oidc_rp/core/bad.py:2: core must not import time",
        "oidc_rp/core/bad.py:3: core must not import oidc_rp.web",
        "oidc_rp/core/bad.py:3: core must not import oidc_rp.web.app",
        "oidc_rp/core/bad.py:5: core must not import httpx2",
        "oidc_rp/core/bad.py:6: core must not import pathlib",
        "oidc_rp/core/bad.py:6: core must not import pathlib.Path",
    ]
    assert calls == [
        "oidc_rp/core/bad.py:7: core must not call .time()",
        "oidc_rp/core/bad.py:8: core must not call .now()",
        "oidc_rp/core/bad.py:9: core must not call open()",
    ]
