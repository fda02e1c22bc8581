"""The OP's JWK set: fetch it, choose a verification key, verify a JWS (RFC 7515, 7517).

Sans-IO: :func:`build_jwks_request` and :func:`parse_jwks` are the round trip;
:func:`select_verification_key` and :func:`verify_jws` work on an already parsed
:class:`joserfc.jwk.KeySet`. :func:`verify_jws` raises :class:`JWKSError` with a
caller-neutral rule (``jws``, ``jws.header``, ``jws.alg``, ``jws.signature``,
``jws.payload``); :func:`rewrap_jws_error` turns it into the caller's error class
(``id_token.alg``, ``userinfo.signature``, ...). :class:`KeyNotFoundError` is never
rewrapped: the facade refetches the JWK set (at most every ``min_interval`` seconds,
see :func:`may_refetch`) and tries once more.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping
from typing import Any, NoReturn

from joserfc.errors import JoseError, SecurityWarning, UnsupportedAlgorithmError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import ECKey, Key, KeySet, OctKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry, deserialize_compact, extract_compact

from oidc_rp.core.jwa import HMAC_ALGS, KEY_FOR_ALG, MIN_RSA_BITS, key_fits_alg
from oidc_rp.core.messages import HttpRequest, HttpResponse, json_object, parse_json
from oidc_rp.errors import JWKSError, KeyNotFoundError, ProtocolError

__all__ = [
    "build_jwks_request",
    "may_refetch",
    "parse_jwks",
    "rewrap_jws_error",
    "select_verification_key",
    "verify_jws",
]

#: Header members that point at or embed a key: never trusted (RFC 8725 §3.10).
_KEY_HEADERS = ("jku", "x5u", "jwk")


class _Registry(JWSRegistry):
    """A JWS registry that permits exactly the algorithms the caller allowed.

    joserfc warns on some algorithms (``EdDSA`` is deprecated by RFC 9864); the
    allow-list here is the caller's explicit choice, so no warning is raised.
    Headers may carry an ``x5c`` chain, hence the larger header limit.
    """

    max_header_length = 8192

    def get_alg(self, name: str) -> JWSAlgModel:
        if name not in self.algorithms or name not in (self.allowed or ()):
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not allowed")
        return self.algorithms[name]


def build_jwks_request(jwks_uri: str) -> HttpRequest:
    """GET the OP's JWK set from its ``jwks_uri`` (Discovery 1.0 §3, RFC 7517 §5)."""
    return HttpRequest("GET", jwks_uri, {"accept": "application/jwk-set+json, application/json"})


def parse_jwks(response: HttpResponse) -> KeySet:
    """Parse a JWK set response into the keys usable for signature verification.

    RFC 7517 §5: "Implementations SHOULD ignore JWKs within a JWK Set that use "kty"
    (key type) values that are not understood by them, that are missing required
    members, or for which values are out of the supported ranges." Keys with
    ``use: enc``, symmetric keys (HS* is keyed with the client secret, never with
    the JWK set) and RSA keys under 2048 bits are ignored as well.
    """
    if response.status != 200:
        raise JWKSError(f"jwks: HTTP {response.status} from the jwks_uri")
    document = json_object(response, "jwks", JWKSError)
    entries = document.get("keys")
    # RFC 7517 §5.1: "The value of the "keys" member is an array of JWK values."
    if not isinstance(entries, list):
        raise JWKSError("jwks: 'keys' is not an array")
    keys = [key for key in map(_import_signing_key, entries) if key is not None]
    if not keys:
        raise JWKSError("jwks: no usable signing key")
    return KeySet(keys)


def _import_signing_key(entry: object) -> Key | None:
    """Import one JWK, or ``None`` when it cannot be used to verify signatures."""
    if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
        return None
    kty = entry.get("kty")
    key_class: type[Key]
    if kty == "RSA":
        key_class = RSAKey
    elif kty == "EC":
        key_class = ECKey
    elif kty == "OKP":
        key_class = OKPKey
    else:
        return None
    try:
        with warnings.catch_warnings():
            # Weak keys are refused below rather than warned about.
            warnings.simplefilter("ignore", SecurityWarning)
            key = key_class.import_key(entry)
    # RFC 7517 §5: ignore keys with missing members or unsupported values.
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    if isinstance(key, RSAKey) and key.raw_value.key_size < MIN_RSA_BITS:
        return None
    return key


def _fits(key: Key, alg: str) -> bool:
    """True when ``key`` can verify a JWS with ``alg`` (key type, curve, use, alg, key_ops)."""
    if not key_fits_alg(key, alg) or key.get("use", "sig") != "sig":
        return False
    key_ops = key.get("key_ops")
    if isinstance(key_ops, list) and "verify" not in key_ops:
        return False
    # RFC 7517 §4.4: a key's own "alg", when present, names the one algorithm it is for.
    return key.alg is None or key.alg == alg


def select_verification_key(keys: KeySet, header: Mapping[str, Any]) -> Key:
    """Choose the key that verifies a JWS with this protected header (OIDC Core §10.1).

    With a ``kid``: the key with that ``kid`` whose type fits ``alg``; none ->
    :class:`KeyNotFoundError` (a refetch may help). Without a ``kid``: the single key
    whose type fits ``alg``; none -> :class:`KeyNotFoundError`; several ->
    :class:`JWKSError` (the certification suite accepts refusing, §3.2 row 18).
    """
    alg = header.get("alg")
    kid = header.get("kid")
    if not isinstance(alg, str):
        raise JWKSError("jws.header: 'alg' is missing or not a string")
    if kid is not None and not isinstance(kid, str):
        raise JWKSError("jws.header: 'kid' is not a string")
    candidates = [key for key in keys if _fits(key, alg)]
    if kid is not None:
        candidates = [key for key in candidates if key.kid == kid]
        if not candidates:
            raise KeyNotFoundError(f"jwks: no key with kid {kid[:64]!r} fits alg {alg[:16]!r}")
        if len(candidates) > 1:
            raise JWKSError(f"jwks: several keys have kid {kid[:64]!r}")
        return candidates[0]
    if not candidates:
        raise KeyNotFoundError(f"jwks: no key fits alg {alg[:16]!r}")
    # OIDC Core §10.1: "the JWK Set MUST NOT contain multiple keys with the same kty" (no kid).
    if len(candidates) > 1:
        raise JWKSError("jwks: multiple keys match and the JWS has no kid")
    return candidates[0]


def may_refetch(last_fetch: int, now: int, min_interval: int = 60) -> bool:
    """Whether the JWK set may be fetched again after an unknown ``kid``.

    Rate-limits refetches so that a stream of tokens with made-up ``kid`` values
    cannot make the RP hammer the OP's ``jwks_uri`` (OIDC Core §10.1.1 key rotation).
    """
    return now - last_fetch >= min_interval


def verify_jws(
    token: str,
    keys: KeySet,
    *,
    allowed_algs: Collection[str],
    client_secret: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS and return ``(protected header, claims)`` (RFC 7515 §5.2).

    The header ``alg`` must be in ``allowed_algs``. ``none`` is accepted only when
    listed and the signature is empty; ``HS*`` is keyed only with ``client_secret``
    (OIDC Core §10.1), never with a key of the JWK set (algorithm confusion);
    other algorithms use :func:`select_verification_key`. Headers ``crit``, ``jku``,
    ``x5u`` and ``jwk`` are refused: the key never comes from the token itself.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise JWKSError("jws: not a compact JWS")
    registry = _Registry(
        algorithms=[a for a in allowed_algs if a != "none"], strict_check_header=False
    )
    try:
        extracted = extract_compact(token.encode(), registry=registry)
        header = extracted.headers()
    # RecursionError: joserfc's json.loads of a header nested too deeply.
    except (JoseError, ValueError, TypeError, RecursionError):
        raise JWKSError("jws: malformed compact JWS") from None
    alg = _check_header(header, allowed_algs)
    try:
        # RFC 7515 §4.1: registered header members have fixed types (kid, typ are strings).
        registry.check_header(header)
    except JoseError:
        raise JWKSError("jws.header: a header member has the wrong type") from None
    if alg == "none":
        # RFC 7518 §3.6: an Unsecured JWS has the empty octet sequence as its signature.
        if extracted.segments["signature"]:
            raise JWKSError("jws.signature: alg 'none' with a non-empty signature")
    else:
        key = _verification_key(alg, header, keys, client_secret)
        try:
            deserialize_compact(token, key, registry=registry)
        except (JoseError, ValueError, TypeError, RecursionError):
            raise JWKSError("jws.signature: invalid signature") from None
    return header, _claims(extracted.payload)


def _check_header(header: object, allowed_algs: Collection[str]) -> str:
    if not isinstance(header, dict):
        raise JWKSError("jws.header: not a JSON object")
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise JWKSError("jws.header: 'alg' is missing or not a string")
    # OIDC Core §3.1.3.7 step 7: the alg "SHOULD be the default of RS256 or the algorithm
    # sent by the Client in the id_token_signed_response_alg parameter".
    if alg not in allowed_algs:
        raise JWKSError(f"jws.alg: {alg[:16]!r} is not allowed")
    if alg not in KEY_FOR_ALG and alg not in HMAC_ALGS and alg != "none":
        raise JWKSError(f"jws.alg: {alg[:16]!r} is not supported")
    # RFC 7515 §4.1.11: "If any of the listed extension Header Parameters are not
    # understood and supported by the recipient, then the JWS is invalid."
    if "crit" in header:
        raise JWKSError("jws.header: 'crit' names extensions that are not supported")
    for name in _KEY_HEADERS:
        if name in header:
            raise JWKSError(f"jws.header: {name!r} is not accepted (keys come from the OP)")
    return alg


def _verification_key(
    alg: str, header: Mapping[str, Any], keys: KeySet, client_secret: str | None
) -> Key:
    if alg not in HMAC_ALGS:
        return select_verification_key(keys, header)
    # OIDC Core §10.1: for MAC-based algorithms "the octets of the UTF-8 representation
    # of the client_secret" are the key.
    if not client_secret:
        raise JWKSError(f"jws.alg: {alg!r} needs a client secret")
    try:
        with warnings.catch_warnings():
            # A short secret is the OP's choice; the MAC is still checked.
            warnings.simplefilter("ignore", SecurityWarning)
            return OctKey.import_key(client_secret.encode())
    except ValueError:
        raise JWKSError(f"jws.alg: the client secret cannot key {alg!r}") from None


def _claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = parse_json(payload)
    except ValueError:
        raise JWKSError("jws.payload: not JSON") from None
    # RFC 7519 §7.2 step 10: the payload of a JWT is a JSON object (the JWT Claims Set).
    if not isinstance(claims, dict):
        raise JWKSError("jws.payload: not a JSON object")
    return claims


def rewrap_jws_error(error: JWKSError, prefix: str, error_class: type[ProtocolError]) -> NoReturn:
    """Raise ``error`` again as ``error_class``, renaming the rule under ``prefix``.

    ``jws.alg`` becomes ``<prefix>.alg``; every other verification failure becomes
    ``<prefix>.signature``. :class:`KeyNotFoundError` is re-raised unchanged so the
    caller can refetch the JWK set and retry.
    """
    if isinstance(error, KeyNotFoundError):
        raise error
    rule = "alg" if error.rule == "jws.alg" else "signature"
    _, _, detail = error.message.partition(":")
    raise error_class(f"{prefix}.{rule}:{detail}") from None
