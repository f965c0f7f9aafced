"""``POST /oauth2/v3/token`` (client credentials, RFC 6749 §4.4) and ``/oauth2/v3/revoke``.

Also the bearer check every data endpoint starts with (RFC 6750 §2.1).
"""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web

from providers.enedis.simulator.errors import (
    InvalidClient,
    InvalidRequest,
    InvalidToken,
    UnsupportedGrantType,
)
from providers.enedis.simulator.state import SimulatorState, state_of

_FORM = "application/x-www-form-urlencoded"


async def token(request: web.Request) -> web.Response:
    state = state_of(request)
    form = await _form(request)
    client_id = _authenticate_client(request, form, state)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type parameter is required")
    if grant_type != "client_credentials":
        raise UnsupportedGrantType(
            "The authorization grant type is not supported by the authorization server"
        )
    return web.json_response(
        {
            "access_token": state.issue_token(client_id),
            "token_type": "Bearer",
            "expires_in": state.config.token_lifetime_s,
            "scope": "am_application_scope default",
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


async def revoke(request: web.Request) -> web.Response:
    """RFC 7009 §2.2: 200 whether or not the token existed, so its validity does not leak."""
    state = state_of(request)
    form = await _form(request)
    client_id = _authenticate_client(request, form, state)
    value = form.get("token")
    if not value:
        raise InvalidRequest("token parameter is required")
    state.revoke_token(value, client_id)
    return web.Response(status=200, content_type="text/html", text="")


def authenticated_client(request: web.Request) -> str:
    """The client behind the request's bearer token, or InvalidToken (401)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise InvalidToken(
            "Valid authentication credentials are mandatory to access the resource",
            headers={"WWW-Authenticate": 'Bearer realm="enedis"'},
        )
    client_id = state_of(request).client_for_token(value.strip())
    if client_id is None:
        raise InvalidToken(
            "The access token is invalid, expired or revoked",
            headers={"WWW-Authenticate": 'Bearer realm="enedis", error="invalid_token"'},
        )
    return client_id


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_type != _FORM:
        raise InvalidRequest("Le Content-Type doit être application/x-www-form-urlencoded")
    fields = await request.post()
    return {key: value for key, value in fields.items() if isinstance(value, str)}


def _authenticate_client(request: web.Request, form: dict[str, str], state: SimulatorState) -> str:
    header = request.headers.get("Authorization")
    if header is not None:
        client_id, secret = _basic_credentials(header)
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    client = state.config.clients.get(client_id)
    if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
        raise _client_failed()
    return client_id


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise _client_failed()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _client_failed() from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise _client_failed()
    return client_id, secret


def _client_failed() -> InvalidClient:
    return InvalidClient(
        "Client authentication failed (e.g., unknown client, no client authentication "
        "included, or unsupported authentication method)",
        headers={"WWW-Authenticate": 'Basic realm="enedis"'},
    )
