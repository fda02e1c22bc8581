"""Provider metadata: fetch and check an OpenID Provider's discovery document.

OpenID Connect Discovery 1.0 §3 (the members), §4 (obtaining them). The document is
trusted only when its ``issuer`` is exactly the configured issuer (§4.3), every
member read has the type §3 gives it, and every endpoint is an absolute https URL
(http is tolerated for loopback hosts, for local development and tests).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from oidc_rp.core.messages import HttpRequest, HttpResponse, json_object
from oidc_rp.errors import DiscoveryError

__all__ = [
    "WELL_KNOWN_PATH",
    "ProviderMetadata",
    "build_discovery_request",
    "is_loopback_host",
    "parse_provider_metadata",
]

WELL_KNOWN_PATH = "/.well-known/openid-configuration"

ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
    "registration_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
    "end_session_endpoint",
    "pushed_authorization_request_endpoint",
)

# Discovery §3 defaults for absent members; absent lists without a default are empty.
_LIST_DEFAULTS: dict[str, tuple[str, ...]] = {
    "response_modes_supported": ("query", "fragment"),
    "grant_types_supported": ("authorization_code", "implicit"),
    "token_endpoint_auth_methods_supported": ("client_secret_basic",),
}
_LISTS = (
    "scopes_supported",
    "response_types_supported",
    "response_modes_supported",
    "grant_types_supported",
    "subject_types_supported",
    "code_challenge_methods_supported",
    "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported",
    "id_token_signing_alg_values_supported",
    "userinfo_signing_alg_values_supported",
    "request_object_signing_alg_values_supported",
    "claims_supported",
)
_BOOL_DEFAULTS = {
    "require_pushed_authorization_requests": False,
    "authorization_response_iss_parameter_supported": False,
    "request_parameter_supported": False,
    # Discovery §3: "If omitted, the default value is true."
    "request_uri_parameter_supported": True,
    "backchannel_logout_supported": False,
}
_REQUIRED_LISTS = (
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
)


@dataclass(frozen=True)
class ProviderMetadata:
    """The checked provider metadata (Discovery 1.0 §3); lists are tuples, ``raw`` is the JSON."""

    issuer: str
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    jwks_uri: str | None = None
    userinfo_endpoint: str | None = None
    registration_endpoint: str | None = None
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    end_session_endpoint: str | None = None
    pushed_authorization_request_endpoint: str | None = None
    require_pushed_authorization_requests: bool = False
    authorization_response_iss_parameter_supported: bool = False
    request_parameter_supported: bool = False
    request_uri_parameter_supported: bool = True
    backchannel_logout_supported: bool = False
    scopes_supported: tuple[str, ...] = ()
    response_types_supported: tuple[str, ...] = ()
    response_modes_supported: tuple[str, ...] = _LIST_DEFAULTS["response_modes_supported"]
    grant_types_supported: tuple[str, ...] = _LIST_DEFAULTS["grant_types_supported"]
    subject_types_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = _LIST_DEFAULTS[
        "token_endpoint_auth_methods_supported"
    ]
    token_endpoint_auth_signing_alg_values_supported: tuple[str, ...] = ()
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    userinfo_signing_alg_values_supported: tuple[str, ...] = ()
    request_object_signing_alg_values_supported: tuple[str, ...] = ()
    claims_supported: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_endpoints(cls, issuer: str, **members: Any) -> ProviderMetadata:
        """Metadata configured by hand, without discovery: endpoints and any other §3 member.

        Values get the same type and URL checks as a discovery document; a bad one is a
        configuration mistake and raises ValueError (TypeError for an unknown member).
        """
        known = {f.name for f in fields(cls)} - {"issuer", "raw"}
        unknown = sorted(set(members) - known)
        if unknown:
            raise TypeError(f"ProviderMetadata.from_endpoints: unknown member {unknown[0]!r}")
        document = {"issuer": issuer, **{k: v for k, v in members.items() if v is not None}}
        try:
            return _metadata_from_document(document, issuer, discovered=False)
        except DiscoveryError as error:
            raise ValueError(error.message) from None


def build_discovery_request(issuer: str) -> HttpRequest:
    """GET ``{issuer}/.well-known/openid-configuration`` (Discovery 1.0 §4.1).

    A trailing ``/`` of the issuer is removed before the path is appended.
    """
    url = issuer.rstrip("/") + WELL_KNOWN_PATH
    return HttpRequest("GET", url, {"accept": "application/json"})


def parse_provider_metadata(response: HttpResponse, expected_issuer: str) -> ProviderMetadata:
    """Check a discovery response and return the metadata (Discovery 1.0 §4.2, §4.3).

    Raises ``DiscoveryError`` naming the rule that failed.
    """
    # Discovery §4.2: "A successful response MUST use the 200 OK HTTP status code".
    if response.status != 200:
        raise DiscoveryError(f"discovery.status: expected HTTP 200, got {response.status}")
    document = json_object(response, "discovery.body", DiscoveryError)
    return _metadata_from_document(document, expected_issuer, discovered=True)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _metadata_from_document(
    document: Mapping[str, Any], expected_issuer: str, *, discovered: bool
) -> ProviderMetadata:
    issuer = document.get("issuer")
    if not isinstance(issuer, str):
        raise DiscoveryError("discovery.issuer: missing or not a string")
    # Discovery §4.3: the issuer value returned MUST be identical to the Issuer URL used.
    if issuer != expected_issuer:
        raise DiscoveryError(
            f"discovery.issuer: {issuer!r} is not identical to the expected {expected_issuer!r}"
        )
    _check_issuer_url(issuer)
    values: dict[str, Any] = {"issuer": issuer, "raw": MappingProxyType(dict(document))}
    for name in ENDPOINTS:
        values[name] = _endpoint(document, name)
    for name in _LISTS:
        values[name] = _string_list(document, name)
    for name, default in _BOOL_DEFAULTS.items():
        values[name] = _boolean(document, name, default)
    if discovered:
        _check_required(document, values)
    return ProviderMetadata(**values)


def _check_required(document: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    # Discovery §3: authorization_endpoint, jwks_uri and these lists are REQUIRED.
    for name in ("authorization_endpoint", "jwks_uri"):
        if values[name] is None:
            raise DiscoveryError(f"discovery.{name}: missing (REQUIRED, Discovery §3)")
    for name in _REQUIRED_LISTS:
        if document.get(name) is None:
            raise DiscoveryError(f"discovery.{name}: missing (REQUIRED, Discovery §3)")
    # Discovery §3: token_endpoint "is REQUIRED unless only the Implicit Flow is used".
    uses_code = any("code" in rt.split() for rt in values["response_types_supported"])
    if uses_code and values["token_endpoint"] is None:
        raise DiscoveryError("discovery.token_endpoint: missing (REQUIRED for the code flow)")


def _check_issuer_url(issuer: str) -> None:
    # Discovery §3: issuer is "a case sensitive URL using the https scheme ... and no query
    # or fragment components".
    _check_url("discovery.issuer", issuer)
    parts = urlsplit(issuer)
    if parts.query or "?" in issuer:
        raise DiscoveryError("discovery.issuer: must not contain a query")


def _check_url(rule: str, url: str) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise DiscoveryError(f"{rule}: not a valid URL") from None
    if parts.scheme not in ("https", "http") or not host:
        raise DiscoveryError(f"{rule}: must be an absolute https URL")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise DiscoveryError(f"{rule}: must use https (http only for loopback hosts)")
    # RFC 6749 §3.1, §3.2: endpoint URIs MUST NOT include a fragment component.
    if parts.fragment or "#" in url:
        raise DiscoveryError(f"{rule}: must not contain a fragment")


def _endpoint(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DiscoveryError(f"discovery.{name}: not a string")
    _check_url(f"discovery.{name}", value)
    return value


def _string_list(document: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = document.get(name)
    if value is None:
        return _LIST_DEFAULTS.get(name, ())
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DiscoveryError(f"discovery.{name}: not a JSON array of strings")
    return tuple(value)


def _boolean(document: Mapping[str, Any], name: str, default: bool) -> bool:
    value = document.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise DiscoveryError(f"discovery.{name}: not a boolean")
    return value
