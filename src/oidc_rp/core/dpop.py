"""DPoP proofs and nonce challenges (RFC 9449, OAuth 2.0 Demonstrating Proof of Possession).

:func:`build_dpop_proof` makes the ``DPoP`` header value of one HTTP request (§4.2);
:func:`dpop_nonce_challenge` reads a server's demand for a nonce (§8 for the
authorization server, §9 for a resource server); :func:`check_dpop_token_type` decides
whether a token response fits the request (§5); :func:`check_dpop_key` says whether a key
can sign with an algorithm. Keys are joserfc keys; the caller generates them and passes
``now`` and ``jti`` in.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from oidc_rp.core.client_auth import sign_jwt
from oidc_rp.core.jwa import MIN_RSA_BITS, key_fits_alg
from oidc_rp.core.messages import HttpResponse, parse_json
from oidc_rp.errors import TokenResponseError

__all__ = [
    "DPOP_SIGNING_ALGS",
    "access_token_hash",
    "build_dpop_proof",
    "check_dpop_key",
    "check_dpop_token_type",
    "dpop_htu",
    "dpop_nonce_challenge",
    "dpop_public_jwk",
    "is_dpop_nonce",
]

#: The asymmetric JWS algorithms a DPoP proof may use, with the key each needs
#: (RFC 9449 §4.2: "MUST NOT be none or an identifier for a symmetric algorithm").
DPOP_SIGNING_ALGS: Mapping[str, str] = {
    "ES256": "EC P-256",
    "ES384": "EC P-384",
    "ES512": "EC P-521",
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "PS384": "RSA",
    "PS512": "RSA",
    "EdDSA": "OKP Ed25519 or Ed448",
    "Ed25519": "OKP Ed25519",
    "Ed448": "OKP Ed448",
}
#: The public members of each key type (RFC 7638 §3.2, the thumbprint's members).
_PUBLIC_MEMBERS = {
    "EC": ("kty", "crv", "x", "y"),
    "RSA": ("kty", "n", "e"),
    "OKP": ("kty", "crv", "x"),
}
#: RFC 9449 §8.1: nonce = 1*NQCHAR; NQCHAR = %x21 / %x23-5B / %x5D-7E
_NONCE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
#: One element of a WWW-Authenticate header: a scheme, or an auth-param (RFC 9110 §11.6.1).
_CHALLENGE_PART = re.compile(
    r'\s*,?\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*))?'
)


def check_dpop_key(key: Key, alg: str) -> None:
    """Raise ValueError unless ``key`` is a private key that signs with ``alg`` (RFC 9449 §4.2)."""
    if alg == "none" or alg.startswith("HS"):
        # §4.2: alg "MUST NOT be none or an identifier for a symmetric algorithm".
        raise ValueError(f"dpop.alg: {alg!r} is refused (none and symmetric algorithms)")
    if alg not in DPOP_SIGNING_ALGS:
        raise ValueError(f"dpop.alg: unsupported algorithm {alg!r}")
    if not isinstance(key, RSAKey | ECKey | OKPKey) or not key.is_private:
        raise ValueError("dpop.key: not a private RSA, EC or OKP key")
    if not _fits(key, alg):
        raise ValueError(f"dpop.key: {alg} needs an {DPOP_SIGNING_ALGS[alg]} key")


def _fits(key: Key, alg: str) -> bool:
    if isinstance(key, RSAKey) and key.raw_value.key_size < MIN_RSA_BITS:
        return False
    return key_fits_alg(key, alg)


def dpop_public_jwk(key: Key) -> dict[str, Any]:
    """The public JWK of ``key``: only its public members, never a private one (§4.2)."""
    public = key.as_dict(private=False)
    return {name: public[name] for name in _PUBLIC_MEMBERS[str(public["kty"])]}


def dpop_htu(url: str) -> str:
    """The ``htu`` of a request to ``url``: without query and fragment (RFC 9449 §4.2).

    User information (``user:pass@``) is dropped too (it must never travel in a proof),
    and an empty path becomes ``/`` (RFC 3986 §6.2.3 normalisation, as the server sees it).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("dpop.htu: not an absolute http(s) URL")
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path or "/", "", ""))


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url(SHA-256(ASCII(access_token))) without padding (RFC 9449 §4.2)."""
    try:
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
    except UnicodeEncodeError:
        raise ValueError("dpop.ath: the access token is not ASCII") from None
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_dpop_nonce(value: str) -> bool:
    """True when ``value`` has the syntax of a DPoP nonce (RFC 9449 §8.1: 1*NQCHAR)."""
    return _NONCE.fullmatch(value) is not None


def build_dpop_proof(
    key: Key,
    alg: str,
    *,
    htm: str,
    htu: str,
    now: int,
    jti: str,
    nonce: str | None = None,
    access_token: str | None = None,
) -> str:
    """A DPoP proof JWT for one request (RFC 9449 §4.2).

    Header: exactly ``typ: dpop+jwt``, ``alg`` and ``jwk`` (the public key only). Claims:
    ``jti``, ``htm``, ``htu`` (query and fragment removed), ``iat``, ``nonce`` when the
    server gave one (§8, §9) and ``ath`` when an access token goes with the request (§7.1).
    Raises ValueError for a key that does not fit ``alg`` or a malformed value.
    """
    check_dpop_key(key, alg)
    if not jti:
        raise ValueError("dpop.jti: required")
    if not re.fullmatch(r"[A-Z]+", htm):
        raise ValueError(f"dpop.htm: not an HTTP method {htm!r}")
    claims: dict[str, Any] = {"jti": jti, "htm": htm, "htu": dpop_htu(htu), "iat": now}
    if nonce is not None:
        if not is_dpop_nonce(nonce):
            raise ValueError("dpop.nonce: not 1*NQCHAR (RFC 9449 §8.1)")
        claims["nonce"] = nonce
    if access_token is not None:
        if not access_token:
            raise ValueError("dpop.ath: empty access token")
        claims["ath"] = access_token_hash(access_token)
    header = {"typ": "dpop+jwt", "jwk": dpop_public_jwk(key)}
    return sign_jwt(claims, _without_kid(key), alg, header=header)


def _without_kid(key: Key) -> Key:
    # sign_jwt copies a key's kid into the header; a proof's header is typ, alg, jwk only.
    if not key.kid:
        return key
    members = {k: v for k, v in key.as_dict(private=True).items() if k != "kid"}
    return type(key).import_key(members)


def dpop_nonce_challenge(response: HttpResponse) -> str | None:
    """The nonce a server demands, or None when ``response`` is no such demand.

    RFC 9449 §8: the authorization server answers HTTP 400 with the JSON error
    ``use_dpop_nonce`` and a ``DPoP-Nonce`` header. §9: a resource server answers 401 with
    ``WWW-Authenticate: DPoP error="use_dpop_nonce"`` and a ``DPoP-Nonce`` header (the scheme
    is matched case-insensitively, RFC 9110 §11.1). A malformed nonce is no challenge.
    """
    nonce = response.headers.get("dpop-nonce", "").strip()
    if not is_dpop_nonce(nonce):
        return None
    if response.status == 400 and _json_error(response.body) == "use_dpop_nonce":
        return nonce
    if response.status == 401:
        challenge = _challenges(response.headers.get("www-authenticate", "")).get("dpop", {})
        if challenge.get("error") == "use_dpop_nonce":
            return nonce
    return None


def _json_error(body: bytes) -> object:
    try:
        value = parse_json(body)
    except ValueError:
        return None
    return value.get("error") if isinstance(value, dict) else None


def _challenges(header: str) -> dict[str, dict[str, str]]:
    """The auth-params of each challenge of a WWW-Authenticate value, by lower-case scheme."""
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for match in _CHALLENGE_PART.finditer(header):
        name, value = match.groups()
        if value is None:
            # A token alone starts a challenge (RFC 9110 §11.6.1); the first one per scheme wins.
            scheme = name.lower()
            current = {} if scheme in out else out.setdefault(scheme, {})
            continue
        if current is not None:
            unquoted = re.sub(r"\\(.)", r"\1", value[1:-1]) if value.startswith('"') else value
            current.setdefault(name.lower(), unquoted)
    return out


def check_dpop_token_type(token_type: str, *, dpop_used: bool) -> None:
    """Check the ``token_type`` of a token response against the request (RFC 9449 §5).

    With DPoP, §5: "If the access token response contains a different token_type value
    than DPoP, the access token protection provided by DPoP is not given. The client MUST
    discard the response in this case if this protection is deemed important". Turning
    DPoP on deems it important (as FAPI 2.0 does), so a ``Bearer`` answer is refused. A
    ``DPoP`` token obtained without a proof cannot be used (§7.1 needs the bound key).
    """
    if dpop_used and token_type != "DPoP":
        raise TokenResponseError(
            f"token_response.token_type: {token_type!r} answer to a DPoP request; "
            "the access token is not bound to the DPoP key (RFC 9449 §5)"
        )
    if not dpop_used and token_type == "DPoP":
        raise TokenResponseError(
            "token_response.token_type: 'DPoP' without a DPoP proof in the request (RFC 9449 §5)"
        )
