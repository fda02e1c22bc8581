"""The ``oidc-rp`` command, run as a real subprocess: exit codes, stderr, serving."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from oidc_rp import __version__

PYTHON = sys.executable
SCRIPT = str(Path(sys.executable).parent / "oidc-rp")
SECRET = "cli-secret-value-never-printed"


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "oidc_rp", *args],
        cwd=cwd,
        env={**_clean_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OIDC_RP_")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _settings(tmp_path: Path, **values: Any) -> Path:
    base = {
        "issuer": "https://op.example",
        "client_id": "rp",
        "client_secret": SECRET,
        "data_dir": str(tmp_path / "data"),
        "session_store": "memory",
    }
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({**base, **values}))
    return path


def test_version(tmp_path: Path) -> None:
    result = _run("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == f"oidc-rp {__version__}\n"


def test_console_script_is_installed(tmp_path: Path) -> None:
    result = subprocess.run(
        [SCRIPT, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    assert (result.returncode, result.stdout) == (0, f"oidc-rp {__version__}\n")


@pytest.mark.parametrize(
    ("values", "env", "line"),
    [
        ({"port": 99999}, {}, "port: Input should be less than or equal to 65535"),
        ({"scope": "profile"}, {}, "scope: must contain 'openid'"),
        ({"colour": "red"}, {}, "colour: unknown key (see docs/configuration.md)"),
        (
            {},
            {"OIDC_RP_DEBUG": "perhaps"},
            "debug: Input should be a valid boolean, unable to interpret input"
            " (from OIDC_RP_DEBUG)",
        ),
        (
            {"client_secret_file": "nope.txt"},
            {},
            "client_secret_file: set client_secret or client_secret_file, not both",
        ),
    ],
)
@pytest.mark.parametrize("command", ["check", "serve"])
def test_bad_settings_exit_2_with_one_line(
    tmp_path: Path, command: str, values: dict[str, Any], env: dict[str, str], line: str
) -> None:
    path = _settings(tmp_path, **values)
    result = _run(command, "--config", str(path), cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr == f"oidc-rp: {path}: {line}\n"
    assert result.stdout == ""
    assert SECRET not in result.stderr


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '{"issuer": "https://op.example",\n"port": }',
            "not valid JSON (line 2, column 9: Expecting value)",
        ),
        (None, "file not found"),
    ],
)
def test_unreadable_file_exit_2(tmp_path: Path, text: str | None, problem: str) -> None:
    path = tmp_path / "conf.json"
    if text is not None:
        path.write_text(text)
    result = _run("check", "--config", str(path), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, f"oidc-rp: {path}: {problem}\n")
    assert "Traceback" not in result.stderr


def test_default_settings_file_is_read_from_the_working_directory(tmp_path: Path) -> None:
    _settings(tmp_path, client_id="from-default-file")
    result = _run("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "client_id: from-default-file\n" in result.stdout


def test_check_prints_the_summary(tmp_path: Path) -> None:
    path = _settings(tmp_path, verify_ssl_server=False, port=8443)
    result = _run("check", "--config", str(path), cwd=tmp_path, env={"OIDC_RP_CLIENT_ID": "env-rp"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "issuer: https://op.example\n"
        "client_id: env-rp\n"
        "redirect_uri: https://localhost:8443/callback\n"
        "base_url: https://localhost:8443\n"
        "warning: INSECURE: verify_ssl_server is false: TLS certificates of the OP are NOT "
        "verified; anyone on the network can impersonate it. Use ca_file instead.\n"
    )
    assert "WARNING: INSECURE: verify_ssl_server is false" in result.stderr
    assert SECRET not in result.stdout + result.stderr


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    processes: list[subprocess.Popen[str]] = []

    def start(**values: Any) -> tuple[subprocess.Popen[str], int]:
        port = _free_port()
        path = _settings(tmp_path, port=port, **values)
        process = subprocess.Popen(
            [PYTHON, "-m", "oidc_rp", "serve", "--config", str(path)],
            cwd=tmp_path,
            env=_clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        return process, port

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def _wait_for(
    url: str, verify: ssl.SSLContext | bool, process: subprocess.Popen[str]
) -> httpx2.Response:
    deadline = time.monotonic() + 20
    while True:
        assert process.poll() is None, "the server exited"
        try:
            return httpx2.get(url, verify=verify, timeout=2)
        except httpx2.TransportError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.1)


def _stop(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str, str]:
    process.send_signal(sig)
    out, err = process.communicate(timeout=10)
    return process.returncode, out, err


def test_serve_plain_http_answers_healthz(serve: Any) -> None:
    process, port = serve(disable_https=True)
    response = _wait_for(f"http://127.0.0.1:{port}/healthz", False, process)
    assert response.status_code == 200
    assert "server" not in response.headers
    # uvicorn shuts down gracefully, then re-raises SIGTERM: the conventional exit status.
    code, out, err = _stop(process, signal.SIGTERM)
    assert code == -signal.SIGTERM, err
    assert out == f"oidc-rp: open http://localhost:{port}/\n"
    assert "Traceback" not in err


def test_serve_https_with_the_generated_certificate(serve: Any, tmp_path: Path) -> None:
    process, port = serve()
    cert = tmp_path / "data" / "tls" / "localhost-cert.pem"
    deadline = time.monotonic() + 20
    while not cert.exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    context = ssl.create_default_context(cafile=str(cert))
    response = _wait_for(f"https://localhost:{port}/healthz", context, process)
    assert response.status_code == 200
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"https://localhost:{port}/healthz", timeout=2)  # not trusted by default
    code, out, err = _stop(process, signal.SIGINT)  # Ctrl-C: a clean exit
    assert code == 0, err
    assert "Traceback" not in err
    assert out == f"oidc-rp: open https://localhost:{port}/\n"


def test_demo_serves_the_app_against_the_demo_op(tmp_path: Path) -> None:
    port = _free_port()
    (tmp_path / "settings.json").write_text('{"issuer": "https://ignored.example"}')
    process = subprocess.Popen(
        [PYTHON, "-m", "oidc_rp", "demo", "--http", "--port", str(port)],
        cwd=tmp_path,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/healthz", False, process).status_code == 200
        page = httpx2.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200
        assert "ignored.example" not in page.text  # ./settings.json is not the demo's config
    finally:
        code, out, err = _stop(process, signal.SIGINT)
    assert code == 0, err
    assert out.startswith("oidc-rp demo: OP at http://127.0.0.1:")
    assert f"\noidc-rp: open http://localhost:{port}/\n" in out


# The same paths in-process (measured by coverage; the subprocess tests above are not).
def test_main_check_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from oidc_rp.cli import main

    path = _settings(tmp_path, port=8443)
    assert main(["check", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("issuer: https://op.example\nclient_id: rp\n")
    assert SECRET not in out + err


def test_main_bad_settings_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from oidc_rp.cli import main

    path = _settings(tmp_path, port=0)
    assert main(["serve", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        f"oidc-rp: {path}: port: Input should be greater than or equal to 1\n",
    )


def test_main_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    from oidc_rp.cli import main

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"oidc-rp {__version__}\n"


def test_debug_access_log_never_shows_the_authorization_code(serve: Any) -> None:
    process, port = serve(disable_https=True, debug=True)
    _wait_for(f"http://127.0.0.1:{port}/healthz", False, process)
    secret_code = "SECRET-CODE-0123456789"
    answer = httpx2.get(f"http://127.0.0.1:{port}/callback?code={secret_code}&state=s", timeout=5)
    assert answer.status_code == 400
    _code, out, err = _stop(process, signal.SIGINT)
    assert "/callback?code=" in out + err  # the request was logged ...
    assert secret_code not in out + err  # ... with the code redacted
