"""The self-signed localhost certificate: generated once, reused, renewed before expiry."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from oidc_rp.tls import VALIDITY_DAYS, ensure_self_signed_certificate


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_generates_a_localhost_certificate(tmp_path: Path) -> None:
    cert_path, key_path = ensure_self_signed_certificate(tmp_path / "tls")
    cert = _cert(cert_path)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=VALIDITY_DAYS) <= lifetime <= dt.timedelta(days=VALIDITY_DAYS, hours=1)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)  # the key matches the certificate


def test_reuses_a_valid_certificate(tmp_path: Path) -> None:
    first = ensure_self_signed_certificate(tmp_path)
    cert_bytes, key_bytes = first[0].read_bytes(), first[1].read_bytes()
    second = ensure_self_signed_certificate(tmp_path)
    assert second == first
    assert (second[0].read_bytes(), second[1].read_bytes()) == (cert_bytes, key_bytes)


def test_renews_a_certificate_about_to_expire(tmp_path: Path) -> None:
    cert_path, _ = ensure_self_signed_certificate(tmp_path)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    old = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=300))
        .not_valid_after(now + dt.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(old.public_bytes(Encoding.PEM))
    ensure_self_signed_certificate(tmp_path)
    assert _cert(cert_path).not_valid_after_utc > now + dt.timedelta(days=300)


def test_replaces_an_unreadable_certificate(tmp_path: Path) -> None:
    cert_path, key_path = ensure_self_signed_certificate(tmp_path)
    cert_path.write_text("garbage")
    key_path.chmod(0o644)
    ensure_self_signed_certificate(tmp_path)
    assert _cert(cert_path).subject.rfc4514_string() == "CN=localhost"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_regenerates_when_the_key_is_missing(tmp_path: Path) -> None:
    cert_path, key_path = ensure_self_signed_certificate(tmp_path)
    serial = _cert(cert_path).serial_number
    key_path.unlink()
    ensure_self_signed_certificate(tmp_path)
    assert key_path.exists()
    assert _cert(cert_path).serial_number != serial
