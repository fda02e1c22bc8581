"""Every test of the OpenID RP certification list, as rows of the results table.

Numbers and ids follow /work/shared/conformance/rp-certification-tests.md (§3 core tests,
§4 FAPI F1-F28 and G1-G32). A row with a ``reason`` is one oidc-rp does not play; a row
without one is played by the tests marked ``@pytest.mark.conformance("<key>")``. The new-suite
ids drop the ``oidcc-client-test-`` prefix (the test OP's case ids, see ``support.test_op.CASES``).
"""

from __future__ import annotations

from dataclasses import dataclass

FLOWS = "3.1 Flows, request behaviour, client authentication"
ID_TOKEN = "3.2 ID token validation"
USERINFO = "3.3 UserInfo and claims"
REQUEST_OBJECTS = "3.4 Request objects"
CONFIG = "3.5 Discovery, registration, key rotation, third-party login"
REFRESH = "3.6 Refresh tokens"
LOGOUT = "3.7 Logout and session management"
FAPI1 = "4.1 FAPI1-Advanced-Final (fapi1-advanced-final-client-*)"
FAPI2 = "4.2 FAPI2 Security Profile / Message Signing (fapi2-security-profile-final-client-*)"

IMPLICIT = "implicit flow (no code) refused by design (RFC 9700 §2.1.2: use code or hybrid)"
NO_JWE = "encrypted ID tokens / userinfo / request objects (JWE) are not implemented"
NO_MTLS = "mTLS client authentication and certificate-bound tokens are not implemented"
NO_DPOP = "DPoP (RFC 9449) is not implemented"
NO_JARM = "JARM (response_mode=jwt) is not implemented"
OB = "UK Open Banking / Brazil ecosystem extension, out of scope"
FAPI_PLAIN = "FAPI check played in the plain code flow (+PKCE); the FAPI profile itself is not"


@dataclass(frozen=True)
class Row:
    """One test of the list."""

    key: str
    section: str
    new: str
    old: str
    checks: str
    reason: str | None = None  # set: not supported, and why
    note: str = ""


def _r(key: str, section: str, new: str, old: str, checks: str, **kw: str) -> Row:
    return Row(key, section, new, old, checks, **kw)


ROWS: tuple[Row, ...] = (
    # 3.1 -----------------------------------------------------------------------------------
    _r(
        "1",
        FLOWS,
        "client-test",
        "rp-response_type-code, rp-response_type-code+id_token, "
        "rp-response_type-code+token, rp-response_type-code+id_token+token",
        "happy path per response type: code redeemed, ID token accepted, userinfo called",
    ),
    _r(
        "1i",
        FLOWS,
        "client-test (id_token, id_token token)",
        "rp-response_type-id_token, rp-response_type-id_token+token",
        "implicit happy path",
        reason=IMPLICIT,
    ),
    _r(
        "2",
        FLOWS,
        "(form_post plans)",
        "rp-response_mode-form_post",
        "response_mode=form_post: the POSTed response is accepted (and rejected as usual)",
    ),
    _r(
        "3",
        FLOWS,
        "form-post-error",
        "rp-response_mode-form_post-error",
        "form_post + prompt=none + max_age=0; the POSTed login_required error is shown",
    ),
    _r(
        "4",
        FLOWS,
        "nonce-unless-code-flow",
        "rp-nonce-unless-code-flow",
        "a nonce is always sent when an ID token comes from the authorization endpoint",
    ),
    _r("5", FLOWS, "nonce-invalid", "rp-nonce-invalid", "ID token nonce + '1' is rejected"),
    _r(
        "6",
        FLOWS,
        "scope-userinfo-claims",
        "rp-scope-userinfo-claims",
        "claims asked by scope (profile, email) come back from userinfo",
    ),
    _r(
        "7",
        FLOWS,
        "client-secret-basic",
        "rp-token_endpoint-client_secret_basic",
        "token request authenticated with HTTP Basic",
    ),
    _r(
        "8",
        FLOWS,
        "client-test (client_auth_type=client_secret_post)",
        "rp-token_endpoint-client_secret_post",
        "credentials in the POST body",
    ),
    _r(
        "9",
        FLOWS,
        "client-test (client_auth_type=client_secret_jwt)",
        "rp-token_endpoint-client_secret_jwt",
        "HS256 client assertion keyed with the secret",
    ),
    _r(
        "10",
        FLOWS,
        "client-test (client_auth_type=private_key_jwt)",
        "rp-token_endpoint-private_key_jwt",
        "client assertion signed with the RP's key, published at the RP's jwks_uri",
    ),
    _r(
        "11",
        FLOWS,
        "mtls-endpoint-aliases",
        "—",
        "token request sent to mtls_endpoint_aliases",
        reason=NO_MTLS,
    ),
    _r(
        "V1",
        FLOWS,
        "client-test (send_parameters_via=par)",
        "—",
        "variant: pushed authorization request (RFC 9126), then the usual code flow",
    ),
    # 3.2 -----------------------------------------------------------------------------------
    _r("12", ID_TOKEN, "invalid-iss", "rp-id_token-issuer-mismatch", "ID token iss + '1'"),
    _r("13", ID_TOKEN, "missing-sub", "rp-id_token-sub", "ID token without sub"),
    _r("14", ID_TOKEN, "invalid-aud", "rp-id_token-aud", "ID token aud = client_id + '1'"),
    _r("15", ID_TOKEN, "missing-aud", "rp-id_token-aud", "ID token without aud"),
    _r("16", ID_TOKEN, "missing-iat", "rp-id_token-iat", "ID token without iat"),
    _r(
        "17",
        ID_TOKEN,
        "kid-absent-single-jwks",
        "rp-id_token-kid-absent-single-jwks",
        "no kid, one RSA key in the JWKS: that key is used, token accepted",
    ),
    _r(
        "18",
        ID_TOKEN,
        "kid-absent-multiple-jwks",
        "rp-id_token-kid-absent-multiple-jwks",
        "no kid, three RSA keys: reject (or try all keys); both outcomes pass",
    ),
    _r("19", ID_TOKEN, "idtoken-sig-rs256", "rp-id_token-sig-rs256", "valid RS256 ID token"),
    _r(
        "20",
        ID_TOKEN,
        "idtoken-sig-none",
        "rp-id_token-sig-none",
        "unsigned ID token from the token endpoint: accept+userinfo (pass) or reject (skipped)",
    ),
    _r(
        "21",
        ID_TOKEN,
        "invalid-sig-rs256",
        "rp-id_token-bad-sig-rs256",
        "RS256 signature bytes XOR 0x5A",
    ),
    _r(
        "22", ID_TOKEN, "invalid-sig-hs256", "rp-id_token-bad-sig-hs256", "HS256 MAC bytes XOR 0x5A"
    ),
    _r(
        "23",
        ID_TOKEN,
        "invalid-sig-es256",
        "rp-id_token-bad-sig-es256",
        "ES256 signature bytes XOR 0x5A",
    ),
    _r("24", ID_TOKEN, "sig-es256", "rp-id_token-sig-es256", "valid ES256 ID token"),
    _r(
        "25",
        ID_TOKEN,
        "sig-hs256",
        "rp-id_token-sig-hs256",
        "valid HS256 ID token keyed with the client secret",
    ),
    _r("26", ID_TOKEN, "—", "rp-id_token-sig+enc", "signed then encrypted ID token", reason=NO_JWE),
    _r(
        "27",
        ID_TOKEN,
        "—",
        "rp-id_token-sig+enc-a128kw",
        "encrypted ID token (A128KW)",
        reason=NO_JWE,
    ),
    _r(
        "28",
        ID_TOKEN,
        "invalid-athash",
        "rp-id_token-bad-at_hash",
        "front-channel at_hash + '1': no token call, no userinfo call",
        note="id_token token (implicit) not played: " + IMPLICIT,
    ),
    _r(
        "29",
        ID_TOKEN,
        "missing-athash",
        "rp-id_token-missing-at_hash",
        "front-channel ID token without at_hash next to an access token",
        note="id_token token (implicit) not played: " + IMPLICIT,
    ),
    _r(
        "30",
        ID_TOKEN,
        "invalid-chash",
        "rp-id_token-bad-c_hash",
        "c_hash + '1': the code is not redeemed",
    ),
    _r(
        "31",
        ID_TOKEN,
        "missing-chash",
        "rp-id_token-missing-c_hash",
        "front-channel ID token without c_hash: the code is not redeemed",
    ),
    _r(
        "32",
        ID_TOKEN,
        "ignores-unparseable-key-in-jwks",
        "—",
        "JWKS with an AKP and an unknown-kty key next to the real one: accept",
    ),
    # 3.3 -----------------------------------------------------------------------------------
    _r(
        "33",
        USERINFO,
        "userinfo-bearer-header",
        "rp-userinfo-bearer-header",
        "access token in the Authorization: Bearer header only",
    ),
    _r(
        "34",
        USERINFO,
        "userinfo-bearer-body",
        "rp-userinfo-bearer-body",
        "access token as a form body parameter",
        reason="the RP sends the access token in the Authorization header only "
        "(RFC 6750 §2.1, the method every OP must support); no body option",
    ),
    _r(
        "35",
        USERINFO,
        "userinfo-invalid-sub",
        "rp-userinfo-bad-sub-claim",
        "userinfo sub != ID token sub: login refused",
    ),
    _r(
        "36",
        USERINFO,
        "userinfo-signed",
        "rp-userinfo-sig",
        "userinfo as an RS256 JWT (iss, aud checked)",
    ),
    _r("37", USERINFO, "—", "rp-userinfo-enc", "encrypted userinfo", reason=NO_JWE),
    _r("38", USERINFO, "—", "rp-userinfo-sig+enc", "signed+encrypted userinfo", reason=NO_JWE),
    _r(
        "39",
        USERINFO,
        "aggregated-claims",
        "rp-claims-aggregated",
        "aggregated claims (_claim_names/_claim_sources JWT) unpacked",
        reason="aggregated claims (OIDC Core §5.6.2, optional) are shown as returned, "
        "not unpacked; the test OP has no such case",
    ),
    _r(
        "40",
        USERINFO,
        "distributed-claims",
        "rp-claims-distributed",
        "distributed claims fetched from the claims endpoint",
        reason="distributed claims (OIDC Core §5.6.2, optional) are not fetched; "
        "the test OP has no such case",
    ),
    _r(
        "41",
        USERINFO,
        "—",
        "rp-claims_request-id_token",
        "claims parameter asks name in the ID token",
        reason="the RP sends the claims parameter (login form 'claims'), but the test OP "
        "does not honour it, so the round trip is not played",
    ),
    _r(
        "42",
        USERINFO,
        "—",
        "rp-claims_request-userinfo",
        "claims parameter asks name in userinfo",
        reason="as row 41: the test OP does not honour the claims parameter",
    ),
    # 3.4 -----------------------------------------------------------------------------------
    _r(
        "43",
        REQUEST_OBJECTS,
        "request-uri-signed-none",
        "rp-request_uri-unsigned",
        "dynamic client; unsigned request object by reference (served at /request-object/<id>)",
        note="http request_uri on loopback (the suite requires https)",
    ),
    _r(
        "44",
        REQUEST_OBJECTS,
        "request-uri-signed-rs256",
        "rp-request_uri-sig",
        "dynamic client; RS256 request object by reference, key published in the registration",
    ),
    _r("45", REQUEST_OBJECTS, "—", "rp-request_uri-enc", "encrypted request object", reason=NO_JWE),
    _r(
        "46",
        REQUEST_OBJECTS,
        "—",
        "rp-request_uri-sig+enc",
        "signed+encrypted request object",
        reason=NO_JWE,
    ),
    _r(
        "V2",
        REQUEST_OBJECTS,
        "request-object-signed-rs256 (client_request_type=request_object)",
        "—",
        "variant: RS256 request object by value",
    ),
    # 3.5 -----------------------------------------------------------------------------------
    _r(
        "47",
        CONFIG,
        "discovery-openid-config",
        "rp-discovery-openid-configuration",
        "endpoints come from the configuration document",
    ),
    _r(
        "48",
        CONFIG,
        "discovery-jwks-uri-keys",
        "rp-discovery-jwks_uri-keys",
        "random jwks_uri path taken from discovery, fetched before the ID token is accepted",
    ),
    _r(
        "49",
        CONFIG,
        "discovery-issuer-mismatch",
        "rp-discovery-issuer-not-matching-config",
        "configuration issuer + 'INVALID': stop before any authorization request",
    ),
    _r(
        "50",
        CONFIG,
        "signing-key-rotation",
        "rp-key-rotation-op-sign-key",
        "second login signed with a new key: JWKS refetched on the unknown kid",
    ),
    _r(
        "51",
        CONFIG,
        "signing-key-rotation-just-before-signing",
        "rp-key-rotation-op-sign-key-native",
        "JWKS replaced just before the first signing",
    ),
    _r(
        "52",
        CONFIG,
        "—",
        "rp-key-rotation-op-enc-key",
        "OP encryption key rotation (request object encryption)",
        reason=NO_JWE,
    ),
    _r(
        "53",
        CONFIG,
        "discovery-webfinger-acct",
        "rp-discovery-webfinger-acct",
        "WebFinger with acct: syntax",
        reason="no WebFinger: the RP is configured with the issuer URL (Discovery §2 is "
        "optional for RPs that know their OP)",
    ),
    _r(
        "54",
        CONFIG,
        "discovery-webfinger-url",
        "rp-discovery-webfinger-url",
        "WebFinger with URL syntax",
        reason="no WebFinger (see row 53)",
    ),
    _r(
        "55",
        CONFIG,
        "—",
        "rp-discovery-webfinger-http-href",
        "WebFinger http issuer refused",
        reason="no WebFinger (see row 53)",
    ),
    _r(
        "56",
        CONFIG,
        "—",
        "rp-discovery-webfinger-unknown-member",
        "WebFinger unknown JRD member ignored",
        reason="no WebFinger (see row 53)",
    ),
    _r(
        "57",
        CONFIG,
        "dynamic-registration",
        "rp-registration-dynamic",
        "RFC 7591 registration through the app's POST /register, then a login with it",
    ),
    _r(
        "58",
        CONFIG,
        "3rd-party-init-login",
        "rp-3rd_party-init-login",
        "login started by the OP at initiate_login_uri?iss=...",
        reason="the web app has no initiate_login_uri endpoint (OIDC Core §4)",
    ),
    # 3.6 -----------------------------------------------------------------------------------
    _r(
        "59", REFRESH, "refresh-token", "—", "refresh_token grant, then userinfo with the new token"
    ),
    _r(
        "60",
        REFRESH,
        "refresh-token-invalid-issuer",
        "—",
        "refreshed ID token iss + '1' refused (OIDC Core §12.2)",
    ),
    _r(
        "61",
        REFRESH,
        "refresh-token-invalid-sub",
        "—",
        "refreshed ID token sub + '1' refused (OIDC Core §12.2)",
    ),
    # 3.7 -----------------------------------------------------------------------------------
    _r(
        "62",
        LOGOUT,
        "rp-init-logout",
        "rp-init-logout",
        "end_session with id_token_hint, post_logout_redirect_uri, state; confirmed on return",
    ),
    _r(
        "63",
        LOGOUT,
        "rp-init-logout-other-state",
        "rp-init-logout-other-state",
        "return with state + '_INVALID': not taken as ours, neutral page",
    ),
    _r(
        "64",
        LOGOUT,
        "rp-init-logout-no-state",
        "rp-init-logout-no-state",
        "return without state: handled gracefully",
    ),
    _r(
        "65",
        LOGOUT,
        "session-management",
        "rp-init-logout-session",
        "check_session_iframe polling",
        reason="OP iframe session management is not implemented (no session_state use)",
    ),
    _r(
        "66",
        LOGOUT,
        "rp-frontchannel-rpinitlogout",
        "rp-frontchannel-rpinitlogout",
        "front-channel logout iframe",
        reason="front-channel logout is not implemented",
    ),
    _r(
        "67",
        LOGOUT,
        "rp-frontchannel-opinitlogout",
        "—",
        "OP-initiated front-channel logout",
        reason="front-channel logout is not implemented",
    ),
    _r(
        "68",
        LOGOUT,
        "—",
        "rp-frontchannel-rpinitlogout-wrong-iss",
        "front-channel request with a wrong iss",
        reason="front-channel logout is not implemented",
    ),
    _r(
        "69",
        LOGOUT,
        "—",
        "rp-frontchannel-rpinitlogout-wrong-sid",
        "front-channel request with another sid",
        reason="front-channel logout is not implemented",
    ),
    _r(
        "70",
        LOGOUT,
        "rp-backchannel-rpinitlogout",
        "rp-backchannel-rpinitlogout",
        "valid logout token: 200 (no-store) and the session ends",
    ),
    _r(
        "71",
        LOGOUT,
        "rp-backchannel-rpinitlogout-alg-none",
        "rp-backchannel-rpinitlogout-lt-alg-none",
        "unsigned logout token: 400, session kept",
    ),
    _r(
        "72",
        LOGOUT,
        "rp-backchannel-rpinitlogout-no-event",
        "rp-backchannel-rpinitlogout-lt-no-event",
        "no events claim: 400, session kept",
    ),
    _r(
        "73",
        LOGOUT,
        "rp-backchannel-rpinitlogout-with-nonce",
        "rp-backchannel-rpinitlogout-lt-with-nonce",
        "nonce present: 400, session kept",
    ),
    _r(
        "74",
        LOGOUT,
        "rp-backchannel-rpinitlogout-wrong-alg",
        "rp-backchannel-rpinitlogout-lt-wrong-alg",
        "another alg than the ID tokens': 400",
    ),
    _r(
        "75",
        LOGOUT,
        "rp-backchannel-rpinitlogout-wrong-aud",
        "rp-backchannel-rpinitlogout-lt-wrong-aud",
        "aud + 'INVALID': 400, session kept",
    ),
    _r(
        "76",
        LOGOUT,
        "rp-backchannel-rpinitlogout-wrong-event",
        "rp-backchannel-rpinitlogout-lt-wrong-event",
        "unrelated event only: 400",
    ),
    _r(
        "77",
        LOGOUT,
        "rp-backchannel-rpinitlogout-wrong-iss",
        "rp-backchannel-rpinitlogout-lt-wrong-issuer",
        "iss + 'INVALID': 400, session kept",
    ),
    # 4.1 FAPI1 ------------------------------------------------------------------------------
    _r("F1", FAPI1, "test", "—", "FAPI1 happy path with MTLS-bound tokens", reason=NO_MTLS),
    _r("F2", FAPI1, "test-encrypted-idtoken", "—", "encrypted ID token", reason=NO_JWE),
    _r(
        "F3",
        FAPI1,
        "test-discovery-issuer-mismatch",
        "—",
        "discovery issuer + 'INVALID'",
        note=FAPI_PLAIN,
    ),
    _r(
        "F4",
        FAPI1,
        "test-encrypted-idtoken-usingrsa15",
        "—",
        "RSA1_5 encrypted ID token",
        reason=NO_JWE,
    ),
    _r(
        "F5",
        FAPI1,
        "test-invalid-shash",
        "—",
        "wrong s_hash",
        reason="s_hash (FAPI1 detached signature over state) is not checked",
    ),
    _r("F6", FAPI1, "test-invalid-chash", "—", "wrong c_hash", note=FAPI_PLAIN),
    _r("F7", FAPI1, "test-invalid-nonce", "—", "nonce + '1'", note=FAPI_PLAIN),
    _r("F8", FAPI1, "test-invalid-iss", "—", "iss + '1'", note=FAPI_PLAIN),
    _r("F9", FAPI1, "test-invalid-aud", "—", "aud + '1'", note=FAPI_PLAIN),
    _r(
        "F10",
        FAPI1,
        "test-invalid-secondary-aud",
        "—",
        "aud = [client_id, client_id + '1'] without azp",
        note=FAPI_PLAIN,
    ),
    _r("F11", FAPI1, "test-invalid-signature", "—", "signature bytes corrupted", note=FAPI_PLAIN),
    _r("F12", FAPI1, "test-invalid-null-alg", "—", "ID token alg none", note=FAPI_PLAIN),
    _r(
        "F13",
        FAPI1,
        "test-invalid-alternate-alg",
        "—",
        "RS256 with a published key where FAPI allows only PS256/ES256",
        reason="FAPI alg profile not played (the allow-list is the configured "
        "id_token_signed_response_alg; tested in tests/core)",
    ),
    _r("F14", FAPI1, "test-invalid-expired-exp", "—", "exp 6 minutes ago", note=FAPI_PLAIN),
    _r("F15", FAPI1, "test-invalid-missing-exp", "—", "exp removed", note=FAPI_PLAIN),
    _r("F16", FAPI1, "test-iat-is-week-in-past", "—", "iat 7 days ago", note=FAPI_PLAIN),
    _r("F17", FAPI1, "test-invalid-missing-aud", "—", "aud removed", note=FAPI_PLAIN),
    _r(
        "F18",
        FAPI1,
        "test-invalid-missing-iss",
        "—",
        "iss removed",
        reason="no test OP case (the rule is tested in tests/core/test_id_token.py)",
    ),
    _r(
        "F19",
        FAPI1,
        "test-invalid-missing-nonce",
        "—",
        "nonce removed",
        reason="no test OP case (the rule is tested in tests/core/test_id_token.py)",
    ),
    _r(
        "F20",
        FAPI1,
        "test-invalid-missing-shash",
        "—",
        "s_hash removed",
        reason="s_hash is not checked (see F5)",
    ),
    _r("F21", FAPI1, "test-valid-aud-as-array", "—", "aud = [client_id] accepted", note=FAPI_PLAIN),
    _r(
        "F22",
        FAPI1,
        "test-no-scope-in-token-endpoint-response",
        "—",
        "token response without scope and expires_in",
        reason="no test OP case for a missing scope (expires_in: see G20)",
    ),
    _r(
        "F23",
        FAPI1,
        "test-missing-athash",
        "—",
        "OB: no at_hash without front access token",
        reason=OB,
    ),
    _r("F24", FAPI1, "test-invalid-openbanking-intent-id", "—", "OB intent id", reason=OB),
    _r("F25", FAPI1, "refresh-token-test", "—", "resource 401, refresh, retry", reason=OB),
    _r(
        "F26",
        FAPI1,
        "brazildcr-happypath-test",
        "—",
        "Brazil DCR with software statement",
        reason=OB,
    ),
    _r(
        "F27",
        FAPI1,
        "test-payment-consent-response-valid-aud-as-array",
        "—",
        "Brazil payment consent",
        reason=OB,
    ),
    _r(
        "F28",
        FAPI1,
        "test-unencrypted-request-object-with-par",
        "—",
        "signed request object pushed by PAR",
        reason="PAR sends plain parameters; signed request objects go by value or reference",
    ),
    # 4.2 FAPI2 ------------------------------------------------------------------------------
    _r(
        "G1",
        FAPI2,
        "test-happy-path",
        "—",
        "FAPI2 happy path (PAR, DPoP or MTLS)",
        reason=NO_DPOP + "; " + NO_MTLS,
    ),
    _r("G2", FAPI2, "test-happy-path-no-dpop-nonce", "—", "DPoP without nonce", reason=NO_DPOP),
    _r(
        "G3",
        FAPI2,
        "test-discovery-issuer-mismatch",
        "—",
        "discovery issuer + 'INVALID'",
        note=FAPI_PLAIN,
    ),
    _r("G4", FAPI2, "test-invalid-iss", "—", "iss + '1'", note=FAPI_PLAIN),
    _r("G5", FAPI2, "test-invalid-aud", "—", "aud + '1'", note=FAPI_PLAIN),
    _r(
        "G6", FAPI2, "test-invalid-secondary-aud", "—", "untrusted second audience", note=FAPI_PLAIN
    ),
    _r("G7", FAPI2, "test-invalid-null-alg", "—", "alg none", note=FAPI_PLAIN),
    _r(
        "G8",
        FAPI2,
        "test-invalid-alternate-alg",
        "—",
        "RS256 not allowed by FAPI2",
        reason="FAPI alg profile not played (see F13)",
    ),
    _r("G9", FAPI2, "test-invalid-expired-exp", "—", "exp 6 minutes ago", note=FAPI_PLAIN),
    _r("G10", FAPI2, "test-invalid-missing-exp", "—", "exp removed", note=FAPI_PLAIN),
    _r("G11", FAPI2, "test-invalid-missing-aud", "—", "aud removed", note=FAPI_PLAIN),
    _r(
        "G12",
        FAPI2,
        "test-invalid-missing-iss",
        "—",
        "iss removed",
        reason="no test OP case (the rule is tested in tests/core/test_id_token.py)",
    ),
    _r("G13", FAPI2, "test-valid-aud-as-array", "—", "aud = [client_id]", note=FAPI_PLAIN),
    _r("G14", FAPI2, "test-invalid-nonce", "—", "nonce + '1'", note=FAPI_PLAIN),
    _r(
        "G15",
        FAPI2,
        "test-invalid-missing-nonce",
        "—",
        "nonce removed",
        reason="no test OP case (the rule is tested in tests/core/test_id_token.py)",
    ),
    _r(
        "G16",
        FAPI2,
        "test-invalid-authorization-response-iss",
        "—",
        "RFC 9207 iss + '1': no token call",
        note=FAPI_PLAIN,
    ),
    _r(
        "G17",
        FAPI2,
        "test-remove-authorization-response-iss",
        "—",
        "RFC 9207 iss missing though advertised: no token call",
        note=FAPI_PLAIN,
    ),
    _r(
        "G18",
        FAPI2,
        "test-ensure-authorization-response-with-invalid-state-fails",
        "—",
        "state + '1': no token call",
        note=FAPI_PLAIN,
    ),
    _r(
        "G19",
        FAPI2,
        "test-ensure-authorization-response-with-invalid-missing-state-fails",
        "—",
        "state removed: no token call",
        note=FAPI_PLAIN,
    ),
    _r(
        "G20",
        FAPI2,
        "test-token-endpoint-response-without-expires_in",
        "—",
        "no expires_in: accepted",
        note=FAPI_PLAIN,
    ),
    _r(
        "G21",
        FAPI2,
        "test-token-type-case-insensitivity",
        "—",
        "token_type 'bEARER': accepted",
        note=FAPI_PLAIN,
    ),
    _r(
        "G22",
        FAPI2,
        "test-rs-dpop-auth-scheme-case-insensitivity",
        "—",
        "DPoP scheme spelled dPoP",
        reason=NO_DPOP,
    ),
    _r(
        "G23-30",
        FAPI2,
        "test-ensure-jarm-*-fails (8 tests)",
        "—",
        "JARM response without/with bad iss, aud, exp, signature, or alg none",
        reason=NO_JARM,
    ),
    _r("G31", FAPI2, "test-invalid-openbanking-intent-id", "—", "OB intent id", reason=OB),
    _r("G32", FAPI2, "refresh-token-test", "—", "resource 401, rotating refresh", reason=OB),
)
