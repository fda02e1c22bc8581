"""A small browser for the conformance tests: cookies, redirects, auto-submitting forms.

It does what a browser does with the pages of an OpenID login, over real HTTP (httpx2):

- follows 3xx redirects between the app and the test OP (303, and 302 after a POST, become
  a GET), keeping one cookie jar for every host, as a browser does;
- keeps a URL fragment across a redirect whose Location has none (RFC 9110 §10.2.2), never
  sending it to the server;
- submits the auto-submitting pages: the OP's form_post page (OAuth 2.0 Form Post Response
  Mode §2), the app's relay page, and the app's callback-js page, whose script posts the
  fragment's parameters (what ``callback_js.html`` does in a real browser).

Every hop is kept in :attr:`Visit.hops`, so a test can assert which way a login went.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx2

MAX_HOPS = 20
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
FRAGMENT_FORM_ID = "fragment-form"  # the app's callback-js page


@dataclass
class Form:
    """One HTML form: where it goes and its hidden fields."""

    action: str
    method: str
    form_id: str | None
    fields: list[tuple[str, str]] = field(default_factory=list)


def _is_hidden_field(values: dict[str, str]) -> bool:
    return bool(values.get("name")) and values.get("type", "text").lower() == "hidden"


class _FormParser(HTMLParser):
    """Collects forms and their hidden inputs (attribute values unescaped by HTMLParser)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = Form(
                values.get("action", ""),
                values.get("method", "get").lower(),
                values.get("id"),
            )
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and _is_hidden_field(values):
            self._current.fields.append((values["name"], values.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(page: str) -> list[Form]:
    """The forms of an HTML page."""
    parser = _FormParser()
    parser.feed(page)
    parser.close()
    return parser.forms


@dataclass(frozen=True)
class Hop:
    """One request of a navigation and the status it got."""

    method: str
    url: str
    status: int


@dataclass
class Visit:
    """Where a navigation ended: the last response, its URL and every hop on the way."""

    response: httpx2.Response
    url: str
    hops: list[Hop]

    @property
    def status(self) -> int:
        """The status of the last response."""
        return self.response.status_code

    @property
    def text(self) -> str:
        """The body of the last response."""
        return self.response.text

    def went_through(self, path: str) -> bool:
        """True when some hop requested ``path`` (on any host)."""
        return any(urlsplit(hop.url).path == path for hop in self.hops)


def _is_auto_submitting(page: str) -> bool:
    # The OP's page submits on load; the app's relay and callback-js pages by script.
    return "submit()" in page


def _without_fragment(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(fragment="")), parts.fragment


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class Browser:
    """One browser profile: a cookie jar shared by every host, and navigation.

    ``cross_site`` (default): hosts on other ports count as other sites, as the OP is in
    production. A form a page POSTs to another origin then goes without the cookies, as a
    browser does with SameSite=Lax cookies on a cross-site POST (RFC 6265bis §5.6.7.1); GET
    navigations and redirects carry them.
    """

    def __init__(self, *, cross_site: bool = True) -> None:
        self.cross_site = cross_site
        self.http = httpx2.Client(
            follow_redirects=False, timeout=10.0, headers={"accept": BROWSER_ACCEPT}
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def get(self, url: str, **kwargs: Any) -> httpx2.Response:
        """One GET, no redirect followed."""
        return self.http.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx2.Response:
        """One POST, no redirect followed."""
        return self.http.post(url, **kwargs)

    def navigate(
        self,
        url: str,
        *,
        method: str = "GET",
        data: dict[str, str] | list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Visit:
        """Request ``url`` and go on as a browser would until a page that stays put."""
        hops: list[Hop] = []
        url, fragment = _without_fragment(url)
        cookies = True
        for _ in range(MAX_HOPS):
            response = self._send(method, url, data, headers, cookies=cookies)
            cookies = True
            hops.append(Hop(method, url, response.status_code))
            location = response.headers.get("location")
            if response.is_redirect and location:
                target, new_fragment = _without_fragment(urljoin(url, location))
                fragment = new_fragment or fragment
                if response.status_code == 303 or (
                    response.status_code in (301, 302) and method == "POST"
                ):
                    method, data = "GET", None
                url = target
                continue
            form = self._auto_form(response)
            if form is None:
                return Visit(response, url, hops)
            fields = list(form.fields)
            if form.form_id == FRAGMENT_FORM_ID:
                fragment_fields = parse_qsl(fragment, keep_blank_values=True)
                if not fragment_fields:
                    return Visit(response, url, hops)  # the page says: nothing to send
                fields.extend(fragment_fields)
                fragment = ""
            target = urljoin(url, form.action)
            method, data = form.method.upper(), fields
            cookies = not (self.cross_site and method == "POST" and _origin(target) != _origin(url))
            url = target
        raise AssertionError(f"more than {MAX_HOPS} hops; last {url}")

    def _send(
        self,
        method: str,
        url: str,
        data: dict[str, str] | list[tuple[str, str]] | None,
        headers: dict[str, str] | None,
        *,
        cookies: bool = True,
    ) -> httpx2.Response:
        body = None
        if data is not None:
            # A form with repeated names is a list of pairs: encode it as a browser does.
            body = urlencode(list(data.items()) if isinstance(data, dict) else data)
            headers = {"content-type": "application/x-www-form-urlencoded", **(headers or {})}
        request = self.http.build_request(method, url, content=body, headers=headers)
        if not cookies:
            request.headers.pop("cookie", None)
        return self.http.send(request)

    @staticmethod
    def _auto_form(response: httpx2.Response) -> Form | None:
        if response.status_code != 200:
            return None
        if "text/html" not in response.headers.get("content-type", ""):
            return None
        page = response.text
        forms = forms_of(page)
        if len(forms) != 1 or not _is_auto_submitting(page):
            return None
        return forms[0]
