"""Settings: defaults, env overrides, secrets from files, one clear line per bad value."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey, OKPKey, RSAKey

from oidc_rp.errors import ConfigurationError
from oidc_rp.settings import Settings, load_settings
from oidc_rp.tls import ensure_self_signed_certificate

BASE: dict[str, Any] = {"issuer": "https://op.example", "client_id": "rp"}
SECRET = "s3cr3t-value-that-must-never-leak"

DEFAULTS: dict[str, Any] = {
    "issuer": "https://op.example",  # set by BASE
    "discovery_url": None,
    "authorization_endpoint": None,
    "token_endpoint": None,
    "userinfo_endpoint": None,
    "jwks_uri": None,
    "revocation_endpoint": None,
    "introspection_endpoint": None,
    "registration_endpoint": None,
    "end_session_endpoint": None,
    "logout_endpoint": None,
    "pushed_authorization_request_endpoint": None,
    "client_id": "rp",  # set by BASE
    "client_secret": None,
    "redirect_uri": None,
    "post_logout_redirect_uri": None,
    "scope": "openid",
    "audience": None,
    "token_endpoint_auth_method": None,
    "token_endpoint_auth_signing_alg": None,
    "client_private_key": None,
    "id_token_signed_response_alg": "RS256",
    "userinfo_signed_response_alg": None,
    "id_token_encrypted_response_alg": None,
    "id_token_encrypted_response_enc": None,
    "userinfo_encrypted_response_alg": None,
    "userinfo_encrypted_response_enc": None,
    "client_encryption_key": None,
    "trusted_audiences": (),
    "response_type": "code",
    "response_mode": None,
    "send_parameters_via": "query",
    "authn_parameters": {},
    "request_object_key": None,
    "request_object_signing_alg": None,
    "dpop_signing_alg": None,
    "dpop_key": None,
    "dcr_client_id": None,
    "dcr_client_secret": None,
    "template_client": None,
    "registration_file": None,
    "api_endpoint": None,
    "subscription_key": None,
    "subscription_key_header": "Ocp-Apim-Subscription-Key",
    "verify_ssl_server": True,
    "ca_file": None,
    "http_timeout": 10.0,
    "clock_skew": 60,
    "base_url": None,
    "host": "127.0.0.1",
    "port": 5443,
    "disable_https": False,
    "tls_cert_file": None,
    "tls_key_file": None,
    "data_dir": ".oidc-rp",
    "session_store": "sqlite",
    "session_idle_timeout": 1800,
    "session_absolute_timeout": 28800,
    "session_encryption_key": None,
    "debug": False,
}


def _write(tmp_path: Path, values: dict[str, Any], name: str = "settings.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(values), encoding="utf-8")
    return path


def _load(tmp_path: Path, env: dict[str, str] | None = None, **values: Any) -> Settings:
    return load_settings(_write(tmp_path, {**BASE, **values}), env or {})


def _error(tmp_path: Path, env: dict[str, str] | None = None, **values: Any) -> str:
    with pytest.raises(ConfigurationError) as info:
        _load(tmp_path, env, **values)
    return info.value.message


def test_every_key_has_a_tested_default() -> None:
    assert set(DEFAULTS) == set(Settings.model_fields)


@pytest.mark.parametrize(("key", "default"), sorted(DEFAULTS.items()))
def test_default(tmp_path: Path, key: str, default: Any) -> None:
    assert getattr(_load(tmp_path), key) == default


def test_derived_defaults(tmp_path: Path) -> None:
    settings = _load(tmp_path)
    assert settings.effective_base_url == "https://localhost:5443"
    assert settings.effective_redirect_uri == "https://localhost:5443/callback"
    assert settings.effective_post_logout_redirect_uri == "https://localhost:5443/logged-out"
    assert settings.registration_path == Path(".oidc-rp/registration.json")
    plain = _load(tmp_path, disable_https=True, port=8080)
    assert plain.effective_redirect_uri == "http://localhost:8080/callback"


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("client_id", "from-env", "from-env"),
        ("scope", "openid profile", "openid profile"),
        ("port", "8443", 8443),
        ("clock_skew", "5", 5),
        ("http_timeout", "2.5", 2.5),
        ("debug", "true", True),
        ("disable_https", "1", True),
        ("verify_ssl_server", "yes", True),
        ("authn_parameters", '{"acr_values": "urn:x"}', {"acr_values": "urn:x"}),
        ("trusted_audiences", '["a", "b"]', ("a", "b")),
        ("trusted_audiences", "a b", ("a", "b")),
        ("send_parameters_via", "par", "par"),
    ],
)
def test_env_override(tmp_path: Path, key: str, raw: str, expected: Any) -> None:
    settings = _load(tmp_path, {f"OIDC_RP_{key.upper()}": raw}, client_id="file")
    assert getattr(settings, key) == expected


def test_env_overrides_file_and_overrides_win_over_env(tmp_path: Path) -> None:
    path = _write(tmp_path, {**BASE, "port": 1111})
    assert load_settings(path, {"OIDC_RP_PORT": "2222"}).port == 2222
    assert load_settings(path, {"OIDC_RP_PORT": "2222"}, overrides={"port": 3333}).port == 3333


def test_secret_from_file_relative_to_settings_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "secret.txt").write_text(SECRET + "\n")
    path = _write(tmp_path / "conf", {**BASE, "client_secret_file": "secret.txt"})
    assert load_settings(path, {}).secret("client_secret") == SECRET


def test_secret_from_env_file(tmp_path: Path) -> None:
    (tmp_path / "dcr.txt").write_text(SECRET)
    env = {"OIDC_RP_DCR_CLIENT_SECRET_FILE": str(tmp_path / "dcr.txt")}
    settings = _load(tmp_path, env, dcr_client_secret="from-file")
    assert settings.secret("dcr_client_secret") == SECRET


def test_secret_from_env(tmp_path: Path) -> None:
    settings = _load(tmp_path, {"OIDC_RP_CLIENT_SECRET": SECRET})
    assert settings.secret("client_secret") == SECRET


def test_private_key_by_path_relative_to_settings_file(tmp_path: Path) -> None:
    key = ECKey.generate_key("P-256", private=True)
    (tmp_path / "ro.jwk").write_text(json.dumps(key.as_dict(private=True)))
    settings = _load(tmp_path, request_object_key="ro.jwk")
    assert settings.secret("request_object_key") == json.dumps(key.as_dict(private=True))


def test_tls_and_ca_paths_relative_to_settings_file(tmp_path: Path) -> None:
    cert, key = ensure_self_signed_certificate(tmp_path / "tls")
    settings = _load(
        tmp_path,
        tls_cert_file="tls/" + cert.name,
        tls_key_file="tls/" + key.name,
        ca_file="tls/" + cert.name,
    )
    assert settings.tls_cert_file == str(cert)
    assert settings.ca_file == str(cert)


def test_endpoints_by_hand_still_need_the_issuer(tmp_path: Path) -> None:
    endpoints = {
        "authorization_endpoint": "https://op.example/a",
        "token_endpoint": "https://op.example/t",
    }
    with pytest.raises(ConfigurationError, match="issuer: required"):
        load_settings(_write(tmp_path, endpoints), {})
    by_hand = load_settings(_write(tmp_path, {**endpoints, "issuer": "https://op.example"}), {})
    assert by_hand.authorization_endpoint == "https://op.example/a"


def test_missing_default_file_is_an_empty_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as info:
        load_settings(None, {})
    assert info.value.message.startswith("settings.json: issuer: required")
    assert (
        load_settings(None, {"OIDC_RP_ISSUER": "https://op.example"}).issuer == "https://op.example"
    )


# Each bad value: (values, env, expected line after "<file>: ").
BAD: list[tuple[dict[str, Any], dict[str, str], str]] = [
    (
        {"session_store": "postgres://db"},
        {},
        "session_store: unsupported 'postgres'; expected memory, sqlite, "
        "sqlite:///abs/path.db, sqlite:rel/path.db or redis://host:port/db",
    ),
    (
        {"session_encryption_key": "too-short"},
        {},
        "session_encryption_key: must be 32 random bytes in base64url",
    ),
    (
        {"issuer": "https://user:pw@op.example"},
        {},
        "issuer: must not contain a user name or password",
    ),
    ({"colour": "blue"}, {}, "colour: unknown key (see docs/configuration.md)"),
    ({"port": 70000}, {}, "port: Input should be less than or equal to 65535"),
    ({"port": 0}, {}, "port: Input should be greater than or equal to 1"),
    (
        {},
        {"OIDC_RP_PORT": "99999"},
        "port: Input should be less than or equal to 65535 (from OIDC_RP_PORT)",
    ),
    (
        {},
        {"OIDC_RP_PORT": "http"},
        "port: Input should be a valid integer, unable to parse string as an integer"
        " (from OIDC_RP_PORT)",
    ),
    (
        {},
        {"OIDC_RP_DEBUG": "maybe"},
        "debug: Input should be a valid boolean, unable to interpret input (from OIDC_RP_DEBUG)",
    ),
    (
        {},
        {"OIDC_RP_AUTHN_PARAMETERS": "{nope"},
        "authn_parameters: not valid JSON (from OIDC_RP_AUTHN_PARAMETERS)",
    ),
    (
        {"issuer": "http://op.example"},
        {},
        "issuer: http is allowed only for loopback hosts; use https",
    ),
    ({"issuer": "ftp://op.example"}, {}, "issuer: must be an absolute https URL"),
    ({"issuer": "https://op.example#x"}, {}, "issuer: must not contain a fragment"),
    (
        {"api_endpoint": "http://api.example/x"},
        {},
        "api_endpoint: http is allowed only for loopback hosts; use https",
    ),
    (
        {"redirect_uri": "https://rp.example/cb#frag"},
        {},
        "redirect_uri: must not contain a fragment",
    ),
    ({"redirect_uri": "/callback"}, {}, "redirect_uri: must be an absolute https URL"),
    (
        {"issuer": None},
        {},
        "issuer: required (every ID token's iss is compared to it); "
        "set endpoints by hand as well to skip discovery",
    ),
    (
        {"authorization_endpoint": "https://op.example/a"},
        {},
        "token_endpoint: required when endpoints are set by hand",
    ),
    (
        {"issuer": None, "discovery_url": "https://op.example/d"},
        {},
        "discovery_url: set issuer too (Discovery §4.3 compares it)",
    ),
    ({"scope": "profile email"}, {}, "scope: must contain 'openid'"),
    (
        {"response_type": "token"},
        {},
        "response_type: must be code, 'code id_token', 'code token' or 'code id_token token'",
    ),
    ({"response_mode": "web_message"}, {}, "response_mode: must be query, fragment or form_post"),
    (
        {"send_parameters_via": "carrier_pigeon"},
        {},
        "send_parameters_via: Input should be 'query', 'request_object', 'request_uri' or 'par'",
    ),
    (
        {"token_endpoint_auth_method": "magic"},
        {},
        "token_endpoint_auth_method: Input should be 'client_secret_basic', "
        "'client_secret_post', 'client_secret_jwt', 'private_key_jwt' or 'none'",
    ),
    (
        {"token_endpoint_auth_method": "private_key_jwt"},
        {},
        "token_endpoint_auth_method: private_key_jwt needs client_private_key",
    ),
    (
        {"token_endpoint_auth_method": "client_secret_post"},
        {},
        "client_secret: required by token_endpoint_auth_method client_secret_post",
    ),
    (
        {"id_token_signed_response_alg": "none"},
        {},
        "id_token_signed_response_alg: 'none' is not allowed",
    ),
    (
        {"tls_cert_file": "cert.pem"},
        {},
        "tls_cert_file: set both tls_cert_file and tls_key_file, or neither",
    ),
    (
        {"session_idle_timeout": 600, "session_absolute_timeout": 60},
        {},
        "session_absolute_timeout: must be >= session_idle_timeout",
    ),
    ({"http_timeout": 0}, {}, "http_timeout: Input should be greater than 0"),
    ({"clock_skew": -1}, {}, "clock_skew: Input should be greater than or equal to 0"),
    ({"authn_parameters": {"x": 1}}, {}, "authn_parameters.x: Input should be a valid string"),
    (
        {"verify_ssl_server": False, "ca_file": "ca.pem"},
        {},
        "verify_ssl_server: false contradicts ca_file; remove one of them",
    ),
    (
        {"client_secret": SECRET, "client_secret_file": "s.txt"},
        {},
        "client_secret_file: set client_secret or client_secret_file, not both",
    ),
    ({"client_secret_file": 7}, {}, "client_secret_file: must be a path (a string)"),
    (
        {},
        {"OIDC_RP_CLIENT_SECRET": SECRET, "OIDC_RP_CLIENT_SECRET_FILE": "x"},
        "client_secret: set OIDC_RP_CLIENT_SECRET or OIDC_RP_CLIENT_SECRET_FILE, not both",
    ),
    (
        {
            "request_object_key": "-----BEGIN PRIVATE KEY-----\n"
            + SECRET
            + "\n-----END PRIVATE KEY-----"
        },
        {},
        "request_object_key: not a private RSA, EC or OKP key",
    ),
    (
        {"client_private_key": '{"kty": "EC", "d": "' + SECRET + '"'},
        {},
        "client_private_key: not a valid JWK (bad JSON)",
    ),
]


@pytest.mark.parametrize(("values", "env", "line"), BAD)
def test_bad_value_gives_one_line_naming_file_and_key(
    tmp_path: Path, values: dict[str, Any], env: dict[str, str], line: str
) -> None:
    message = _error(tmp_path, env, **values)
    assert message == f"{tmp_path / 'settings.json'}: {line}"
    assert "\n" not in message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("values", "line_end"),
    [
        (
            {"client_secret_file": "missing.txt"},
            "client_secret: cannot read {d}/missing.txt: No such file or directory",
        ),
        (
            {"request_object_key": "missing.pem"},
            "request_object_key: cannot read {d}/missing.pem: No such file or directory",
        ),
        (
            {"tls_cert_file": "c.pem", "tls_key_file": "k.pem"},
            "tls_cert_file: no such file: {d}/c.pem",
        ),
        ({"ca_file": "ca.pem"}, "ca_file: cannot use {d}/ca.pem: No such file or directory"),
        (
            {"ca_file": "empty.pem"},
            "ca_file: cannot use {d}/empty.pem: not a PEM certificate bundle",
        ),
        ({"client_secret_file": "empty.pem"}, "client_secret: {d}/empty.pem is empty"),
    ],
)
def test_bad_file_gives_one_line(tmp_path: Path, values: dict[str, Any], line_end: str) -> None:
    (tmp_path / "empty.pem").write_text("")
    message = _error(tmp_path, **values)
    assert message == f"{tmp_path / 'settings.json'}: {line_end.format(d=tmp_path)}"


def test_env_secret_file_missing(tmp_path: Path) -> None:
    message = _error(tmp_path, {"OIDC_RP_CLIENT_SECRET_FILE": str(tmp_path / "nope")})
    assert message == (
        f"{tmp_path / 'settings.json'}: client_secret: cannot read {tmp_path / 'nope'}: "
        "No such file or directory (from OIDC_RP_CLIENT_SECRET_FILE)"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '{\n  "issuer": "https://op.example",\n  "port": 5443,\n}\n',
            "not valid JSON (line 4, column 1: Expecting property name enclosed in double quotes)",
        ),
        ("[1, 2]", "must contain a JSON object"),
        ("\n\n", "not valid JSON (line 3, column 1: Expecting value)"),
    ],
)
def test_bad_json_names_the_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as info:
        load_settings(path, {})
    assert info.value.message == f"{path}: {problem}"


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(tmp_path / "nope.json", {})
    assert info.value.message == f"{tmp_path / 'nope.json'}: file not found"


def test_http_loopback_issuer_is_accepted_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="oidc_rp.settings"):
        settings = _load(tmp_path, issuer="http://127.0.0.1:9000")
    assert settings.issuer == "http://127.0.0.1:9000"
    assert "issuer uses plain http (allowed for loopback hosts only)" in caplog.text
    for host in ("http://localhost:1", "http://[::1]:2", "http://127.8.9.10"):
        assert _load(tmp_path, issuer=host).issuer == host


def test_verify_ssl_server_false_logs_a_loud_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="oidc_rp.settings"):
        settings = _load(tmp_path, verify_ssl_server=False)
    assert settings.verify_ssl_server is False
    [record] = [r for r in caplog.records if "verify_ssl_server" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("INSECURE: verify_ssl_server is false")


def test_http_redirect_uri_elsewhere_is_accepted_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="oidc_rp.settings"):
        _load(tmp_path, redirect_uri="http://rp.example/callback")
    assert "redirect_uri uses plain http on a non-loopback host" in caplog.text


def test_secrets_never_in_repr(tmp_path: Path) -> None:
    values = {key: SECRET for key in ("client_secret", "dcr_client_secret", "subscription_key")}
    session_key = base64.urlsafe_b64encode(b"k" * 32).rstrip(b"=").decode()
    values["session_encryption_key"] = session_key
    settings = load_settings(_write(tmp_path, {**BASE, **values}), {})
    assert session_key not in repr(settings)
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert settings.secret("subscription_key") == SECRET
    assert settings.secret("client_id") is None


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = _load(tmp_path)
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1


ROOT = Path(__file__).resolve().parents[1]


def test_example_file_has_every_key_and_loads() -> None:
    path = ROOT / "settings.example.json"
    assert set(json.loads(path.read_text())) == set(Settings.model_fields)
    assert load_settings(path, {}).client_id == "my-client"


def test_configuration_doc_documents_every_key() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    rows = {line.split("`")[1] for line in doc.splitlines() if line.startswith("| `")}
    assert rows == set(Settings.model_fields)
    for key in Settings.model_fields:
        assert f"`OIDC_RP_{key.upper()}`" in doc


@pytest.mark.parametrize("name", ["curity.json", "node-oidc-provider.json", "keycloak.json"])
def test_documented_examples_load(tmp_path: Path, name: str) -> None:
    """Each example loads once the files it names (secrets, CA, certificate) exist."""
    values = json.loads((ROOT / "docs" / "examples" / name).read_text())
    cert, key = ensure_self_signed_certificate(tmp_path / "generated")
    for field, value in values.items():
        target = tmp_path / str(value)
        if field.endswith("_file") and field not in ("tls_key_file", "registration_file"):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(cert.read_bytes() if "cert" in field or "ca" in field else b"x")
        if field == "tls_key_file":
            target.write_bytes(key.read_bytes())
    path = _write(tmp_path, values)
    settings = load_settings(path, {})
    assert settings.issuer == values["issuer"]
    assert f"examples/{name}" in (ROOT / "docs" / "configuration.md").read_text()


# Encrypted ID tokens and UserInfo (OIDC Core §10.2, Registration §2) ----------------

ENC_RSA = json.dumps(RSAKey.generate_key(2048, private=True).as_dict(private=True))
ENC_OKP = json.dumps(OKPKey.generate_key("Ed25519", private=True).as_dict(private=True))
ENCRYPTION_BAD: list[tuple[dict[str, Any], str]] = [
    (
        {"id_token_encrypted_response_enc": "A128GCM"},
        "id_token_encrypted_response_enc: set id_token_encrypted_response_alg too",
    ),
    (
        {"userinfo_encrypted_response_enc": "A128GCM"},
        "userinfo_encrypted_response_enc: set userinfo_encrypted_response_alg too",
    ),
    (
        {"id_token_encrypted_response_alg": "RSA1_5", "client_encryption_key": ENC_RSA},
        "id_token_encrypted_response_alg: 'RSA1_5' is refused: RSA1_5 is insecure "
        "(padding oracle attacks)",
    ),
    (
        {"id_token_encrypted_response_alg": "ROT13"},
        "id_token_encrypted_response_alg: unsupported key management algorithm 'ROT13'",
    ),
    (
        {"userinfo_encrypted_response_alg": "A128KW", "userinfo_encrypted_response_enc": "X"},
        "userinfo_encrypted_response_enc: unsupported content encryption algorithm 'X'",
    ),
    (
        {"id_token_encrypted_response_alg": "RSA-OAEP-256"},
        "id_token_encrypted_response_alg: RSA-OAEP-256 needs client_encryption_key",
    ),
    (
        {"id_token_encrypted_response_alg": "A128KW"},
        "id_token_encrypted_response_alg: A128KW needs client_secret (the key derives from it)",
    ),
    (
        {"client_encryption_key": ENC_RSA},
        "client_encryption_key: set, but no *_encrypted_response_alg uses it "
        "(RSA-OAEP, RSA-OAEP-256, ECDH-ES...)",
    ),
    (
        {"id_token_encrypted_response_alg": "ECDH-ES", "client_encryption_key": ENC_OKP},
        "client_encryption_key: not a private RSA or EC key",
    ),
]


@pytest.mark.parametrize(("values", "line"), ENCRYPTION_BAD)
def test_encryption_settings_are_checked(tmp_path: Path, values: dict[str, Any], line: str) -> None:
    message = _error(tmp_path, **values)
    assert message == f"{tmp_path / 'settings.json'}: {line}"
    assert ENC_RSA not in message


def test_encryption_settings_defaults_and_key_file(tmp_path: Path) -> None:
    (tmp_path / "enc.jwk").write_text(ENC_RSA)
    settings = _load(
        tmp_path,
        client_secret=SECRET,
        id_token_encrypted_response_alg="RSA-OAEP-256",
        client_encryption_key="enc.jwk",
        userinfo_encrypted_response_alg="dir",
        userinfo_encrypted_response_enc="A256GCM",
    )
    # Registration §2: the enc defaults to A128CBC-HS256 once the alg is set.
    assert settings.id_token_encryption == ("RSA-OAEP-256", "A128CBC-HS256")
    assert settings.userinfo_encryption == ("dir", "A256GCM")
    assert settings.encryption_key_alg == "RSA-OAEP-256"
    assert settings.secret("client_encryption_key") == ENC_RSA
    assert ENC_RSA not in repr(settings)
    plain = _load(tmp_path)
    assert plain.id_token_encryption is None and plain.userinfo_encryption is None


# DPoP (RFC 9449) ------------------------------------------------------------------------

DPOP_EC = json.dumps(ECKey.generate_key("P-256", private=True).as_dict(private=True))
DPOP_EC384 = json.dumps(ECKey.generate_key("P-384", private=True).as_dict(private=True))
DPOP_BAD: list[tuple[dict[str, Any], str]] = [
    (
        {"dpop_signing_alg": "none"},
        "dpop_signing_alg: 'none' is refused (none and symmetric algorithms)",
    ),
    (
        {"dpop_signing_alg": "HS256"},
        "dpop_signing_alg: 'HS256' is refused (none and symmetric algorithms)",
    ),
    (
        {"dpop_signing_alg": "hs512"},
        "dpop_signing_alg: 'hs512' is refused (none and symmetric algorithms)",
    ),
    (
        {"dpop_signing_alg": "ES256K"},
        "dpop_signing_alg: unsupported 'ES256K' (one of ES256, ES384, "
        "ES512, RS256, RS384, RS512, PS256, PS384, PS512, EdDSA, Ed25519, Ed448)",
    ),
    ({"dpop_key": DPOP_EC}, "dpop_key: set dpop_signing_alg too"),
    ({"dpop_signing_alg": "ES384", "dpop_key": DPOP_EC}, "dpop_key: ES384 needs an EC P-384 key"),
    ({"dpop_signing_alg": "PS256", "dpop_key": DPOP_EC}, "dpop_key: PS256 needs an RSA key"),
    (
        {"dpop_signing_alg": "Ed25519", "dpop_key": ENC_RSA},
        "dpop_key: Ed25519 needs an OKP Ed25519 key",
    ),
    (
        {"dpop_signing_alg": "ES256", "dpop_key": "{not json"},
        "dpop_key: not a valid JWK (bad JSON)",
    ),
]


@pytest.mark.parametrize(("values", "line"), DPOP_BAD)
def test_dpop_settings_are_checked(tmp_path: Path, values: dict[str, Any], line: str) -> None:
    message = _error(tmp_path, **values)
    assert message == f"{tmp_path / 'settings.json'}: {line}"
    assert DPOP_EC not in message and ENC_RSA not in message


@pytest.mark.parametrize(
    ("alg", "key"),
    [
        ("ES256", DPOP_EC),
        ("ES384", DPOP_EC384),
        ("RS256", ENC_RSA),
        ("PS256", ENC_RSA),
        ("EdDSA", ENC_OKP),
        ("Ed25519", ENC_OKP),
    ],
)
def test_dpop_settings_accept_a_key_that_fits(tmp_path: Path, alg: str, key: str) -> None:
    settings = _load(tmp_path, dpop_signing_alg=alg, dpop_key=key)
    assert settings.dpop_signing_alg == alg and settings.secret("dpop_key") == key
    assert key not in repr(settings)


def test_dpop_key_from_a_file_and_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "dpop.jwk").write_text(DPOP_EC)
    settings = _load(tmp_path, dpop_signing_alg="ES256", dpop_key="dpop.jwk")
    assert settings.secret("dpop_key") == DPOP_EC
    env = {"OIDC_RP_DPOP_SIGNING_ALG": "ES256", "OIDC_RP_DPOP_KEY_FILE": str(tmp_path / "dpop.jwk")}
    assert _load(tmp_path, env).secret("dpop_key") == DPOP_EC
    # Without a key, one is generated per RelyingParty at start.
    assert _load(tmp_path, dpop_signing_alg="ES256").dpop_key is None
