"""The conformance harness: the real web app served on loopback, configured for one test OP case.

:class:`Apps` starts (and caches, one per test id and settings) an ``oidc_rp.web`` app in
uvicorn (``support.loopback``), registered at the test OP statically
(``TestOP.register_client``) or left to register itself through its own ``POST /register``.
:class:`RunningApp` drives it with a :class:`~conformance.browser.Browser` and holds the
assertions every case shares:

- accepted: the login lands on the home page and ``/api/session`` answers 200 with the sub;
- rejected: the app answers the error page with the documented status (``ProtocolError`` 502,
  ``LoginStateError``/``OPErrorResponse`` 400), naming the error code and the failed rule, no
  session exists (``/api/session`` 401) and the OP saw no further call after the bad artefact.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from joserfc.jwk import RSAKey
from starlette.applications import Starlette

from conformance.browser import Browser, Visit, forms_of
from oidc_rp.settings import Settings
from oidc_rp.web import create_app
from support.loopback import LoopbackServer, start_app
from support.test_op import Call, TestOP

#: Every response type with a code (the implicit ones are refused by design, RFC 9700 §2.1.2).
CODE_RESPONSE_TYPES = ("code", "code id_token", "code token", "code id_token token")
#: The RP's own signing key (private_key_jwt, signed request objects), published at /jwks.
RP_KEY_JWK = json.dumps(RSAKey.generate_key(2048, private=True).as_dict(private=True))
ENCRYPTION_SETTINGS = (
    "id_token_encrypted_response_alg",
    "id_token_encrypted_response_enc",
    "userinfo_encrypted_response_alg",
    "userinfo_encrypted_response_enc",
)


class Clock:
    """The app's clock: real time plus an offset a test may advance (no sleeping)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the app's time forward."""
        self.offset += seconds


def client_metadata(base_url: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What a static registration of the app's client holds (RFC 7591 §2 names)."""
    metadata: dict[str, Any] = {
        "redirect_uris": [f"{base_url}/callback"],
        "post_logout_redirect_uris": [f"{base_url}/logged-out"],
        "backchannel_logout_uri": f"{base_url}/backchannel-logout",
        "response_types": list(CODE_RESPONSE_TYPES),
        "grant_types": ["authorization_code", "implicit", "refresh_token"],
        "token_endpoint_auth_method": settings.get(
            "token_endpoint_auth_method", "client_secret_basic"
        ),
        "id_token_signed_response_alg": settings.get("id_token_signed_response_alg", "RS256"),
    }
    keys = ("client_private_key", "request_object_key", "client_encryption_key")
    if any(settings.get(name) for name in keys):
        # The app publishes its public keys (signing and ``use: enc``) at GET /jwks.
        metadata["jwks_uri"] = f"{base_url}/jwks"
    if settings.get("userinfo_signed_response_alg"):
        metadata["userinfo_signed_response_alg"] = settings["userinfo_signed_response_alg"]
    for name in ENCRYPTION_SETTINGS:
        # Registration §2: the OP encrypts ID tokens / userinfo with these (enc default
        # A128CBC-HS256), to the key at jwks_uri or a key derived from the client secret.
        if settings.get(name):
            metadata[name] = settings[name]
    return metadata


@dataclass
class RunningApp:
    """One served app configured for one test OP case."""

    test_id: str
    base_url: str
    op: TestOP
    clock: Clock
    settings: Settings

    # The OP's view --------------------------------------------------------------------

    def mark(self) -> int:
        """How many calls the OP has seen for this test id so far."""
        return len(self.op.calls(self.test_id))

    def calls_since(self, mark: int) -> list[Call]:
        """The OP's calls for this test id after ``mark``."""
        return self.op.calls(self.test_id)[mark:]

    def endpoints_since(self, mark: int) -> list[str]:
        """The endpoint names of those calls, in order."""
        return [call.endpoint for call in self.calls_since(mark)]

    def sub(self) -> str:
        """The sub of the last ID token the OP issued for this test id."""
        claims = self.op.last_id_token_claims(self.test_id)
        assert claims is not None, "the OP issued no ID token"
        return str(claims["sub"])

    # The browser's view ---------------------------------------------------------------

    def login(self, browser: Browser, **options: str) -> Visit:
        """/start-login (with the login form's options) -> the OP -> /callback -> wherever."""
        query = f"?{urlencode(options)}" if options else ""
        return browser.navigate(f"{self.base_url}/start-login{query}")

    def session(self, browser: Browser) -> tuple[int, dict[str, Any]]:
        """GET /api/session: status and JSON body."""
        response = browser.get(f"{self.base_url}/api/session")
        body: dict[str, Any] = response.json()
        return response.status_code, body

    def csrf_token(self, browser: Browser) -> str:
        """The session's CSRF token: from /api/session, or from the home page's forms."""
        status, body = self.session(browser)
        if status == 200:
            return str(body["csrf_token"])
        page = browser.get(f"{self.base_url}/").text
        for form in forms_of(page):
            for name, value in form.fields:
                if name == "csrf_token":
                    return value
        raise AssertionError("no CSRF token on the home page")

    def action(self, browser: Browser, path: str, **fields: str) -> Visit:
        """POST an action form (with the CSRF token) as the home page's buttons do."""
        data = {"csrf_token": self.csrf_token(browser), **fields}
        return browser.navigate(f"{self.base_url}{path}", method="POST", data=data)

    # Shared verdicts ------------------------------------------------------------------

    def assert_logged_in(self, browser: Browser, visit: Visit) -> dict[str, Any]:
        """The login completed: home page, and /api/session 200 with the OP's sub."""
        assert visit.status == 200 and visit.url == f"{self.base_url}/", (
            visit.status,
            visit.url,
            visit.text[-600:],
        )
        status, body = self.session(browser)
        assert status == 200 and body["authenticated"] is True, body
        assert body["sub"] == self.sub()
        return body

    def assert_rejected(
        self,
        browser: Browser,
        visit: Visit,
        *,
        status: int,
        code: str,
        rule: str,
        mark: int,
        after: str,
        forbidden: Iterable[str],
    ) -> None:
        """The error page (status, code, rule), no session, no forbidden call after ``after``."""
        assert visit.status == status, (visit.status, visit.url, visit.text[-600:])
        assert f"<code>{code}</code>" in visit.text, visit.text[-600:]
        assert rule in visit.text, visit.text[-600:]
        assert self.session(browser)[0] == 401
        assert_no_call_after(self.endpoints_since(mark), after, forbidden)


def assert_no_call_after(endpoints: list[str], after: str, forbidden: Iterable[str]) -> None:
    """No call to a ``forbidden`` endpoint follows the last ``after`` call (the suite's test)."""
    assert after in endpoints, endpoints
    last = len(endpoints) - 1 - endpoints[::-1].index(after)
    late = [name for name in endpoints[last + 1 :] if name in set(forbidden)]
    assert not late, f"calls after the bad {after} artefact: {endpoints}"


def front_channel_id_token(response_type: str) -> bool:
    """True when the authorization endpoint returns an ID token for this response type."""
    return "id_token" in response_type.split()


def reject_after(response_type: str) -> tuple[str, tuple[str, ...]]:
    """Where a bad ID token came from, and which calls must not follow (the suite's rule)."""
    if front_channel_id_token(response_type):
        return "authorization", ("token", "userinfo")
    return "token", ("userinfo",)


class Apps:
    """Starts apps for test OP cases; one per (test id, registration, settings), cached."""

    def __init__(self, op: TestOP, data_root: Path) -> None:
        self.op = op
        self.data_root = data_root
        self._served: list[LoopbackServer] = []
        self._running: dict[str, RunningApp] = {}

    def close(self) -> None:
        """Stop every app started here (all at once: each takes a moment to shut down)."""
        for served in self._served:
            served.signal_exit()
        for served in self._served:
            served.join()
        self._served.clear()
        self._running.clear()

    def get(self, test_id: str, *, dynamic: bool = False, **overrides: Any) -> RunningApp:
        """The app for ``test_id`` with these settings (registered statically unless dynamic)."""
        key = json.dumps([test_id, dynamic, overrides], sort_keys=True)
        if key not in self._running:
            self._running[key] = self._start(test_id, dynamic, overrides, len(self._running))
        return self._running[key]

    def _start(
        self, test_id: str, dynamic: bool, overrides: dict[str, Any], number: int
    ) -> RunningApp:
        clock = Clock()
        built: list[RunningApp] = []

        def factory(base_url: str) -> Starlette:
            values: dict[str, Any] = {
                "issuer": self.op.issuer(test_id),
                "base_url": base_url,
                "redirect_uri": f"{base_url}/callback",
                "disable_https": True,
                "session_store": "memory",
                "data_dir": str(self.data_root / f"app-{number}"),
                "scope": "openid profile email",
                **overrides,
            }
            if not dynamic:
                registered = self.op.register_client(test_id, client_metadata(base_url, values))
                values["client_id"] = registered["client_id"]
                values["client_secret"] = registered.get("client_secret")
            settings = Settings.model_validate(values)
            built.append(RunningApp(test_id, base_url, self.op, clock, settings))
            return create_app(settings, clock=clock)

        # Lifespan on: at exit the app closes its RelyingParty and session store.
        self._served.append(start_app(factory, lifespan="on"))
        return built[0]


def assert_id_token_rejected(
    apps: Apps,
    browser: Browser,
    test_id: str,
    rule: str,
    response_type: str,
    mode: str | None = None,
    **settings: Any,
) -> None:
    """Log in under ``test_id``: the bad ID token gives the 502 page naming ``rule``, no
    session, and no call the suite forbids after it."""
    app = apps.get(test_id, **settings)
    mark = app.mark()
    options = {"response_type": response_type, **({"response_mode": mode} if mode else {})}
    visit = app.login(browser, **options)
    after, forbidden = reject_after(response_type)
    app.assert_rejected(
        browser,
        visit,
        status=502,
        code="invalid_id_token",
        rule=rule,
        mark=mark,
        after=after,
        forbidden=forbidden,
    )
