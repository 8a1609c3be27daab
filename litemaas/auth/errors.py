"""Errors of authentication and authorization (HTTP status and JSON ``error`` code in each class)."""

from __future__ import annotations

from litemaas.errors import Forbidden, NotFound, Unauthorized, UpstreamUnavailable


class AuthenticationRequired(Unauthorized):
    """No session and no token on a route that needs a caller."""


class CredentialRejected(Unauthorized):
    """A presented bearer token is malformed, unknown, expired, revoked or its owner deactivated.

    Never a fallback to the session cookie: a credential that was sent and fails is a 401.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class PermissionDenied(Forbidden):
    """The caller is authenticated but lacks the route's permission."""


class CsrfFailed(Forbidden):
    """A state-changing request with a session cookie but without its CSRF token."""

    code = "csrf_failed"


class TokenEscalation(Forbidden):
    """A token tried to hand out more than it holds (a broader token or role, a longer life)."""

    code = "token_escalation"


class LoginProviderNotFound(NotFound):
    """A login provider that is unknown or not enabled here."""


class LoginFailed(Unauthorized):
    """The identity provider's answer could not be trusted or used."""

    code = "login_failed"


class IdentityProviderUnavailable(UpstreamUnavailable):
    """The identity provider (its metadata, keys, token or user endpoint) did not answer."""
