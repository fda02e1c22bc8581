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
import ssl
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from oidc_rp.core.dpop import DPOP_SIGNING_ALGS, check_dpop_key
from oidc_rp.core.jwe import DEFAULT_ENC, SYMMETRIC_ALGS, check_encryption_choice
from oidc_rp.errors import ConfigurationError
from oidc_rp.keys import load_encryption_key, load_private_key
from oidc_rp.sessions.crypto import key_from_text

__all__ = [
    "ENV_PREFIX",
    "PATH_KEYS",
    "SECRET_KEYS",
    "Settings",
    "is_loopback_url",
    "load_settings",
]

log = logging.getLogger("oidc_rp.settings")

ENV_PREFIX = "OIDC_RP_"
SECRET_KEYS = (
    "client_secret",
    "dcr_client_secret",
    "subscription_key",
    "session_encryption_key",
    "request_object_key",
    "client_private_key",
    "client_encryption_key",
    "dpop_key",
)
# Keys holding a private key, inline (PEM or JWK) or as the path of a file.
KEY_KEYS = ("request_object_key", "client_private_key", "client_encryption_key", "dpop_key")
# Paths of files the RP reads; in the settings file, relative to the file's directory.
PATH_KEYS = ("ca_file", "tls_cert_file", "tls_key_file")
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


def _check_url(key: str, url: str | None, *, allow_http: bool) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{key}: must be an absolute https URL")
    if parts.scheme == "http" and not allow_http and not is_loopback_url(url):
        raise ValueError(f"{key}: http is allowed only for loopback hosts; use https")
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL end up in logs and error messages; use the secret settings.
        raise ValueError(f"{key}: must not contain a user name or password")
    # RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component."
    if parts.fragment or url.endswith("#"):
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
    # Encrypted ID tokens and UserInfo responses (OIDC Core §10.2, Registration §2).
    id_token_encrypted_response_alg: str | None = None
    id_token_encrypted_response_enc: str | None = None
    userinfo_encrypted_response_alg: str | None = None
    userinfo_encrypted_response_enc: str | None = None
    client_encryption_key: SecretStr | None = None
    trusted_audiences: tuple[str, ...] = ()
    response_type: str = "code"
    response_mode: str | None = None
    send_parameters_via: SendVia = "query"
    authn_parameters: dict[str, str] = Field(default_factory=dict)
    request_object_key: SecretStr | None = None
    request_object_signing_alg: str | None = None
    # DPoP, sender-constrained tokens (RFC 9449): off unless an algorithm is set.
    dpop_signing_alg: str | None = None
    dpop_key: SecretStr | None = None

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
    port: int = Field(default=5443, ge=1, le=65535)
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
        self._check_urls()
        self._check_op()
        self._check_client()
        self._check_encryption()
        self._check_dpop()
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file: set both tls_cert_file and tls_key_file, or neither")
        if self.session_absolute_timeout < self.session_idle_timeout:
            raise ValueError("session_absolute_timeout: must be >= session_idle_timeout")
        self._check_sessions()
        return self

    def _check_sessions(self) -> None:
        """The store URL's form and the encryption key, so that serve never fails later."""
        store = self.session_store.strip()
        known = store in ("memory", "sqlite") or store.startswith(
            ("sqlite:", "redis://", "rediss://")
        )
        if not known:
            scheme = store.partition(":")[0] if ":" in store else store
            raise ValueError(
                f"session_store: unsupported {scheme[:20]!r}; expected memory, sqlite, "
                "sqlite:///abs/path.db, sqlite:rel/path.db or redis://host:port/db"
            )
        key = self.secret("session_encryption_key")
        if key is not None:
            try:
                key_from_text(key)
            except ValueError:
                raise ValueError(
                    "session_encryption_key: must be 32 random bytes in base64url"
                ) from None

    def _check_urls(self) -> None:
        for key in ("issuer", "discovery_url", "api_endpoint", *ENDPOINT_KEYS, "logout_endpoint"):
            _check_url(key, getattr(self, key), allow_http=False)
        for key in ("base_url", "redirect_uri", "post_logout_redirect_uri"):
            # OIDC Core §3.1.2.1: the redirect_uri MAY use http for a confidential client.
            _check_url(key, getattr(self, key), allow_http=True)

    def _check_op(self) -> None:
        if self.issuer is None and self.discovery_url is not None:
            raise ValueError("discovery_url: set issuer too (Discovery §4.3 compares it)")
        if self.issuer is None:
            # OIDC Core §3.1.3.7 step 2: the iss of every ID token MUST exactly match the
            # issuer; without one no login could succeed. Endpoints set by hand skip discovery.
            raise ValueError(
                "issuer: required (every ID token's iss is compared to it); set endpoints "
                "by hand as well to skip discovery"
            )
        if self.authorization_endpoint and not self.token_endpoint:
            raise ValueError("token_endpoint: required when endpoints are set by hand")
        if not self.verify_ssl_server and self.ca_file is not None:
            raise ValueError("verify_ssl_server: false contradicts ca_file; remove one of them")

    def _check_client(self) -> None:
        # OIDC Core §3.1.2.1: "OpenID Connect requests MUST contain the openid scope value."
        if "openid" not in self.scope.split():
            raise ValueError("scope: must contain 'openid'")
        types = self.response_type.split()
        if "code" not in types or not set(types) <= {"code", "id_token", "token"}:
            raise ValueError(
                "response_type: must be code, 'code id_token', 'code token' or "
                "'code id_token token'"
            )
        if self.response_mode not in (None, "query", "fragment", "form_post"):
            raise ValueError("response_mode: must be query, fragment or form_post")
        if self.id_token_signed_response_alg.lower() == "none":
            raise ValueError("id_token_signed_response_alg: 'none' is not allowed")
        method = self.token_endpoint_auth_method
        if method == "private_key_jwt" and not (self.client_private_key or self.request_object_key):
            raise ValueError("token_endpoint_auth_method: private_key_jwt needs client_private_key")
        needs_secret = method in ("client_secret_basic", "client_secret_post", "client_secret_jwt")
        if needs_secret and self.client_id and self.client_secret is None:
            raise ValueError(f"client_secret: required by token_endpoint_auth_method {method}")

    def _check_encryption(self) -> None:
        asymmetric_in_use = False
        for kind in ("id_token", "userinfo"):
            alg_key, enc_key = f"{kind}_encrypted_response_alg", f"{kind}_encrypted_response_enc"
            alg, enc = getattr(self, alg_key), getattr(self, enc_key)
            if alg is None:
                # Registration §2: "If id_token_encrypted_response_enc is included,
                # id_token_encrypted_response_alg MUST also be provided." (likewise userinfo)
                if enc is not None:
                    raise ValueError(f"{enc_key}: set {alg_key} too")
                continue
            try:
                check_encryption_choice(alg, enc or DEFAULT_ENC)
            except ValueError as exc:
                key = enc_key if str(exc).startswith("unsupported content") else alg_key
                raise ValueError(f"{key}: {exc}") from None
            if alg in SYMMETRIC_ALGS:
                # OIDC Core §10.2: the symmetric key is derived from the client_secret.
                if self.client_id and self.client_secret is None:
                    raise ValueError(
                        f"{alg_key}: {alg} needs client_secret (the key derives from it)"
                    )
                continue
            asymmetric_in_use = True
            if self.client_encryption_key is None:
                raise ValueError(f"{alg_key}: {alg} needs client_encryption_key")
        if self.client_encryption_key is not None and not asymmetric_in_use:
            raise ValueError(
                "client_encryption_key: set, but no *_encrypted_response_alg uses it "
                "(RSA-OAEP, RSA-OAEP-256, ECDH-ES...)"
            )

    def _check_dpop(self) -> None:
        alg = self.dpop_signing_alg
        if alg is None:
            if self.dpop_key is not None:
                raise ValueError("dpop_key: set dpop_signing_alg too")
            return
        # RFC 9449 §4.2: alg "MUST NOT be none or an identifier for a symmetric algorithm".
        if alg.lower() == "none" or alg.upper().startswith("HS"):
            raise ValueError(
                f"dpop_signing_alg: {alg!r} is refused (none and symmetric algorithms)"
            )
        if alg not in DPOP_SIGNING_ALGS:
            raise ValueError(
                f"dpop_signing_alg: unsupported {alg!r} (one of {', '.join(DPOP_SIGNING_ALGS)})"
            )

    # Derived values -------------------------------------------------------------

    @property
    def id_token_encryption(self) -> tuple[str, str] | None:
        """(alg, enc) ID tokens must be encrypted with, or None (enc default: Registration §2)."""
        alg = self.id_token_encrypted_response_alg
        return None if alg is None else (alg, self.id_token_encrypted_response_enc or DEFAULT_ENC)

    @property
    def userinfo_encryption(self) -> tuple[str, str] | None:
        """(alg, enc) UserInfo responses must be encrypted with, or None (Registration §2)."""
        alg = self.userinfo_encrypted_response_alg
        return None if alg is None else (alg, self.userinfo_encrypted_response_enc or DEFAULT_ENC)

    @property
    def encryption_key_alg(self) -> str | None:
        """The one asymmetric alg that uses ``client_encryption_key`` (for its JWK), or None."""
        algs = {
            pair[0]
            for pair in (self.id_token_encryption, self.userinfo_encryption)
            if pair is not None and pair[0] not in SYMMETRIC_ALGS
        }
        return algs.pop() if len(algs) == 1 else None

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
                "INSECURE: verify_ssl_server is false: TLS certificates of the OP are NOT "
                "verified; anyone on the network can impersonate it. Use ca_file instead."
            )
        for key in ("issuer", "discovery_url", "api_endpoint", *ENDPOINT_KEYS):
            url = getattr(self, key)
            if url and url.startswith("http://"):
                out.append(f"{key} uses plain http (allowed for loopback hosts only): {url}")
                break
        for key in ("base_url", "redirect_uri", "post_logout_redirect_uri"):
            url = getattr(self, key)
            if url and url.startswith("http://") and not is_loopback_url(url):
                out.append(f"{key} uses plain http on a non-loopback host: {url}")
        return out


# Loading ------------------------------------------------------------------------


class _Source:
    """Where the values come from, for error lines: the file, and keys set by env vars."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.from_env: dict[str, str] = {}

    def error(self, key: str, problem: str) -> ConfigurationError:
        """One line: ``<file>: <key>: <problem>`` (naming the env var when it set the key)."""
        where = f" (from {self.from_env[key]})" if key in self.from_env else ""
        return ConfigurationError(f"{self.file}: {key}: {problem}{where}")


def _kind(key: str) -> type | None:
    """dict or tuple for keys whose env value is JSON, else None."""
    origin = typing.get_origin(Settings.model_fields[key].annotation)
    return origin if origin in (dict, tuple) else None


def _env_value(key: str, raw: str, source: _Source) -> Any:
    kind = _kind(key)
    if kind is None:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        if kind is tuple:  # a space-separated list is accepted too
            return tuple(raw.split())
        raise source.error(key, "not valid JSON") from None


def _apply_env(data: dict[str, Any], env: Mapping[str, str], source: _Source) -> None:
    for key in Settings.model_fields:
        name = f"{ENV_PREFIX}{key.upper()}"
        file_name = f"{name}_FILE"
        if key in SECRET_KEYS and name in env and file_name in env:
            raise ConfigurationError(f"{source.file}: {key}: set {name} or {file_name}, not both")
        if name in env:
            source.from_env[key] = name
            data.pop(f"{key}_file", None)
            data[key] = _env_value(key, env[name], source)
        elif key in SECRET_KEYS and file_name in env:
            source.from_env[key] = file_name
            data.pop(key, None)
            data[key] = _read_secret(Path(env[file_name]), key, source)


def _read_secret(path: Path, key: str, source: _Source) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise source.error(key, f"cannot read {path}: {exc.strerror}") from None
    if not value:
        raise source.error(key, f"{path} is empty")
    return value


def _resolve_file_values(data: dict[str, Any], base: Path, source: _Source) -> None:
    """Read ``<key>_file`` secrets and key files; resolve read paths against ``base``."""
    for key in SECRET_KEYS:
        file_key = f"{key}_file"
        if file_key not in data:
            continue
        if key in data:
            raise source.error(file_key, f"set {key} or {file_key}, not both")
        if not isinstance(data[file_key], str):
            raise source.error(file_key, "must be a path (a string)")
        data[key] = _read_secret(base / data.pop(file_key), key, source)
    for key in KEY_KEYS:
        value = data.get(key)
        if isinstance(value, str) and not value.strip().startswith(("{", "-----BEGIN")):
            data[key] = _read_secret(base / value.strip(), key, source)
    for key in PATH_KEYS:
        if isinstance(data.get(key), str):
            data[key] = str(base / data[key])


def _first_error(source: _Source, exc: ValidationError) -> ConfigurationError:
    err = exc.errors()[0]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key (see docs/configuration.md)"
    if err["loc"]:
        return source.error(".".join(str(p) for p in err["loc"]), msg)
    key, _, problem = msg.partition(": ")  # model-level checks say "<key>: <problem>"
    return source.error(key, problem)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read: {getattr(exc, 'strerror', exc)}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: must contain a JSON object")
    return data


def _check_files(settings: Settings, source: _Source) -> None:
    """Files named by the settings must be readable, keys and CA bundles parseable."""
    for key in ("tls_cert_file", "tls_key_file"):
        path = getattr(settings, key)
        if path is not None and not Path(path).is_file():
            raise source.error(key, f"no such file: {path}")
    if settings.ca_file is not None:
        try:
            ssl.create_default_context(cafile=settings.ca_file)
        except ssl.SSLError:
            problem = "not a PEM certificate bundle"
            raise source.error("ca_file", f"cannot use {settings.ca_file}: {problem}") from None
        except OSError as exc:
            raise source.error(
                "ca_file", f"cannot use {settings.ca_file}: {exc.strerror}"
            ) from None
    for key in KEY_KEYS:
        value = settings.secret(key)
        if value is not None:
            load = load_encryption_key if key == "client_encryption_key" else load_private_key
            try:
                loaded = load(key, value)
            except ConfigurationError as exc:
                raise source.error(key, exc.message.partition(": ")[2]) from None
            if key == "dpop_key" and settings.dpop_signing_alg is not None:
                try:
                    check_dpop_key(loaded, settings.dpop_signing_alg)
                except ValueError as exc:
                    raise source.error(key, str(exc).partition(": ")[2]) from None


def load_settings(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Load settings from ``path`` (default ``settings.json``), then environment overrides.

    Each key may be overridden by ``OIDC_RP_<KEY>``; each secret key also accepts
    ``<key>_file`` in the file (relative to the file's directory) or
    ``OIDC_RP_<KEY>_FILE`` naming a file to read it from. ``overrides`` (from code)
    win over both. Raises ConfigurationError with one line ``<file>: <key>: <problem>``
    that never contains a secret value.
    """
    file = Path(path) if path is not None else Path("settings.json")
    source = _Source(file)
    data = _read_file(file) if path is not None or file.exists() else {}
    _resolve_file_values(data, file.parent, source)
    _apply_env(data, env or {}, source)
    data.update(overrides or {})
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise _first_error(source, exc) from None
    _check_files(settings, source)
    for warning in settings.warnings():
        log.warning("%s", warning)
    return settings
