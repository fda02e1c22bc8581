"""The one failure type of the test OP: a request that broke a rule, and how to answer it."""

from __future__ import annotations

from collections.abc import Mapping


class OPFailure(Exception):
    """A request failed the test OP's validation.

    ``error`` is the OAuth error code (RFC 6749 §5.2), ``description`` the rule that failed (it is
    shown on the error page, returned as ``error_description`` and recorded on the ``Call``);
    ``headers`` go into the answer (a DPoP challenge: ``WWW-Authenticate``, ``DPoP-Nonce``).
    """

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})
