"""The test OP's logout cases: RP-Initiated Logout and Back-Channel Logout deliveries."""

from __future__ import annotations

import httpx2
import pytest

from .plain_rp import (
    REDIRECT_URI,
    _authorize,
    _code_exchange,
    _code_flow_id_token,
    _discover,
    _fake_rp,
    _register,
    _verify,
)
from .test_op import TestOP, serve_app
from .test_op.edits import unverified_claims, unverified_header


@pytest.mark.parametrize(
    ("test_id", "rp_status"),
    [("rp-backchannel-rpinitlogout", 200), ("rp-backchannel-rpinitlogout-wrong-aud", 400)],
)
def test_backchannel_logout_is_delivered_and_recorded(
    op: TestOP, http: httpx2.Client, test_id: str, rp_status: int
) -> None:
    received: list[dict[str, str]] = []
    with serve_app(_fake_rp(received, rp_status, [])) as rp_url:
        client = _register(
            op,
            test_id,
            backchannel_logout_uri=f"{rp_url}/bcl",
            post_logout_redirect_uris=[f"{rp_url}/bye"],
        )
        meta = _discover(http, op, test_id)
        id_token = _code_exchange(
            http, meta, client, _authorize(http, meta, client, "code")["code"]
        )["id_token"]
        params = {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": f"{rp_url}/bye",
            "state": "s9",
        }
        response = http.get(meta["end_session_endpoint"], params=params)
    assert response.status_code == 302
    assert response.headers["location"] == f"{rp_url}/bye?state=s9"
    assert op.backchannel_results(test_id) == [rp_status]
    assert set(received[0]) == {"logout_token", "extra_param"}
    claims = _verify(http, meta, received[0]["logout_token"])
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert claims["sid"] == unverified_claims(id_token)["sid"]
    expected_aud = client["client_id"] + ("INVALID" if test_id.endswith("wrong-aud") else "")
    assert claims["aud"] == expected_aud


def test_rp_init_logout_other_state(op: TestOP, http: httpx2.Client) -> None:
    client = _register(op, "rp-init-logout-other-state", post_logout_redirect_uris=[REDIRECT_URI])
    meta = _discover(http, op, "rp-init-logout-other-state")
    id_token = _code_exchange(http, meta, client, _authorize(http, meta, client, "code")["code"])[
        "id_token"
    ]
    params = {"id_token_hint": id_token, "post_logout_redirect_uri": REDIRECT_URI, "state": "s1"}
    response = http.get(meta["end_session_endpoint"], params=params)
    assert response.headers["location"] == f"{REDIRECT_URI}?state=s1_INVALID"
    params["id_token_hint"] = "not-an-id-token"
    assert http.get(meta["end_session_endpoint"], params=params).status_code == 400


@pytest.mark.parametrize(
    ("test_id", "alg"),
    [
        ("rp-backchannel-rpinitlogout-alg-none", "none"),
        ("rp-backchannel-rpinitlogout-wrong-alg", "ES256"),
    ],
)
def test_backchannel_logout_token_algs(
    op: TestOP, http: httpx2.Client, test_id: str, alg: str
) -> None:
    received: list[dict[str, str]] = []
    with serve_app(_fake_rp(received, 400, [])) as rp_url:
        metadata = {
            "backchannel_logout_uri": f"{rp_url}/bcl",
            "post_logout_redirect_uris": [REDIRECT_URI],
        }
        _, id_token = _code_flow_id_token(http, op, test_id, **metadata)
        end_session = _discover(http, op, test_id)["end_session_endpoint"]
        response = http.get(
            end_session,
            params={"id_token_hint": id_token, "post_logout_redirect_uri": REDIRECT_URI},
        )
    assert response.headers["location"] == REDIRECT_URI
    assert unverified_header(received[0]["logout_token"])["alg"] == alg
    assert op.backchannel_results(test_id) == [400]
