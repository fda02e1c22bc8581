"""Who the RP is to the OP: its client_id and credentials, its keys, its registration.

The client identity is the dynamic registration when there is one (kept in a file, as
the original sample did), else the configured ``client_id``/``client_secret``. The RP's
own keys sign client assertions (private_key_jwt, RFC 7523) and request objects (RFC 9101)
and decrypt encrypted responses (OIDC Core §10.2); their public halves are published.
"""

from __future__ import annotations

from typing import Any

from oidc_rp.core.client_auth import ClientAuthentication, secret_key
from oidc_rp.core.jwe import JWEDecryption
from oidc_rp.core.metadata import ProviderMetadata
from oidc_rp.core.registration import ClientRegistration
from oidc_rp.errors import ConfigurationError
from oidc_rp.keys import (
    AsymmetricKey,
    EncryptionKey,
    default_alg,
    load_encryption_key,
    load_private_key,
    public_jwks,
)
from oidc_rp.registry import RegistrationFile
from oidc_rp.settings import Settings

__all__ = ["ClientIdentity"]


class ClientIdentity:
    """The client_id, credentials and keys in use; loading a key checks it at once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._registry = RegistrationFile(settings.registration_path)
        self.registration: ClientRegistration | None = self._registry.load()
        self.request_object_key = self._load_key("request_object_key")
        self.client_key = self._load_key("client_private_key") or self.request_object_key
        value = settings.secret("client_encryption_key")
        self.encryption_key: EncryptionKey | None = (
            load_encryption_key("client_encryption_key", value) if value else None
        )
        self.public_jwks()  # one key per use: refuse a signing key reused for encryption now

    def _load_key(self, name: str) -> AsymmetricKey | None:
        value = self.settings.secret(name)
        return load_private_key(name, value) if value else None

    # The client_id and secret ----------------------------------------------------------

    @property
    def client_id(self) -> str | None:
        """The client_id in use: the dynamic registration's, else the configured one."""
        if self.registration is not None:
            return self.registration.client_id
        return self.settings.client_id

    @property
    def client_secret(self) -> str | None:
        """The client secret in use (dynamic registration's, else the configured one)."""
        if self.registration is not None:
            return self.registration.client_secret
        return self.settings.secret("client_secret")

    def require_client_id(self) -> str:
        """The client_id, or ConfigurationError when there is none yet."""
        client_id = self.client_id
        if client_id is None:
            raise ConfigurationError(
                "client_id: not configured; set client_id or register the client dynamically"
            )
        return client_id

    def keep_registration(self, registration: ClientRegistration) -> None:
        """Use a new dynamic registration from now on, and keep it in the file."""
        self._registry.save(registration)
        self.registration = registration

    def forget_registration(self) -> None:
        """Drop the dynamic registration (the static client_id, if any, is used again)."""
        self._registry.delete()
        self.registration = None

    # Client authentication (RFC 6749 §2.3, OIDC Core §9) ---------------------------------

    def auth_method(self, meta: ProviderMetadata) -> str:
        """The configured or registered method, else the best one we can do that the OP takes."""
        configured = self.settings.token_endpoint_auth_method
        if self.registration is not None:
            configured = self.registration.raw.get("token_endpoint_auth_method") or configured
        if configured:
            return str(configured)
        if self.client_secret is None:
            return "private_key_jwt" if self.client_key else "none"
        supported = meta.token_endpoint_auth_methods_supported
        if not supported or "client_secret_basic" in supported:
            return "client_secret_basic"
        for method in ("client_secret_post", "client_secret_jwt", "private_key_jwt"):
            if method in supported and (method != "private_key_jwt" or self.client_key):
                return method
        return "client_secret_basic"

    def client_authentication(self, meta: ProviderMetadata) -> ClientAuthentication:
        """How to authenticate at the OP's back-channel endpoints."""
        method = self.auth_method(meta)
        key = self.client_key if method == "private_key_jwt" else None
        return ClientAuthentication(
            method=method,
            client_id=self.require_client_id(),
            client_secret=self.client_secret,
            private_key=key,
            signing_alg=self.settings.token_endpoint_auth_signing_alg
            or (default_alg(key) if key else None),
        )

    # Keys --------------------------------------------------------------------------------

    def request_object_signer(self, meta: ProviderMetadata) -> tuple[Any, str]:
        """(key, alg) for request objects: our key, else HS256 with the secret, else none."""
        supported = meta.request_object_signing_alg_values_supported
        wanted = self.settings.request_object_signing_alg
        if self.request_object_key is not None:
            return self.request_object_key, wanted or default_alg(self.request_object_key)
        secret = self.client_secret
        hmac_ok = wanted is None and (not supported or "HS256" in supported)
        if secret and (hmac_ok or (wanted or "").startswith("HS")):
            return secret_key(secret), wanted or "HS256"
        # An unsigned request object only when asked for, or when it is all the OP takes.
        if wanted == "none" or (wanted is None and "none" in supported):
            return None, "none"
        raise ConfigurationError(
            "request_object_key: needed to sign request objects (or a client_secret for HS256)"
        )

    def decryption(self, kind: str) -> JWEDecryption | None:
        """How ``id_token`` or ``userinfo`` responses must be encrypted (OIDC Core §10.2)."""
        pair = getattr(self.settings, f"{kind}_encryption")
        if pair is None:
            return None
        try:
            return JWEDecryption.from_settings(
                *pair, private_key=self.encryption_key, client_secret=self.client_secret
            )
        except ValueError as exc:
            raise ConfigurationError(f"{kind}_encrypted_response_alg: {exc}") from None

    def public_jwks(self) -> dict[str, Any]:
        """The RP's public keys: private_key_jwt, request objects, and encryption (``use: enc``)."""
        return public_jwks(
            self.client_key,
            self.request_object_key,
            encryption_key=self.encryption_key,
            encryption_alg=self.settings.encryption_key_alg,
        )

    def registered_jwks(self) -> dict[str, Any] | None:
        """Our public keys, registered when we have any (private_key_jwt, JAR, JWE)."""
        if self.client_key or self.request_object_key or self.encryption_key:
            return self.public_jwks()
        return None
