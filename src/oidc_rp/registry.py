"""The dynamic client registration: the metadata we register, and the file we keep it in.

As the original sample did, the registration is kept in a JSON file; it holds the client
secret, so it is written atomically with mode 0600.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from oidc_rp.core.registration import ClientRegistration, registration_metadata
from oidc_rp.errors import OIDCError
from oidc_rp.settings import Settings

__all__ = ["RegistrationFile", "registration_request_metadata"]

log = logging.getLogger("oidc_rp.registry")


class RegistrationFile:
    """Load, save and delete the registration kept at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> ClientRegistration | None:
        """The saved registration, or None when there is none (or it is unreadable)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return ClientRegistration.from_dict(data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError, OIDCError):
            log.warning("registration file %s is unreadable; ignoring it", self.path)
            return None

    def save(self, registration: ClientRegistration) -> None:
        """Write the registration atomically, readable by the owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".registration-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(registration.to_dict(), f, indent=2)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self) -> None:
        """Remove the saved registration, if any."""
        self.path.unlink(missing_ok=True)


def registration_request_metadata(
    settings: Settings, jwks: dict[str, Any] | None, *, has_signing_key: bool
) -> dict[str, Any]:
    """The client metadata this RP registers (RFC 7591 §2, OIDC Registration §2).

    ``jwks`` is our public key set (registered when we have keys); without a client secret
    but with a signing key, the client authenticates with private_key_jwt.
    """
    s = settings
    base = s.effective_base_url
    method = s.token_endpoint_auth_method or (
        "private_key_jwt" if has_signing_key and not s.client_secret else "client_secret_basic"
    )
    metadata = registration_metadata(
        redirect_uris=[s.effective_redirect_uri],
        post_logout_redirect_uris=[s.effective_post_logout_redirect_uri],
        response_types=[" ".join(s.response_type.split())],
        grant_types=["authorization_code", "refresh_token"],
        token_endpoint_auth_method=method,
        id_token_signed_response_alg=s.id_token_signed_response_alg,
        jwks=jwks,
        userinfo_signed_response_alg=s.userinfo_signed_response_alg,
        software_id=s.template_client,
        backchannel_logout_uri=f"{base}/backchannel-logout",
    )
    for kind in ("id_token", "userinfo"):
        pair = getattr(s, f"{kind}_encryption")
        if pair is not None:
            # Registration §2: the OP encrypts with this alg and enc (to our jwks key or
            # to a key derived from the client secret).
            metadata[f"{kind}_encrypted_response_alg"] = pair[0]
            metadata[f"{kind}_encrypted_response_enc"] = pair[1]
    # Front-Channel Logout 1.0 §2: iss and sid tell which session ends (the iframe is
    # cross-site, so no session cookie comes with it).
    metadata["frontchannel_logout_uri"] = f"{base}/frontchannel-logout"
    metadata["frontchannel_logout_session_required"] = True
    metadata["backchannel_logout_session_required"] = True
    if base.startswith("https://"):
        # OIDC Registration §2: initiate_login_uri MUST use the https scheme.
        metadata["initiate_login_uri"] = f"{base}/initiate-login"
    return metadata
