"""Keeps a dynamic client registration in a JSON file, as the original sample did.

The file holds the client secret, so it is written atomically with mode 0600.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from oidc_rp.core.registration import ClientRegistration
from oidc_rp.errors import OIDCError

__all__ = ["RegistrationFile"]

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
