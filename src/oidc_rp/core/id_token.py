"""ID token validation (OIDC Core §3.1.3.7, §3.2.2.11, §3.3.2.12, §12.2).

:func:`validate_id_token` checks the signature (via :func:`oidc_rp.core.jwks.verify_jws`)
and then every claim rule, in the order of OIDC Core §3.1.3.7, raising
:class:`IDTokenError` whose rule names the claim (``id_token.nonce: does not match``).
:class:`KeyNotFoundError` escapes unchanged so the caller can refetch the JWK set.
Each check is skipped only through an explicit field of :class:`IDTokenExpectations`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from joserfc.jwk import KeySet

from oidc_rp.core.claims import check_audience, is_number
from oidc_rp.core.jwks import rewrap_jws_error, select_verification_key, verify_jws
from oidc_rp.errors import IDTokenError, JWKSError

__all__ = [
    "IDToken",
    "IDTokenExpectations",
    "hash_claim",
    "validate_id_token",
    "validate_refreshed_id_token",
]

_MAX_SUB_LENGTH = 255


@dataclass(frozen=True)
class IDTokenExpectations:
    """What the RP expects of one ID token; every field is an explicit choice.

    ``allowed_algs`` is typically exactly ``(id_token_signed_response_alg,)``;
    ``none`` may be listed only for ID tokens from the token endpoint.
    ``require_at_hash`` / ``require_c_hash`` need ``access_token`` / ``code``.
    """

    issuer: str
    client_id: str
    allowed_algs: tuple[str, ...]
    now: int
    clock_skew: int = 60
    nonce: str | None = field(default=None, repr=False)
    max_age: int | None = None
    essential_acr: tuple[str, ...] = ()
    access_token: str | None = field(default=None, repr=False)
    code: str | None = field(default=None, repr=False)
    require_at_hash: bool = False
    require_c_hash: bool = False
    trusted_audiences: tuple[str, ...] = ()
    client_secret: str | None = field(default=None, repr=False)
    max_iat_age: int | None = None

    def __post_init__(self) -> None:
        if self.require_at_hash and self.access_token is None:
            raise ValueError("require_at_hash needs the access_token to check it against")
        if self.require_c_hash and self.code is None:
            raise ValueError("require_c_hash needs the code to check it against")


@dataclass(frozen=True)
class IDToken:
    """A validated ID token: its claims, its protected header and the JWT string.

    ``raw`` is a bearer credential (an ``id_token_hint``): never in the repr.
    """

    claims: Mapping[str, Any]
    header: Mapping[str, Any]
    raw: str = field(repr=False)

    @property
    def sub(self) -> str:
        """The subject identifier (OIDC Core §2)."""
        return str(self.claims["sub"])

    @property
    def sid(self) -> str | None:
        """The session ID, when the OP sends one (Front/Back-Channel Logout 1.0)."""
        sid = self.claims.get("sid")
        return sid if isinstance(sid, str) else None

    @property
    def exp(self) -> int:
        """Expiration time, seconds since the epoch."""
        return int(self.claims["exp"])

    @property
    def iat(self) -> int:
        """Issue time, seconds since the epoch."""
        return int(self.claims["iat"])

    @property
    def auth_time(self) -> int | None:
        """Time of the end-user's authentication, when present."""
        auth_time = self.claims.get("auth_time")
        return None if auth_time is None else int(auth_time)


def hash_claim(value: str, alg: str, curve: str | None = None) -> str:
    """The ``at_hash`` / ``c_hash`` of ``value`` for a token signed with ``alg``.

    OIDC Core §3.3.2.11: "Its value is the base64url encoding of the left-most half of
    the hash of the octets of the ASCII representation of the [value], where the hash
    algorithm used is the hash algorithm used in the alg Header Parameter". The OIDC Core
    errata name the hash of EdDSA by curve: Ed25519 -> SHA-512, Ed448 -> SHAKE256 with a
    114-octet output (its left-most 57 octets are used). ``curve`` is the signing key's
    curve; it matters only for ``alg="EdDSA"`` (default Ed25519), as the fully specified
    ``Ed25519`` and ``Ed448`` (RFC 9864) name their curve. Unknown ``alg`` or curve ->
    ``ValueError``.
    """
    digest = _digest(value.encode(), alg, curve)
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _digest(octets: bytes, alg: str, curve: str | None) -> bytes:
    if alg == "EdDSA":
        alg = curve or "Ed25519"
        if alg not in ("Ed25519", "Ed448"):
            raise ValueError(f"no hash is defined for EdDSA with curve {alg[:16]!r}")
    if alg == "Ed448":
        return hashlib.shake_256(octets).digest(114)
    return hashlib.new(_hash_name(alg), octets).digest()


def _hash_name(alg: str) -> str:
    if alg == "Ed25519":
        return "sha512"
    if alg == "ES256K":
        return "sha256"
    family, size = alg[:2], alg[2:]
    if family in ("HS", "RS", "PS", "ES") and size in ("256", "384", "512"):
        return f"sha{size}"
    raise ValueError(f"no hash is defined for alg {alg[:16]!r}")


def validate_id_token(id_token: str, keys: KeySet, expectations: IDTokenExpectations) -> IDToken:
    """Validate an ID token and return its claims (OIDC Core §3.1.3.7, §3.2.2.11, §3.3.2.12).

    Order: signature and alg, iss, sub, aud, azp, exp, iat, nonce, auth_time, acr,
    at_hash, c_hash. Any failure raises :class:`IDTokenError`; an unknown ``kid`` raises
    :class:`KeyNotFoundError` (refetch the JWK set and try again).
    """
    e = expectations
    try:
        header, claims = verify_jws(
            id_token, keys, allowed_algs=e.allowed_algs, client_secret=e.client_secret
        )
    except JWKSError as error:
        rewrap_jws_error(error, "id_token", IDTokenError)
    _check_iss(claims, e)
    _check_sub(claims)
    _check_aud_and_azp(claims, e)
    _check_times(claims, e)
    _check_nonce(claims, e)
    _check_auth_time(claims, e)
    _check_acr(claims, e)
    alg = header["alg"]
    # The hash of EdDSA depends on the curve of the key that verified the signature.
    curve = _key_curve(keys, header) if alg == "EdDSA" else None
    _check_hash(claims, "at_hash", e.access_token, e.require_at_hash, alg, curve)
    _check_hash(claims, "c_hash", e.code, e.require_c_hash, alg, curve)
    return IDToken(MappingProxyType(claims), MappingProxyType(header), id_token)


def _key_curve(keys: KeySet, header: Mapping[str, Any]) -> str | None:
    curve = getattr(select_verification_key(keys, header), "curve_name", None)
    return curve if isinstance(curve, str) else None


def _check_iss(claims: Mapping[str, Any], e: IDTokenExpectations) -> None:
    # §3.1.3.7 step 2: "The Issuer Identifier for the OpenID Provider ... MUST exactly
    # match the value of the iss (issuer) Claim."
    if "iss" not in claims:
        raise IDTokenError("id_token.iss: missing")
    if claims["iss"] != e.issuer:
        raise IDTokenError("id_token.iss: does not match the issuer")


def _check_sub(claims: Mapping[str, Any]) -> None:
    sub = claims.get("sub")
    # §2: sub is REQUIRED, "It MUST NOT exceed 255 ASCII [RFC20] characters in length."
    if sub is None:
        raise IDTokenError("id_token.sub: missing")
    if not isinstance(sub, str) or not sub:
        raise IDTokenError("id_token.sub: not a non-empty string")
    if len(sub) > _MAX_SUB_LENGTH or not sub.isascii():
        raise IDTokenError("id_token.sub: longer than 255 ASCII characters")


def _check_aud_and_azp(claims: Mapping[str, Any], e: IDTokenExpectations) -> None:
    audiences = check_audience(
        claims, e.client_id, e.trusted_audiences, prefix="id_token", error=IDTokenError
    )
    azp = claims.get("azp")
    # §2 azp: "If present, it MUST contain the OAuth 2.0 Client ID of this party."
    # (RFC 9700 and FAPI: required with several audiences.)
    if len(audiences) > 1 and azp is None:
        raise IDTokenError("id_token.azp: missing with multiple audiences")
    # §3.1.3.7 step 5: "If an azp (authorized party) Claim is present, the Client SHOULD
    # verify that its client_id is the Claim Value."
    if azp is not None and azp != e.client_id:
        raise IDTokenError("id_token.azp: is not the client_id")


def _check_times(claims: Mapping[str, Any], e: IDTokenExpectations) -> None:
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    # §3.1.3.7 step 9: "The current time MUST be before the time represented by the exp Claim"
    if exp is None:
        raise IDTokenError("id_token.exp: missing")
    if not is_number(exp):
        raise IDTokenError("id_token.exp: not a number")
    if e.now >= exp + e.clock_skew:
        raise IDTokenError("id_token.exp: expired")
    # §2: iat is REQUIRED; §3.1.3.7 step 10: "The iat Claim can be used to reject tokens
    # that were issued too far away from the current time".
    if iat is None:
        raise IDTokenError("id_token.iat: missing")
    if not is_number(iat):
        raise IDTokenError("id_token.iat: not a number")
    if iat > e.now + e.clock_skew:
        raise IDTokenError("id_token.iat: issued in the future")
    if e.max_iat_age is not None and e.now - iat > e.max_iat_age + e.clock_skew:
        raise IDTokenError("id_token.iat: issued too long ago")
    # RFC 7519 §4.1.5: the JWT "MUST NOT be accepted for processing" before nbf.
    if nbf is not None and (not is_number(nbf) or nbf > e.now + e.clock_skew):
        raise IDTokenError("id_token.nbf: not yet valid")


def _check_nonce(claims: Mapping[str, Any], e: IDTokenExpectations) -> None:
    if e.nonce is None:
        return
    nonce = claims.get("nonce")
    # §3.1.3.7 step 11: "If a nonce value was sent in the Authentication Request, a nonce
    # Claim MUST be present and its value checked to verify that it is the same value"
    if nonce is None:
        raise IDTokenError("id_token.nonce: missing")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), e.nonce.encode()):
        raise IDTokenError("id_token.nonce: does not match")


def _check_auth_time(claims: Mapping[str, Any], e: IDTokenExpectations) -> None:
    auth_time = claims.get("auth_time")
    if auth_time is not None and not is_number(auth_time):
        raise IDTokenError("id_token.auth_time: not a number")
    if e.max_age is None:
        return
    # §3.1.3.7 step 13: "If the max_age request parameter was used, the Client SHOULD check
    # the auth_time Claim value and request re-authentication if it determines too much
    # time has elapsed"; §3.1.2.1: "When max_age is used, the ID Token returned MUST
    # include an auth_time Claim Value."
    if auth_time is None:
        raise IDTokenError("id_token.auth_time: missing although max_age was requested")
    if e.now - auth_time > e.max_age + e.clock_skew:
        raise IDTokenError("id_token.auth_time: authentication is older than max_age")


def _check_acr(claims: Mapping[str, Any], e: IDTokenExpectations) -> None:
    # §5.5.1.1: with acr requested as Essential, the Client checks the acr value returned.
    if e.essential_acr and claims.get("acr") not in e.essential_acr:
        raise IDTokenError("id_token.acr: not one of the essential acr values")


def _check_hash(
    claims: Mapping[str, Any],
    name: str,
    value: str | None,
    required: bool,
    alg: str,
    curve: str | None,
) -> None:
    claim = claims.get(name)
    # §3.2.2.10 / §3.3.2.11: at_hash and c_hash are REQUIRED in the flows that return them
    # from the authorization endpoint.
    if claim is None:
        if required:
            raise IDTokenError(f"id_token.{name}: missing")
        return
    if value is None:
        return
    # §3.2.2.9 / §3.3.2.10: "The value of at_hash in the ID Token MUST match the value
    # produced" (likewise c_hash).
    try:
        expected = hash_claim(value, alg, curve)
    except ValueError:
        raise IDTokenError(f"id_token.{name}: no hash is defined for alg {alg!r}") from None
    if not isinstance(claim, str) or not hmac.compare_digest(claim.encode(), expected.encode()):
        raise IDTokenError(f"id_token.{name}: does not match")


def validate_refreshed_id_token(new: IDToken, original: IDToken) -> None:
    """Check an ID token from a refresh against the original one (OIDC Core §12.2).

    "its iss Claim Value MUST be the same as in the ID Token issued when the original
    authentication occurred, its sub Claim Value MUST be the same ..., its aud Claim
    Value MUST be the same ..., if the ID Token contains an auth_time Claim, its value
    MUST represent the time of the original authentication ..., its azp Claim Value MUST
    be the same ...; if no azp Claim was present in the original ID Token, one MUST NOT
    be present in the new ID Token".
    """
    a, b = new.claims, original.claims
    for name in ("iss", "sub"):
        if a.get(name) != b.get(name):
            raise IDTokenError(f"id_token.refresh.{name}: differs from the original ID token")
    if _audience_set(a) != _audience_set(b):
        raise IDTokenError("id_token.refresh.aud: differs from the original ID token")
    if a.get("azp") != b.get("azp"):
        raise IDTokenError("id_token.refresh.azp: differs from the original ID token")
    if "auth_time" in a and "auth_time" in b and a["auth_time"] != b["auth_time"]:
        raise IDTokenError("id_token.refresh.auth_time: differs from the original ID token")


def _audience_set(claims: Mapping[str, Any]) -> frozenset[str]:
    aud = claims.get("aud")
    return frozenset([aud] if isinstance(aud, str) else aud or ())
