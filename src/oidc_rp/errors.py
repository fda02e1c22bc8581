"""The one exception tree of oidc-rp.

Every error has a stable snake_case ``code`` (a class attribute) and a message that
names the rule that failed, e.g. ``id_token.aud: untrusted audience 'x'``. Messages
never contain a token, a secret or a key.

::

    OIDCError                         code
    ├── ConfigurationError            configuration_error   bad settings (exit code 2)
    ├── ProtocolError                 protocol_error        the OP broke the rules: reject, log
    │   ├── DiscoveryError            invalid_discovery      provider metadata (Discovery 1.0)
    │   ├── JWKSError                 invalid_jwks           the OP's key set
    │   │   └── KeyNotFoundError      key_not_found          no key for this JWS (refetch may help)
    │   ├── AuthorizationResponseError invalid_authorization_response  state, iss, missing code
    │   ├── TokenResponseError        invalid_token_response token endpoint answered nonsense
    │   ├── IDTokenError              invalid_id_token       an ID token rule (OIDC Core 3.1.3.7)
    │   ├── UserInfoError             invalid_userinfo       userinfo rule (OIDC Core 5.3.4)
    │   ├── RegistrationError         invalid_registration   RFC 7591 response
    │   └── LogoutTokenError          invalid_logout_token   Back-Channel Logout 1.0 §2.6
    ├── OPErrorResponse               op_error               the OP said no (RFC 6749 §5.2)
    │   ├── AuthorizationErrorResponse authorization_error   error at the redirect_uri
    │   └── TokenErrorResponse        token_error            error from a back-channel endpoint
    ├── OPUnreachableError            op_unreachable         network failure or timeout
    ├── LoginStateError               invalid_state          no pending login, replay
    └── NotSupportedError             not_supported          the OP does not offer this feature

``ProtocolError`` and ``OPUnreachableError`` map to HTTP 502 in the web app,
``OPErrorResponse`` and ``LoginStateError`` to 400, ``NotSupportedError`` to 400.
"""

from __future__ import annotations

__all__ = [
    "AuthorizationErrorResponse",
    "AuthorizationResponseError",
    "ConfigurationError",
    "DiscoveryError",
    "IDTokenError",
    "JWKSError",
    "KeyNotFoundError",
    "LoginStateError",
    "LogoutTokenError",
    "NotSupportedError",
    "OIDCError",
    "OPErrorResponse",
    "OPUnreachableError",
    "ProtocolError",
    "RegistrationError",
    "TokenErrorResponse",
    "TokenResponseError",
    "UserInfoError",
]


class OIDCError(Exception):
    """Root of every error raised by oidc-rp."""

    code: str = "oidc_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def rule(self) -> str:
        """The rule that failed: the part of the message before the first colon."""
        head, sep, _ = self.message.partition(":")
        return head if sep else self.code


class ConfigurationError(OIDCError):
    """The settings are invalid; the message names the file, key and problem."""

    code = "configuration_error"


class ProtocolError(OIDCError):
    """The OP broke a rule of the specifications. The artefact must be rejected."""

    code = "protocol_error"


class DiscoveryError(ProtocolError):
    """The provider metadata is unusable (OpenID Connect Discovery 1.0 §3, §4)."""

    code = "invalid_discovery"


class JWKSError(ProtocolError):
    """The OP's JWK set is unusable, or a JWS cannot be verified with it."""

    code = "invalid_jwks"


class KeyNotFoundError(JWKSError):
    """No key in the JWK set fits the JWS header; refetching the set may help."""

    code = "key_not_found"


class AuthorizationResponseError(ProtocolError):
    """The authorization response breaks a rule (RFC 6749 §4.1.2, RFC 9207)."""

    code = "invalid_authorization_response"


class TokenResponseError(ProtocolError):
    """The token (or revocation, introspection, PAR) endpoint answered nonsense."""

    code = "invalid_token_response"


class IDTokenError(ProtocolError):
    """An ID token fails a validation rule (OIDC Core §3.1.3.7, §3.3.2.12, §12.2)."""

    code = "invalid_id_token"


class UserInfoError(ProtocolError):
    """A userinfo response fails a rule (OIDC Core §5.3.2, §5.3.4)."""

    code = "invalid_userinfo"


class RegistrationError(ProtocolError):
    """A client registration response is unusable (RFC 7591 §3.2)."""

    code = "invalid_registration"


class LogoutTokenError(ProtocolError):
    """A back-channel logout token fails a rule (Back-Channel Logout 1.0 §2.6)."""

    code = "invalid_logout_token"


class OPErrorResponse(OIDCError):
    """The OP answered with an OAuth error response: it said no.

    This is normal control flow (the user denied consent, the grant expired),
    shown to the user, not a protocol violation.
    """

    code = "op_error"

    def __init__(
        self,
        error: str,
        error_description: str | None = None,
        error_uri: str | None = None,
        *,
        endpoint: str = "authorization",
    ) -> None:
        text = f"{endpoint}: the OP answered error={error!r}"
        if error_description:
            text += f" ({error_description})"
        super().__init__(text)
        self.error = error
        self.error_description = error_description
        self.error_uri = error_uri
        self.endpoint = endpoint


class AuthorizationErrorResponse(OPErrorResponse):
    """An error response at the redirect_uri (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6)."""

    code = "authorization_error"


class TokenErrorResponse(OPErrorResponse):
    """An error response from a back-channel endpoint (RFC 6749 §5.2, RFC 7009, RFC 7662)."""

    code = "token_error"


class OPUnreachableError(OIDCError):
    """The OP could not be reached, or did not answer in time."""

    code = "op_unreachable"


class LoginStateError(OIDCError):
    """The callback matches no pending login of this browser, or replays one."""

    code = "invalid_state"


class NotSupportedError(OIDCError):
    """The OP (or the configuration) does not offer the requested feature."""

    code = "not_supported"
