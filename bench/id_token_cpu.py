"""Benchmark 1: CPU time of ``validate_id_token`` against the bare joserfc signature check.

A realistic ID token (the claims node-oidc-provider puts in one, plus at_hash, sid,
auth_time and a few profile claims) is signed with RS256 and with ES256. The OP's JWK
set holds an RSA 2048, an EC P-256 and an Ed25519 key, as node-oidc-provider's default
does, and is parsed by :func:`oidc_rp.core.jwks.parse_jwks` exactly as in production.

"bare" is ``joserfc.jws.deserialize_compact(token, key)`` with the right key already in
hand: the least any RP must do. "ours" is the whole of OIDC Core §3.1.3.7 (key selection,
header checks, claims, nonce, at_hash). The ratio ours / bare says what the rules cost
on top of the cryptography.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from joserfc import jws
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from timing import Comparison, compare_per_op

from oidc_rp.core.id_token import IDTokenExpectations, hash_claim, validate_id_token
from oidc_rp.core.jwks import parse_jwks
from oidc_rp.core.messages import HttpResponse

__all__ = ["IDTokenResult", "run_id_token_benchmark"]

ISSUER = "https://op.example.com"
CLIENT_ID = "rp-bench-client"
NOW = 1_750_000_000
NONCE = "n-0S6_WzA2Mj-bench-nonce-value"
ACCESS_TOKEN = "SlAV32hkKG-bench-access-token-0123456789abcdefghij"


@dataclass(frozen=True)
class IDTokenResult:
    """One algorithm's comparison."""

    alg: str
    token_bytes: int
    comparison: Comparison


def _op_keys() -> tuple[RSAKey, ECKey, OKPKey]:
    return (
        RSAKey.generate_key(2048, parameters={"kid": "op-rsa", "use": "sig"}, private=True),
        ECKey.generate_key("P-256", parameters={"kid": "op-ec", "use": "sig"}, private=True),
        OKPKey.generate_key("Ed25519", parameters={"kid": "op-ed", "use": "sig"}, private=True),
    )


def _published_jwks(*keys: RSAKey | ECKey | OKPKey) -> KeySet:
    """The OP's public JWK set, parsed the way the RP parses the jwks_uri response."""
    body = json.dumps({"keys": [k.as_dict(private=False) for k in keys]}).encode()
    return parse_jwks(HttpResponse(200, {"content-type": "application/json"}, body))


def _claims(alg: str) -> dict[str, object]:
    return {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT_ID,
        "exp": NOW + 3600,
        "iat": NOW,
        "auth_time": NOW - 30,
        "nonce": NONCE,
        "at_hash": hash_claim(ACCESS_TOKEN, alg),
        "sid": "b3f2c1d0-6c2e-4f1a-9a77-0b1d6c3e9f21",
        "acr": "urn:mace:incommon:iap:silver",
        "name": "Jane Doe",
        "email": "janedoe@example.com",
        "email_verified": True,
    }


def _expectations(alg: str) -> IDTokenExpectations:
    return IDTokenExpectations(
        issuer=ISSUER,
        client_id=CLIENT_ID,
        allowed_algs=(alg,),
        now=NOW + 5,
        nonce=NONCE,
        max_age=3600,
        access_token=ACCESS_TOKEN,
    )


def _compare(
    alg: str, signer: RSAKey | ECKey, keys: KeySet, iterations: int, repeats: int
) -> IDTokenResult:
    header = {"alg": alg, "kid": signer.kid, "typ": "JWT"}
    token = jws.serialize_compact(header, json.dumps(_claims(alg)).encode(), signer)
    public = keys.get_by_kid(str(signer.kid))
    expectations = _expectations(alg)
    algorithms = [alg]
    # Sanity: both paths accept the token before they are timed.
    assert validate_id_token(token, keys, expectations).sub == "248289761001"
    jws.deserialize_compact(token, public, algorithms=algorithms)
    comparison = compare_per_op(
        lambda: validate_id_token(token, keys, expectations),
        lambda: jws.deserialize_compact(token, public, algorithms=algorithms),
        iterations=iterations,
        repeats=repeats,
    )
    return IDTokenResult(alg, len(token), comparison)


def run_id_token_benchmark(
    *, rs256_iterations: int = 400, es256_iterations: int = 400, repeats: int = 7
) -> list[IDTokenResult]:
    """Compare ``validate_id_token`` with the bare signature check for RS256 and ES256."""
    rsa, ec, ed = _op_keys()
    keys = _published_jwks(rsa, ec, ed)
    return [
        _compare("RS256", rsa, keys, rs256_iterations, repeats),
        _compare("ES256", ec, keys, es256_iterations, repeats),
    ]
