"""The RelyingParty's settings, clients and login for the tests of tests/test_client*.py.

The login drives node-oidc-provider's dev login and consent pages programmatically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from oidc_rp.client import Login, RelyingParty
from oidc_rp.core.authorize import AuthorizationOptions
from oidc_rp.settings import Settings

from .node_op import NodeOP, login_via_dev_interactions

REDIRECT_URI = "http://127.0.0.1:9/callback"
SECRET = "rp-client-secret-0123456789abcdef0123456789abcdef"


def _client(client_id: str, method: str = "client_secret_basic", **extra: Any) -> dict[str, Any]:
    client: dict[str, Any] = {
        "client_id": client_id,
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": ["http://127.0.0.1:9/logged-out"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
        **extra,
    }
    if method != "private_key_jwt" and method != "none":
        client["client_secret"] = SECRET
    return client


def _settings(op: NodeOP, tmp_path: Path, **values: Any) -> Settings:
    base: dict[str, Any] = {
        "issuer": op.issuer,
        "client_id": "basic",
        "client_secret": SECRET,
        "redirect_uri": REDIRECT_URI,
        "post_logout_redirect_uri": "http://127.0.0.1:9/logged-out",
        "scope": "openid profile email offline_access",
        "data_dir": str(tmp_path / "data"),
    }
    base.update(values)
    return Settings.model_validate(base)


def _params(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return dict(parse_qsl(parts.query or parts.fragment))


OFFLINE = AuthorizationOptions(scope="openid profile email offline_access", prompt="consent")


async def _login(rp: RelyingParty, options: AuthorizationOptions = OFFLINE, **kw: Any) -> Login:
    url, pending = await rp.start_login(options, **kw)
    result = await login_via_dev_interactions(url)
    params = result.form if result.form is not None else _params(result.url)
    return await rp.finish_login(pending, params)
