"""ProviderCache: discovery and the JWK set, against an OP on loopback whose jwks_uri fails.

A failing jwks_uri must not turn every incoming token into a request to the OP: attempts,
failed ones included, are spaced by JWKS_REFETCH_INTERVAL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from oidc_rp.client import RelyingParty
from oidc_rp.errors import JWKSError, OPUnreachableError
from oidc_rp.provider import JWKS_REFETCH_INTERVAL
from oidc_rp.settings import Settings
from support.loopback import serve_app


class BrokenKeysOP:
    """Discovery works; the jwks_uri answers 500 and counts its hits."""

    def __init__(self) -> None:
        self.jwks_hits = 0
        self.discovery_hits = 0

    def app(self, base_url: str) -> Starlette:
        async def discovery(_: Request) -> Response:
            self.discovery_hits += 1
            return JSONResponse(
                {
                    "issuer": base_url,
                    "authorization_endpoint": f"{base_url}/authorize",
                    "token_endpoint": f"{base_url}/token",
                    "jwks_uri": f"{base_url}/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )

        async def keys(_: Request) -> Response:
            self.jwks_hits += 1
            return JSONResponse({"error": "down"}, status_code=500)

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks", keys),
            ]
        )


@pytest.fixture
def broken_op() -> Iterator[tuple[BrokenKeysOP, str]]:
    op = BrokenKeysOP()
    with serve_app(op.app) as base_url:
        yield op, base_url


async def test_a_failing_jwks_uri_is_not_hammered(
    broken_op: tuple[BrokenKeysOP, str], tmp_path: Path
) -> None:
    op, issuer = broken_op
    now = [time.time()]
    settings = Settings.model_validate(
        {"issuer": issuer, "client_id": "c", "data_dir": str(tmp_path / "data")}
    )
    rp = RelyingParty(settings, clock=lambda: now[0])
    try:
        with pytest.raises(JWKSError):
            await rp.validate_logout_token("a.b.c")
        assert op.jwks_hits == 1
        for _ in range(5):  # a flood of tokens right after the failure: no request
            with pytest.raises(OPUnreachableError, match=r"jwks: .* a moment ago"):
                await rp.validate_logout_token("a.b.c")
        assert op.jwks_hits == 1
        now[0] += JWKS_REFETCH_INTERVAL
        with pytest.raises(JWKSError):
            await rp.validate_logout_token("a.b.c")
        assert op.jwks_hits == 2
        assert op.discovery_hits == 1  # discovery is cached all along
    finally:
        await rp.aclose()
