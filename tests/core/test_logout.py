"""core/logout.py: end-session URL (RP-Initiated Logout 1.0), logout tokens (Back-Channel 1.0)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from oidc_rp.core.logout import (
    BACKCHANNEL_LOGOUT_EVENT,
    LogoutToken,
    build_end_session_url,
    validate_logout_token,
)
from oidc_rp.errors import KeyNotFoundError, LogoutTokenError

from .tokens import (
    CLIENT_ID,
    ISSUER,
    NOW,
    assert_error,
    b64,
    corrupt,
    id_token_claims,
    key_set,
    sign,
    unsigned,
)

ENDPOINT = "https://op.example.com/session/end"
ALL = key_set()
LOGOUT_TYP = {"typ": "logout+jwt"}


# --- build_end_session_url --------------------------------------------------------------------


NO_PARAMS = {
    "id_token_hint": None,
    "client_id": None,
    "post_logout_redirect_uri": None,
    "state": None,
}


def _query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def test_build_end_session_url_with_all_parameters() -> None:
    url = build_end_session_url(
        ENDPOINT,
        id_token_hint="eyJ.hint.sig",
        client_id=CLIENT_ID,
        post_logout_redirect_uri="https://rp.example.com/logged-out?x=1",
        state="st-1",
        ui_locales="fr-CA fr en",
    )
    assert url.startswith(ENDPOINT + "?")
    assert _query(url) == [
        ("id_token_hint", "eyJ.hint.sig"),
        ("client_id", CLIENT_ID),
        ("post_logout_redirect_uri", "https://rp.example.com/logged-out?x=1"),
        ("state", "st-1"),
        ("ui_locales", "fr-CA fr en"),
    ]


@pytest.mark.parametrize(
    ("endpoint", "kwargs", "expected"),
    [
        pytest.param(
            ENDPOINT,
            {
                "id_token_hint": None,
                "client_id": None,
                "post_logout_redirect_uri": None,
                "state": None,
            },
            ENDPOINT,
            id="nothing",
        ),
        pytest.param(
            ENDPOINT,
            {
                "id_token_hint": None,
                "client_id": CLIENT_ID,
                "post_logout_redirect_uri": None,
                "state": "s",
            },
            f"{ENDPOINT}?client_id={CLIENT_ID}&state=s",
            id="some",
        ),
        pytest.param(
            ENDPOINT + "?tenant=a%20b#frag",
            {
                "id_token_hint": "h",
                "client_id": None,
                "post_logout_redirect_uri": None,
                "state": None,
            },
            f"{ENDPOINT}?tenant=a+b&id_token_hint=h",
            id="keeps-existing-query",
        ),
    ],
)
def test_build_end_session_url_sends_only_given_parameters(
    endpoint: str, kwargs: dict[str, Any], expected: str
) -> None:
    assert build_end_session_url(endpoint, **kwargs) == expected


# --- validate_logout_token --------------------------------------------------------------------


def logout_claims(**changes: Any) -> dict[str, Any]:
    """The certification OP's logout token: iss, aud, sub, sid, jti, iat, exp, events + extra."""
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "user-1",
        "sid": "sid-1",
        "jti": "jti-1",
        "iat": NOW,
        "exp": NOW + 120,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        "unknown_claim": "ignored",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def logout_token(alg: str = "RS256", header: dict[str, Any] | None = None, **changes: Any) -> str:
    return sign(logout_claims(**changes), alg, header=LOGOUT_TYP if header is None else header)


def validate(raw: str, **options: Any) -> LogoutToken:
    kwargs: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "allowed_algs": ["RS256"],
        "now": NOW,
        **options,
    }
    return validate_logout_token(raw, ALL, **kwargs)


@pytest.mark.parametrize(
    ("raw", "options", "expected"),
    [
        # oidcc-client-test-rp-backchannel-rpinitlogout
        pytest.param(
            logout_token(),
            {},
            LogoutToken(ISSUER, "user-1", "sid-1", "jti-1", NOW),
            id="valid",
        ),
        pytest.param(
            logout_token(sid=None),
            {},
            LogoutToken(ISSUER, "user-1", None, "jti-1", NOW),
            id="sub-only",
        ),
        pytest.param(
            logout_token(sub=None),
            {},
            LogoutToken(ISSUER, None, "sid-1", "jti-1", NOW),
            id="sid-only",
        ),
        pytest.param(
            logout_token(header={}),
            {},
            LogoutToken(ISSUER, "user-1", "sid-1", "jti-1", NOW),
            id="typ-jwt",
        ),
        pytest.param(
            logout_token(header={"typ": "application/logout+jwt"}),
            {},
            LogoutToken(ISSUER, "user-1", "sid-1", "jti-1", NOW),
            id="typ-full-media-type",
        ),
        pytest.param(
            logout_token("ES256", aud=[CLIENT_ID]),
            {"allowed_algs": ["ES256"]},
            LogoutToken(ISSUER, "user-1", "sid-1", "jti-1", NOW),
            id="es256-aud-array",
        ),
        pytest.param(
            logout_token(aud=[CLIENT_ID, "https://api.example.com"]),
            {"trusted_audiences": ("https://api.example.com",)},
            LogoutToken(ISSUER, "user-1", "sid-1", "jti-1", NOW),
            id="aud-trusted-extra-no-azp",
        ),
        pytest.param(
            logout_token(iat=NOW - 30, events={BACKCHANNEL_LOGOUT_EVENT: {"x": 1}, "other": {}}),
            {"max_age": 30, "clock_skew": 0},
            LogoutToken(ISSUER, "user-1", "sid-1", "jti-1", NOW - 30),
            id="max-age-events-extra",
        ),
        pytest.param(
            logout_token(exp=NOW - 59),
            {},
            LogoutToken(ISSUER, "user-1", "sid-1", "jti-1", NOW),
            id="exp-within-skew",
        ),
    ],
)
def test_validate_logout_token_accepts(
    raw: str, options: dict[str, Any], expected: LogoutToken
) -> None:
    assert validate(raw, **options) == expected


def test_typ_header_is_sent_by_default_in_tests() -> None:
    """Guard: the helper really marks tokens as logout+jwt unless told otherwise."""
    with pytest.raises(LogoutTokenError):
        validate(logout_token(header={"typ": "at+jwt"}))


L = LogoutTokenError
_H, _P, _S = logout_token().split(".")
TYP_NUMBER = b64(b'{"alg": "RS256", "kid": "rsa-1", "typ": 5}')
LOGOUT_REJECTS: list[tuple[str, str, dict[str, Any], type[Exception], str]] = [
    # the certification suite's seven invalid logout tokens
    ("alg-none", unsigned(logout_claims(), LOGOUT_TYP), {}, L, "logout_token.alg"),
    (
        "alg-none-even-if-allowed",
        unsigned(logout_claims(), LOGOUT_TYP),
        {"allowed_algs": ["RS256", "none"]},
        L,
        "logout_token.alg",
    ),
    ("no-event", logout_token(events=None), {}, L, "logout_token.events"),
    ("with-nonce", logout_token(nonce="n-1"), {}, L, "logout_token.nonce: must not be present"),
    ("wrong-alg", logout_token("ES256"), {}, L, "logout_token.alg"),
    (
        "wrong-aud",
        logout_token(aud=CLIENT_ID + "INVALID"),
        {},
        L,
        "logout_token.aud: does not contain the client_id",
    ),
    (
        "wrong-event",
        logout_token(events={"http://schemas.openid.net/event/foobar": {}}),
        {},
        L,
        "logout_token.events: no back-channel logout event",
    ),
    ("wrong-iss", logout_token(iss=ISSUER + "INVALID"), {}, L, "logout_token.iss"),
    # other rules of §2.4 and §2.6
    ("bad-signature", corrupt(logout_token()), {}, L, "logout_token.signature"),
    ("not-a-jwt", "garbage", {}, L, "logout_token.signature"),
    ("jwe", "a.b.c.d.e", {}, L, "logout_token.signature"),
    ("payload-array", sign([1], header=LOGOUT_TYP), {}, L, "logout_token.signature"),
    (
        "unknown-kid",
        logout_token(header={"kid": "new", **LOGOUT_TYP}),
        {},
        KeyNotFoundError,
        "jwks",
    ),
    ("typ-id-token", logout_token(header={"typ": "id_token+jwt"}), {}, L, "logout_token.typ"),
    ("typ-at-jwt", logout_token(header={"typ": "at+jwt"}), {}, L, "logout_token.typ"),
    ("typ-number", f"{TYP_NUMBER}.{_P}.{_S}", {}, L, "logout_token.signature"),
    ("iss-missing", logout_token(iss=None), {}, L, "logout_token.iss"),
    ("aud-missing", logout_token(aud=None), {}, L, "logout_token.aud"),
    ("aud-number", logout_token(aud=3), {}, L, "logout_token.aud"),
    ("aud-array-without-client", logout_token(aud=["x"]), {}, L, "logout_token.aud"),
    ("aud-empty-array", logout_token(aud=[]), {}, L, "logout_token.aud: not a string"),
    ("aud-array-not-strings", logout_token(aud=[CLIENT_ID, 7]), {}, L, "logout_token.aud"),
    # §2.6 step 3 -> OIDC Core §3.1.3.7 step 3: reject "additional audiences not trusted".
    (
        "aud-untrusted-extra",
        logout_token(aud=[CLIENT_ID, "other"]),
        {},
        L,
        "logout_token.aud: untrusted audience 'other'",
    ),
    (
        "aud-untrusted-extra-besides-trusted",
        logout_token(aud=[CLIENT_ID, "https://api.example.com", "other"]),
        {"trusted_audiences": ("https://api.example.com",)},
        L,
        "logout_token.aud: untrusted audience 'other'",
    ),
    ("iat-missing", logout_token(iat=None), {}, L, "logout_token.iat: missing"),
    ("iat-string", logout_token(iat="now"), {}, L, "logout_token.iat: missing or not a number"),
    ("iat-future", logout_token(iat=NOW + 600), {}, L, "logout_token.iat: issued in the future"),
    (
        "iat-too-old",
        logout_token(iat=NOW - 600),
        {"max_age": 60},
        L,
        "logout_token.iat: issued too",
    ),
    ("exp-missing", logout_token(exp=None), {}, L, "logout_token.exp: missing"),
    ("exp-bool", logout_token(exp=True), {}, L, "logout_token.exp"),
    ("exp-infinite", logout_token(exp=float("inf")), {}, L, "logout_token.exp"),
    ("expired", logout_token(exp=NOW - 61), {}, L, "logout_token.exp: expired"),
    ("jti-missing", logout_token(jti=None), {}, L, "logout_token.jti: missing"),
    ("jti-empty", logout_token(jti=""), {}, L, "logout_token.jti"),
    ("jti-number", logout_token(jti=7), {}, L, "logout_token.jti"),
    ("events-array", logout_token(events=[BACKCHANNEL_LOGOUT_EVENT]), {}, L, "logout_token.events"),
    (
        "event-value-not-object",
        logout_token(events={BACKCHANNEL_LOGOUT_EVENT: "yes"}),
        {},
        L,
        "logout_token.events",
    ),
    ("no-sub-no-sid", logout_token(sub=None, sid=None), {}, L, "logout_token.sub"),
    ("sub-number", logout_token(sub=5), {}, L, "logout_token.sub"),
    ("sid-number", logout_token(sid=5), {}, L, "logout_token.sub"),
    # an ID token replayed as a logout token
    ("id-token-replayed", sign(id_token_claims()), {}, L, "logout_token.jti"),
    (
        "id-token-with-events",
        sign({**id_token_claims(), "jti": "j", "events": {BACKCHANNEL_LOGOUT_EVENT: {}}}),
        {},
        L,
        "logout_token.nonce",
    ),
]


@pytest.mark.parametrize(
    ("raw", "options", "error_class", "rule"),
    [pytest.param(*row[1:], id=row[0]) for row in LOGOUT_REJECTS],
)
def test_validate_logout_token_rejects(
    raw: str, options: dict[str, Any], error_class: type[Exception], rule: str
) -> None:
    with pytest.raises(error_class) as info:
        validate(raw, **options)
    assert_error(info.value, error_class, rule)
