"""RecordCipher (AES-256-GCM, record key as associated data), key helpers, RecordCodec."""

from __future__ import annotations

import base64
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from oidc_rp.sessions.crypto import (
    KEY_SIZE,
    NONCE_SIZE,
    RecordCipher,
    RecordCodec,
    generate_key,
    key_from_text,
    load_or_create_key,
    record_id,
)

KEY = bytes(range(32))
KEY_TEXT = base64.urlsafe_b64encode(KEY).decode().rstrip("=")


def _body(sealed: str) -> bytes:
    body = sealed.partition(".")[2]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def test_round_trip() -> None:
    cipher = RecordCipher(KEY)
    sealed = cipher.encrypt("s1", b'{"a":1}')
    assert sealed.startswith(cipher.key_id + ".")
    assert b'{"a":1}' not in _body(sealed)
    assert cipher.decrypt("s1", sealed) == b'{"a":1}'


def test_nonce_is_fresh_for_every_write() -> None:
    cipher = RecordCipher(KEY)
    nonces = {_body(cipher.encrypt("s1", b"same"))[:NONCE_SIZE] for _ in range(500)}
    assert len(nonces) == 500


def test_record_key_is_bound_as_associated_data() -> None:
    cipher = RecordCipher(KEY)
    sealed = cipher.encrypt("victim", b"payload")
    with pytest.raises(ValueError, match="not authentic"):
        cipher.decrypt("attacker", sealed)


def test_other_key_with_same_id_prefix_cannot_open() -> None:
    sealed = RecordCipher(KEY).encrypt("s1", b"payload")
    other = RecordCipher(generate_key())
    with pytest.raises(ValueError, match="unknown key"):
        other.decrypt("s1", sealed)
    forged = other.key_id + "." + sealed.partition(".")[2]
    with pytest.raises(ValueError, match="not authentic"):
        other.decrypt("s1", forged)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-3] + ("A" if s[-3] != "A" else "B") + s[-2:],  # flipped ciphertext/tag
        lambda s: s[:-1],  # truncated
        lambda s: s.partition(".")[0] + ".",  # no body
        lambda s: s + "!!",  # not base64url
        lambda s: s.partition(".")[0] + ".AAAA",  # shorter than a nonce
    ],
)
def test_tampered_text_is_refused(mangle: Callable[[str], str]) -> None:
    cipher = RecordCipher(KEY)
    sealed = cipher.encrypt("s1", b"payload")
    with pytest.raises(ValueError, match="not authentic"):
        cipher.decrypt("s1", mangle(sealed))


def test_previous_keys_open_old_records_and_new_ones_use_the_current_key() -> None:
    old = RecordCipher(KEY)
    sealed_old = old.encrypt("s1", b"old")
    rotated = RecordCipher(generate_key(), previous_keys=[KEY])
    assert rotated.key_id != old.key_id
    assert rotated.decrypt("s1", sealed_old) == b"old"
    assert rotated.encrypt("s1", b"new").startswith(rotated.key_id + ".")
    assert rotated.tag_digests("sub:a")[1] == old.tag_digests("sub:a")[0]


def test_tag_digests_are_keyed_and_stable() -> None:
    cipher = RecordCipher(KEY)
    assert cipher.tag_digests("sub:a") == RecordCipher(KEY).tag_digests("sub:a")
    assert cipher.tag_digests("sub:a") != cipher.tag_digests("sub:b")
    assert cipher.tag_digests("sub:a") != RecordCipher(generate_key()).tag_digests("sub:a")
    assert "sub" not in cipher.tag_digests("sub:a")[0]


@pytest.mark.parametrize("bad", [b"", b"x" * 16, b"x" * 33, "x" * 32])
def test_cipher_refuses_keys_that_are_not_32_bytes(bad: object) -> None:
    with pytest.raises(ValueError, match="expected 32 bytes"):
        RecordCipher(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected 32 bytes"):
        RecordCipher(KEY, previous_keys=[bad])  # type: ignore[list-item]


def test_generate_key() -> None:
    first, second = generate_key(), generate_key()
    assert len(first) == KEY_SIZE
    assert first != second


@pytest.mark.parametrize(
    "text",
    [KEY_TEXT, KEY_TEXT + "=", f"  {KEY_TEXT}\n", base64.urlsafe_b64encode(KEY).decode()],
)
def test_key_from_text_accepts_base64url_of_32_bytes(text: str) -> None:
    assert key_from_text(text) == KEY


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not base64url"),
        ("not base64!", "not base64url"),
        (base64.b64encode(b"\xfb" * 32).decode(), "not base64url"),  # '+' and '/'
        ("A", "not base64url"),  # impossible length
        (KEY_TEXT[:-4], "expected 32 bytes of base64url, got 29"),
        (KEY_TEXT + "AAAA", "expected 32 bytes of base64url, got 35"),
    ],
)
def test_key_from_text_refuses_other_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        key_from_text(text)
    assert str(caught.value).startswith("session encryption key:")
    if len(text) > 4:
        assert text.strip() not in str(caught.value)


def test_load_or_create_key_creates_a_private_file_and_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "session.key"
    key = load_or_create_key(path)
    assert len(key) == KEY_SIZE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert key_from_text(path.read_text()) == key
    assert load_or_create_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["session.key"]  # no temporary left


def test_load_or_create_key_reads_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "session.key"
    path.write_text(KEY_TEXT + "\n")
    assert load_or_create_key(str(path)) == KEY


def test_load_or_create_key_refuses_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "session.key"
    path.write_text("short")
    with pytest.raises(ValueError, match="session encryption key"):
        load_or_create_key(path)


def test_concurrent_creators_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "session.key"
    keys: list[bytes] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        keys.append(load_or_create_key(path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["session.key"]


def test_record_id_hides_the_key() -> None:
    assert record_id("s1") == record_id("s1")
    assert record_id("s1") != record_id("s2")
    assert "s1" not in record_id("s1")


@pytest.mark.parametrize(
    "stored",
    [
        "not json",
        "[1, 2]",
        '{"value": {}}',
        '{"exp": "soon", "value": {}}',
        '{"exp": 1e999, "value": {}}',
        '{"exp": 2000000000, "value": [1]}',
        '{"exp": 2000000000}',
    ],
)
def test_codec_treats_malformed_envelopes_as_absent(
    stored: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert RecordCodec().decode("s1", stored, now=1_700_000_000) is None
    assert "unreadable" in caplog.text


def test_codec_round_trip_and_expiry() -> None:
    codec = RecordCodec(RecordCipher(KEY))
    stored = codec.encode("s1", {"a": [1, "b"]}, expires_at=100.0)
    assert codec.decode("s1", stored, now=99.9) == {"a": [1, "b"]}
    assert codec.decode("s1", stored, now=100.0) is None


def test_codec_refuses_a_sealed_record_that_is_not_utf8() -> None:
    cipher = RecordCipher(KEY)
    stored = cipher.encrypt("s1", b"\xff\xfe")
    assert RecordCodec(cipher).decode("s1", stored, now=0) is None
