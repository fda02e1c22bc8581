"""Dynamic client registration (RFC 7591, OpenID Connect Dynamic Client Registration 1.0).

:func:`registration_metadata` builds the client metadata to send,
:func:`build_registration_request` the JSON POST (RFC 7591 §3.1), and
:func:`parse_registration_response` checks the answer (§3.2.1, §3.2.2).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from oidc_rp.core.messages import HttpRequest, HttpResponse, json_object
from oidc_rp.core.token import raise_for_error_response
from oidc_rp.errors import RegistrationError

__all__ = [
    "ClientRegistration",
    "build_registration_request",
    "parse_registration_response",
    "registration_metadata",
]


@dataclass(frozen=True)
class ClientRegistration:
    """A registered client (RFC 7591 §3.2.1); ``raw`` is all the metadata returned."""

    client_id: str
    client_secret: str | None = None
    client_secret_expires_at: int | None = None
    client_id_issued_at: int | None = None
    registration_access_token: str | None = None
    registration_client_uri: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        # Never show the secret or the registration access token.
        return f"ClientRegistration(client_id={self.client_id!r})"

    def to_dict(self) -> dict[str, Any]:
        """The registration as the JSON object the OP returned (JSON-safe)."""
        return dict(self.raw) | {"client_id": self.client_id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClientRegistration:
        """Read a registration back from :meth:`to_dict` (the same checks as a response)."""
        return _registration(data)


def registration_metadata(
    *,
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str] | None,
    response_types: Sequence[str],
    grant_types: Sequence[str],
    token_endpoint_auth_method: str,
    id_token_signed_response_alg: str,
    jwks: Mapping[str, Any] | None = None,
    jwks_uri: str | None = None,
    request_object_signing_alg: str | None = None,
    userinfo_signed_response_alg: str | None = None,
    client_name: str | None = "oidc-rp",
    software_id: str | None = None,
    backchannel_logout_uri: str | None = None,
    contacts: Sequence[str] | None = None,
    request_uris: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The client metadata to register (RFC 7591 §2, OIDC Registration §2); None is dropped.

    ``grant_types`` is completed so that it is consistent with ``response_types``
    (OIDC Registration §2: code needs authorization_code, id_token and token need
    implicit).
    """
    if jwks is not None and jwks_uri is not None:
        # RFC 7591 §2: "The jwks_uri and jwks parameters MUST NOT both be present".
        raise ValueError("registration.jwks: jwks and jwks_uri must not both be given")
    metadata: dict[str, Any] = {
        "redirect_uris": list(redirect_uris),
        "post_logout_redirect_uris": _list_or_none(post_logout_redirect_uris),
        "response_types": list(response_types),
        "grant_types": _consistent_grant_types(response_types, grant_types),
        "token_endpoint_auth_method": token_endpoint_auth_method,
        "id_token_signed_response_alg": id_token_signed_response_alg,
        "jwks": None if jwks is None else dict(jwks),
        "jwks_uri": jwks_uri,
        "request_object_signing_alg": request_object_signing_alg,
        "userinfo_signed_response_alg": userinfo_signed_response_alg,
        "client_name": client_name,
        "software_id": software_id,
        "backchannel_logout_uri": backchannel_logout_uri,
        "contacts": _list_or_none(contacts),
        "request_uris": _list_or_none(request_uris),
    }
    return {name: value for name, value in metadata.items() if value is not None}


def build_registration_request(
    endpoint: str, metadata: Mapping[str, Any], initial_access_token: str | None = None
) -> HttpRequest:
    """A JSON POST of the client metadata (RFC 7591 §3.1).

    With an initial access token it goes as a Bearer token (RFC 7591 §3).
    """
    headers = {"content-type": "application/json", "accept": "application/json"}
    if initial_access_token is not None:
        headers["authorization"] = f"Bearer {initial_access_token}"
    return HttpRequest("POST", endpoint, headers, json.dumps(dict(metadata)).encode("utf-8"))


def parse_registration_response(response: HttpResponse) -> ClientRegistration:
    """Check a registration response (RFC 7591 §3.2.1, §3.2.2).

    An error answer (``invalid_redirect_uri``, ``invalid_client_metadata``, ...) raises
    ``TokenErrorResponse(endpoint="registration")``; any other unusable answer raises
    ``RegistrationError``.
    """
    raise_for_error_response(response, "registration")
    # RFC 7591 §3.2.1: the server responds with HTTP 201 Created (some answer 200).
    if response.status not in (200, 201):
        raise RegistrationError(f"registration.status: expected HTTP 201, got {response.status}")
    return _registration(json_object(response, "registration.body", RegistrationError))


def _registration(data: Mapping[str, Any]) -> ClientRegistration:
    # RFC 7591 §3.2.1: client_id is REQUIRED.
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise RegistrationError("registration.client_id: missing or not a string")
    return ClientRegistration(
        client_id=client_id,
        client_secret=_optional(data, "client_secret", str),
        client_secret_expires_at=_optional(data, "client_secret_expires_at", int),
        client_id_issued_at=_optional(data, "client_id_issued_at", int),
        registration_access_token=_optional(data, "registration_access_token", str),
        registration_client_uri=_optional(data, "registration_client_uri", str),
        raw=MappingProxyType(dict(data)),
    )


def _optional(data: Mapping[str, Any], name: str, kind: type[Any]) -> Any:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RegistrationError(f"registration.{name}: not a {kind.__name__}")
    return value


def _consistent_grant_types(response_types: Sequence[str], grant_types: Sequence[str]) -> list[str]:
    needed = list(grant_types)
    for response_type in response_types:
        values = response_type.split()
        if "code" in values:
            needed.append("authorization_code")
        if "id_token" in values or "token" in values:
            needed.append("implicit")
    return list(dict.fromkeys(needed))


def _list_or_none(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else list(values)
