"""Every error the SDK raises, in one tree, so that a caller can catch as narrowly as it likes.

::

    AiguillageError
     ├── OAuthError(error, description, status)      RFC 6749 §5.2 JSON from an OAuth endpoint
     │    ├── AuthorizationDenied                     the resident said no (access_denied)
     │    └── InvalidGrant                            code or refresh token unusable: reconnect
     ├── DataAccessDenied(problem)                    RFC 9457 problem from the data plane
     ├── InvalidToken(problem)                        401 invalid_token: refresh, then retry once
     ├── ProtocolViolation                            the other side broke the contract
     │    ├── StateMismatch                           callback state is not ours (CSRF)
     │    ├── IssuerMismatch                          wrong issuer (RFC 9207 / RFC 8414 mix-up)
     │    └── InvalidNotice                           a pushed notice that does not verify
     └── TransportError(status)                       network failure or a non-contract response

Messages never carry tokens, codes or data payloads: they end up in logs.
"""

from __future__ import annotations

from clients.sdk.models import Problem

__all__ = [
    "AiguillageError",
    "AuthorizationDenied",
    "DataAccessDenied",
    "InvalidGrant",
    "InvalidNotice",
    "InvalidToken",
    "IssuerMismatch",
    "OAuthError",
    "ProtocolViolation",
    "StateMismatch",
    "TransportError",
]


class AiguillageError(Exception):
    """Base of everything the SDK raises."""


class OAuthError(AiguillageError):
    """An OAuth endpoint (or the authorization response) answered with an RFC 6749 error."""

    def __init__(self, error: str, description: str | None = None, status: int | None = None):
        self.error = error
        self.description = description
        self.status = status
        text = error if description is None else f"{error}: {description}"
        super().__init__(text)


class AuthorizationDenied(OAuthError):
    """The resident refused the consent (``error=access_denied``)."""


class InvalidGrant(OAuthError):
    """The code or refresh token is unusable: the grant has ended; the resident must reconnect."""


class DataAccessDenied(AiguillageError):
    """The data plane refused the request; ``problem.reason`` says why (see docs/wire.md)."""

    def __init__(self, problem: Problem, retry_after: int | None = None):
        self.problem = problem
        self.retry_after = retry_after
        super().__init__(f"{problem.status} {problem.reason or problem.type}: {problem.title}")

    @property
    def reason(self) -> str | None:
        return self.problem.reason


class InvalidToken(AiguillageError):
    """The access token is missing, unknown, expired or revoked (401 ``invalid_token``)."""

    def __init__(self, problem: Problem | None = None):
        self.problem = problem
        super().__init__("invalid_token")


class ProtocolViolation(AiguillageError):
    """The broker or the browser handed us something the contract does not allow."""


class StateMismatch(ProtocolViolation):
    """The callback's ``state`` is not the one we sent: possibly a forged callback (CSRF)."""


class IssuerMismatch(ProtocolViolation):
    """The issuer is not the configured one: possibly a mix-up attack (RFC 9207, RFC 8414 §3.3)."""


class InvalidNotice(ProtocolViolation):
    """A pushed notice (Security Event Token) failed a check: signature, issuer, audience,
    age or shape. Answer the sender 400 and do not act on it."""


class TransportError(AiguillageError):
    """The broker could not be reached, or answered outside the contract (no JSON, a 5xx page)."""

    def __init__(self, message: str, status: int | None = None):
        self.status = status
        super().__init__(message)


_OAUTH_ERRORS: dict[str, type[OAuthError]] = {
    "access_denied": AuthorizationDenied,
    "invalid_grant": InvalidGrant,
}


def oauth_error(error: str, description: str | None, status: int | None) -> OAuthError:
    """The most specific OAuthError subclass for an RFC 6749 ``error`` code."""
    return _OAUTH_ERRORS.get(error, OAuthError)(error, description, status)
