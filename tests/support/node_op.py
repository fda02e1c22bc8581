"""Start node-oidc-provider (tests/op_node) on loopback and drive its dev login pages.

The integration tests talk to a real, certified OpenID Provider: node-oidc-provider, configured
by ``tests/op_node/server.mjs`` from a JSON file this module writes (format in
``tests/op_node/README.md``). ``login_via_dev_interactions`` plays the End-User on the OP's
built-in development login and consent pages (OIDC Core §3.1.2.3-§3.1.2.4) with a plain httpx2
client, so no browser is needed, and hands back the Authorization Response (§3.1.2.5, §3.1.2.6)
without delivering it to the client.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx2

__all__ = [
    "AuthorizationResult",
    "NodeOP",
    "login_via_dev_interactions",
    "logout_via_end_session",
    "start_node_op",
]

OP_DIR = Path(__file__).resolve().parent.parent / "op_node"
"""The folder holding server.mjs, package.json and package-lock.json."""

READY_TIMEOUT = 20.0
"""Seconds to wait for the OP's READY line."""

MAX_STEPS = 12
"""Redirects and form submissions followed inside the OP before giving up."""


@dataclass
class NodeOP:
    """A running node-oidc-provider: its issuer identifier, port and process."""

    issuer: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    """stdout and stderr of the OP (READY line, warnings, one line per error event)."""

    def stop(self) -> None:
        """Send SIGTERM, wait for a clean exit, kill it if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def log(self) -> str:
        """The OP's output so far (for assertion messages and debugging)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass(frozen=True)
class AuthorizationResult:
    """Where the OP sends the End-User back to the client (OIDC Core §3.1.2.5-§3.1.2.6).

    ``url`` is the redirect target with its query or fragment intact. For
    ``response_mode=form_post`` ``url`` is the form's action (the redirect_uri) and ``form``
    holds the fields the OP's auto-submitting form would post; otherwise ``form`` is None.
    """

    url: str
    form: dict[str, str] | None = None


def ensure_node_modules() -> None:
    """Run ``npm ci`` in tests/op_node once if node_modules is missing (file-locked)."""
    marker = OP_DIR / "node_modules" / "oidc-provider" / "package.json"
    if marker.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the integration tests need Node 20+ and npm")
    lock_path = Path(tempfile.gettempdir()) / "oidc-rp-op-node-npm-ci.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=OP_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm ci in {OP_DIR} failed:\n{done.stderr}")


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_node_op(
    clients: list[dict[str, Any]], *, tmp_dir: Path, extra: dict[str, Any] | None = None
) -> NodeOP:
    """Start node-oidc-provider on a free loopback port with these clients' metadata.

    ``extra`` is merged over the top level of the config file (``ttl``, ``jwks``, ``accounts``,
    ``registration``, ``features``, ``pkceRequired``, ... see tests/op_node/README.md).
    Waits for the READY line (20 s) else raises RuntimeError with the server's output.
    """
    ensure_node_modules()
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed: the integration tests need Node 20+")
    last_error = ""
    for _attempt in range(3):
        port = free_port()
        op = _spawn(node, port, clients, tmp_dir, extra or {})
        try:
            _wait_ready(op)
        except RuntimeError as error:
            op.stop()
            last_error = str(error)
            if "EADDRINUSE" in last_error:
                continue
            raise
        return op
    raise RuntimeError(last_error)


def _spawn(
    node: str, port: int, clients: list[dict[str, Any]], tmp_dir: Path, extra: dict[str, Any]
) -> NodeOP:
    issuer = f"http://127.0.0.1:{port}"
    config = {"port": port, "issuer": issuer, "clients": clients, **extra}
    config_path = tmp_dir / f"node-op-{port}.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    log_path = tmp_dir / f"node-op-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [node, str(OP_DIR / "server.mjs"), str(config_path)],
            cwd=OP_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NODE_ENV": "test"},
        )
    return NodeOP(issuer=issuer, port=port, process=process, log_path=log_path)


def _wait_ready(op: NodeOP) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    expected = f"READY {op.issuer}"
    while time.monotonic() < deadline:
        if expected in op.log():
            return
        if op.process.poll() is not None:
            raise RuntimeError(
                f"node-oidc-provider exited with {op.process.returncode}:\n{op.log()}"
            )
        time.sleep(0.05)
    raise RuntimeError(f"node-oidc-provider not ready after {READY_TIMEOUT} s:\n{op.log()}")


@dataclass
class _Form:
    action: str
    method: str
    form_id: str | None
    fields: dict[str, str] = field(default_factory=dict)


class _PageParser(HTMLParser):
    """Collects the forms (with their hidden and named inputs) and links of an OP page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.links: list[str] = []
        self._open: _Form | None = None
        self._text: list[str] = []
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self._in_code = tag in ("style", "script")
        if tag == "form":
            self._open = _Form(
                action=values.get("action", ""),
                method=values.get("method", "get").lower(),
                form_id=values.get("id"),
            )
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and "name" in values:
            self._open.fields[values["name"]] = values.get("value", "")
        elif tag == "a" and "href" in values:
            self.links.append(values["href"])

    def handle_endtag(self, tag: str) -> None:
        self._in_code = False
        if tag == "form":
            self._open = None

    def handle_data(self, data: str) -> None:
        if not self._in_code:
            self._text.append(data)

    def text(self) -> str:
        """The page's visible text, whitespace collapsed (error pages name error and cause)."""
        return " ".join(" ".join(self._text).split())[-400:]


def _parse_page(html: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


async def login_via_dev_interactions(
    authorization_url: str,
    *,
    username: str = "alice",
    consent: bool = True,
    cookies_client: httpx2.AsyncClient | None = None,
) -> AuthorizationResult:
    """Play the End-User on the OP's dev login and consent pages; return the response.

    Follows redirects inside the OP only (cookies kept in ``cookies_client`` when given, so a
    later request sees the OP session), signs in as ``username`` with any password, grants
    consent, and returns where the OP redirects (or form-posts) to the client's redirect_uri,
    which is never requested. With ``consent=False`` it signs in but presses Cancel on the
    consent page, so the result carries error=access_denied; RuntimeError if the OP shows no
    consent page (send prompt=consent to force one).
    """
    if cookies_client is not None:
        return await _drive(cookies_client, authorization_url, username, consent)
    async with httpx2.AsyncClient(timeout=10.0) as client:
        return await _drive(client, authorization_url, username, consent)


async def _drive(
    client: httpx2.AsyncClient, url: str, username: str, consent: bool
) -> AuthorizationResult:
    op_origin = _origin(url)
    response = await client.get(url, follow_redirects=False)
    aborted = False
    for _step in range(MAX_STEPS):
        current = str(response.url)
        result: AuthorizationResult | None = None
        if response.is_redirect:
            target = urljoin(current, response.headers["location"])
            if _origin(target) != op_origin:
                result = AuthorizationResult(url=target)
            else:
                response = await client.get(target, follow_redirects=False)
                continue
        else:
            page = _parse_page(response.text)
            result = _form_post_result(page, current, op_origin)
        if result is not None:
            if not consent and not aborted:
                raise RuntimeError("the OP showed no consent page to deny (send prompt=consent)")
            return result
        if response.is_error:
            raise RuntimeError(f"OP error page {response.status_code} at {current}: {page.text()}")
        response, cancelled = await _answer_interaction(client, page, current, username, consent)
        aborted = aborted or cancelled
    raise RuntimeError(f"no redirect to the client after {MAX_STEPS} steps at {response.url}")


def _form_post_result(
    page: _PageParser, current: str, op_origin: tuple[str, str]
) -> AuthorizationResult | None:
    """The Form Post Response Mode page: one POST form whose action leaves the OP."""
    for form in page.forms:
        action = urljoin(current, form.action)
        if form.method == "post" and _origin(action) != op_origin:
            return AuthorizationResult(url=action, form=dict(form.fields))
    return None


async def _answer_interaction(
    client: httpx2.AsyncClient, page: _PageParser, current: str, username: str, consent: bool
) -> tuple[httpx2.Response, bool]:
    """Submit the dev login form, the consent form, or follow the Cancel link (True)."""
    form = next((f for f in page.forms if "prompt" in f.fields), None)
    if form is None:
        return await _submit_auto_form(client, page, current), False
    action = urljoin(current, form.action)
    prompt = form.fields["prompt"]
    if prompt == "login":
        data = {**form.fields, "login": username, "password": "any-password"}
        return await client.post(action, data=data, follow_redirects=False), False
    if prompt != "consent":
        raise RuntimeError(f"unknown dev interaction prompt {prompt!r} at {current}")
    if consent:
        return await client.post(action, data=form.fields, follow_redirects=False), False
    abort = next((link for link in page.links if link.endswith("/abort")), None)
    if abort is None:
        raise RuntimeError(f"no Cancel link on the consent page at {current}")
    return await client.get(urljoin(current, abort), follow_redirects=False), True


async def _submit_auto_form(
    client: httpx2.AsyncClient, page: _PageParser, current: str
) -> httpx2.Response:
    """Submit an OP-internal auto-submitting form, e.g. ending the previous End-User's session
    when another account signs in (the OP posts xsrf and logout=yes to its end_session confirm).
    """
    form = next((f for f in page.forms if f.method == "post"), None)
    if form is None:
        raise RuntimeError(f"unexpected OP page at {current}: {_page_summary(page)}")
    action = urljoin(current, form.action)
    return await client.post(action, data=form.fields, follow_redirects=False)


def _page_summary(page: _PageParser) -> str:
    forms = [(f.action, sorted(f.fields)) for f in page.forms]
    return f"forms={forms} links={page.links}"


async def logout_via_end_session(
    end_session_url: str, *, cookies_client: httpx2.AsyncClient
) -> str:
    """Confirm RP-Initiated Logout on the OP (RP-Initiated Logout 1.0 §2-§3); return the URL.

    ``end_session_url`` is the end_session_endpoint with its query (id_token_hint,
    post_logout_redirect_uri, state, ...); ``cookies_client`` must hold the OP session cookies
    from ``login_via_dev_interactions``. Presses "Yes, sign me out" (the OP then sends the
    Back-Channel Logout tokens before answering) and returns where the OP redirects: the
    post_logout_redirect_uri with state, or the OP's own success page.
    """
    op_origin = _origin(end_session_url)
    response = await cookies_client.get(end_session_url, follow_redirects=False)
    for _step in range(MAX_STEPS):
        current = str(response.url)
        if response.is_redirect:
            target = urljoin(current, response.headers["location"])
            if _origin(target) != op_origin or "/session/end/success" in target:
                return target
            response = await cookies_client.get(target, follow_redirects=False)
            continue
        page = _parse_page(response.text)
        form = next((f for f in page.forms if "xsrf" in f.fields), None)
        if form is None:
            raise RuntimeError(f"unexpected OP page at {current}: {_page_summary(page)}")
        data = {**form.fields, "logout": "yes"}
        action = urljoin(current, form.action)
        response = await cookies_client.post(action, data=data, follow_redirects=False)
    raise RuntimeError(f"logout did not finish after {MAX_STEPS} steps at {response.url}")
