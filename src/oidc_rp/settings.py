"""Settings: one JSON file (``settings.json``), overridable key by key from the environment.

Every key of the original Curity sample keeps its name and meaning; see
docs/configuration.md for the full reference. ``load_settings`` raises
:class:`~oidc_rp.errors.ConfigurationError` with one line naming the file, the key and
what is wrong; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from oidc_rp.errors import ConfigurationError

__all__ = ["ENV_PREFIX", "SECRET_KEYS", "Settings", "is_loopback_url", "load_settings"]

log = logging.getLogger("oidc_rp.settings")

ENV_PREFIX = "OIDC_RP_"
SECRET_KEYS = (
    "client_secret",
    "dcr_client_secret",
    "subscription_key",
    "session_encryption_key",
    "request_object_key",
    "client_private_key",
)
ENDPOINT_KEYS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "revocation_endpoint",
    "introspection_endpoint",
    "registration_endpoint",
    "end_session_endpoint",
    "pushed_authorization_request_endpoint",
)

SendVia = Literal["query", "request_object", "request_uri", "par"]
AuthMethod = Literal[
    "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"
]


def is_loopback_url(url: str) -> bool:
    """True when the URL's host is localhost or a loopback address (127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(key: str, url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"{key}: must be an absolute https URL")
    if parts.scheme == "http" and not is_loopback_url(url):
        raise ValueError(f"{key}: http is allowed only for loopback hosts; use https")
    if parts.fragment:
        raise ValueError(f"{key}: must not contain a fragment")


class Settings(BaseModel):
    """The validated settings of one oidc-rp instance (docs/configuration.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The OP: discovered from the issuer, or endpoints set by hand.
    issuer: str | None = None
    discovery_url: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    registration_endpoint: str | None = None
    end_session_endpoint: str | None = None
    logout_endpoint: str | None = None  # the sample's name for end_session_endpoint
    pushed_authorization_request_endpoint: str | None = None

    # The client.
    client_id: str | None = None
    client_secret: SecretStr | None = None
    redirect_uri: str | None = None
    post_logout_redirect_uri: str | None = None
    scope: str = "openid"
    audience: str | None = None
    token_endpoint_auth_method: AuthMethod | None = None
    token_endpoint_auth_signing_alg: str | None = None
    client_private_key: SecretStr | None = None
    id_token_signed_response_alg: str = "RS256"
    userinfo_signed_response_alg: str | None = None
    trusted_audiences: tuple[str, ...] = ()
    response_type: str = "code"
    response_mode: str | None = None
    send_parameters_via: SendVia = "query"
    authn_parameters: dict[str, str] = Field(default_factory=dict)
    request_object_key: SecretStr | None = None
    request_object_signing_alg: str | None = None

    # Dynamic client registration (RFC 7591), as in the sample.
    dcr_client_id: str | None = None
    dcr_client_secret: SecretStr | None = None
    template_client: str | None = None
    registration_file: str | None = None

    # The API called with the access token.
    api_endpoint: str | None = None
    subscription_key: SecretStr | None = None
    subscription_key_header: str = "Ocp-Apim-Subscription-Key"

    # HTTP to the OP.
    verify_ssl_server: bool = True
    ca_file: str | None = None
    http_timeout: float = Field(default=10.0, gt=0, le=300)
    clock_skew: int = Field(default=60, ge=0, le=600)

    # The web app.
    base_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=5443, ge=0, le=65535)
    disable_https: bool = False
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    data_dir: str = ".oidc-rp"
    session_store: str = "sqlite"
    session_idle_timeout: int = Field(default=1800, gt=0)
    session_absolute_timeout: int = Field(default=28800, gt=0)
    session_encryption_key: SecretStr | None = None
    debug: bool = False

    @model_validator(mode="after")
    def _check(self) -> Settings:
        for key in ("issuer", "discovery_url", "api_endpoint", *ENDPOINT_KEYS, "logout_endpoint"):
            _check_url(key, getattr(self, key))
        if self.issuer is None and self.authorization_endpoint is None:
            raise ValueError("issuer: set issuer (or authorization_endpoint and token_endpoint)")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file: set both tls_cert_file and tls_key_file, or neither")
        if "openid" not in self.scope.split():
            raise ValueError("scope: must contain 'openid'")
        if self.session_absolute_timeout < self.session_idle_timeout:
            raise ValueError("session_absolute_timeout: must be >= session_idle_timeout")
        if self.id_token_signed_response_alg.lower() == "none":
            raise ValueError("id_token_signed_response_alg: 'none' is not allowed")
        return self

    # Derived values -------------------------------------------------------------

    @property
    def effective_base_url(self) -> str:
        """``base_url``, or ``https://localhost:<port>`` (``http`` with disable_https)."""
        if self.base_url:
            return self.base_url.rstrip("/")
        scheme = "http" if self.disable_https else "https"
        return f"{scheme}://localhost:{self.port}"

    @property
    def effective_redirect_uri(self) -> str:
        """``redirect_uri``, or ``{base_url}/callback``."""
        return self.redirect_uri or f"{self.effective_base_url}/callback"

    @property
    def effective_post_logout_redirect_uri(self) -> str:
        """``post_logout_redirect_uri``, or ``{base_url}/logged-out``."""
        return self.post_logout_redirect_uri or f"{self.effective_base_url}/logged-out"

    @property
    def effective_end_session_endpoint(self) -> str | None:
        """The end-session endpoint set by hand (end_session_endpoint or logout_endpoint)."""
        return self.end_session_endpoint or self.logout_endpoint

    @property
    def data_path(self) -> Path:
        """The data directory (sessions, keys, registration, certificates)."""
        return Path(self.data_dir)

    @property
    def registration_path(self) -> Path:
        """Where a dynamic registration is kept."""
        return Path(self.registration_file or self.data_path / "registration.json")

    def secret(self, key: str) -> str | None:
        """The plain value of a secret setting, or None."""
        value = getattr(self, key)
        return value.get_secret_value() if isinstance(value, SecretStr) else None

    def warnings(self) -> list[str]:
        """Start-up warnings for settings that weaken security."""
        out = []
        if not self.verify_ssl_server:
            out.append(
                "verify_ssl_server is false: TLS certificates of the OP are NOT verified; "
                "anyone on the network can impersonate it. Use ca_file instead."
            )
        for key in ("issuer", *ENDPOINT_KEYS):
            url = getattr(self, key)
            if url and url.startswith("http://"):
                out.append(f"{key} uses plain http (allowed for loopback only): {url}")
                break
        return out


# Loading ------------------------------------------------------------------------


def _env_value(key: str, raw: str) -> Any:
    field = Settings.model_fields[key]
    annotation = str(field.annotation)
    if "dict" in annotation or "tuple" in annotation:
        try:
            return json.loads(raw)
        except ValueError:
            if "tuple" in annotation:
                return tuple(v for v in raw.split() if v)
            raise ConfigurationError(
                f"environment: {ENV_PREFIX}{key.upper()}: not valid JSON"
            ) from None
    return raw


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> None:
    for key in Settings.model_fields:
        name = f"{ENV_PREFIX}{key.upper()}"
        if name in env:
            data[key] = _env_value(key, env[name])
        if key in SECRET_KEYS and f"{name}_FILE" in env:
            data[f"{key}_file"] = env[f"{name}_FILE"]


def _read_secret_files(data: dict[str, Any], base: Path) -> None:
    for key in SECRET_KEYS:
        file_key = f"{key}_file"
        if file_key not in data:
            continue
        path = base / str(data.pop(file_key))
        try:
            data[key] = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(f"{file_key}: cannot read {path}: {exc.strerror}") from None


def _first_error(source: str, exc: ValidationError) -> ConfigurationError:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key (see docs/configuration.md)"
    if ":" in msg and not loc:
        return ConfigurationError(f"{source}: {msg}")
    return ConfigurationError(f"{source}: {loc}: {msg}" if loc else f"{source}: {msg}")


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: must contain a JSON object")
    return data


def load_settings(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Load settings from ``path`` (default ``settings.json``), then environment overrides.

    Each key may be overridden by ``OIDC_RP_<KEY>``; each secret key also accepts
    ``<key>_file`` in the file (or ``OIDC_RP_<KEY>_FILE``) naming a file to read it from.
    Raises ConfigurationError naming the source, the key and the problem.
    """
    env = env or {}
    explicit = path is not None
    file = Path(path) if path is not None else Path("settings.json")
    data: dict[str, Any] = {}
    if explicit or file.exists():
        data = _read_file(file)
    _apply_env(data, env)
    data.update(overrides or {})
    _read_secret_files(data, file.parent)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise _first_error(str(file), exc) from None
    for warning in settings.warnings():
        log.warning("%s", warning)
    return settings
