"""OAuth 2 errors (RFC 6749 §5.2, RFC 9126, RFC 9396, RFC 7009), one class per code.

    OAuthError                     400 unless stated
    ├── InvalidRequest
    ├── InvalidClient              401, WWW-Authenticate: Basic
    ├── InvalidGrant
    ├── UnauthorizedClient
    ├── UnsupportedGrantType
    ├── UnsupportedResponseType
    ├── UnsupportedTokenType
    ├── InvalidScope
    ├── InvalidRequestUri
    ├── InvalidAuthorizationDetails
    ├── AccessDenied               403
    ├── UnsupportedMediaType       415 (invalid_request)
    ├── TemporarilyUnavailable     503
    ├── GrantNotFound              404 (invalid_request)
    └── ServerError                500 (never for bad input)

Each renders itself as ``{"error", "error_description"}``; the error middleware does it.
"""

from __future__ import annotations

from aiohttp import web

from broker.http.jsonbody import dumps


class OAuthError(Exception):
    error = "invalid_request"
    status = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def response(self) -> web.Response:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="aiguillage"'
        return web.Response(
            status=self.status,
            text=dumps({"error": self.error, "error_description": self.description}),
            content_type="application/json",
            headers=headers,
        )


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class UnsupportedTokenType(OAuthError):
    error = "unsupported_token_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class InvalidRequestUri(OAuthError):
    error = "invalid_request_uri"


class InvalidAuthorizationDetails(OAuthError):
    error = "invalid_authorization_details"


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class ServerError(OAuthError):
    error = "server_error"
    status = 500


class UnsupportedMediaType(OAuthError):
    """Not an RFC code: the status (415) says it; the body keeps the RFC 6749 shape."""

    error = "invalid_request"
    status = 415


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status = 503


class GrantNotFound(OAuthError):
    """OpenID Grant Management: an unknown grant, or one of another client, is a 404."""

    error = "invalid_request"
    status = 404
