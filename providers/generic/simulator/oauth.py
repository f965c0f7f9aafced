"""The simulated holder's OAuth 2 server: ``/oauth/authorize`` (a login-free consent page),
``/oauth/token`` (authorization code with PKCE S256, refresh token rotated at each use,
RFC 6749 §4.1 and §6) and ``/oauth/revoke`` (RFC 7009)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from html import escape
from typing import NoReturn

from aiohttp import web
from yarl import URL

from providers.enedis.simulator.errors import InvalidClient, InvalidRequest
from providers.generic.simulator.config import GenericState, Grant, state_of

AUTHORIZE = "/oauth/authorize"
CODE_LIFETIME_S = 60.0


class InvalidGrant(InvalidRequest):
    status, code = 400, "invalid_grant"


async def show(request: web.Request) -> web.Response:
    state = state_of(request)
    query = request.query
    client = state.config.clients.get(query.get("client_id", ""))
    if client is None or query.get("redirect_uri") not in client.redirect_uris:
        raise InvalidRequest("unknown client or unregistered redirect_uri")
    if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
        raise InvalidRequest("response_type=code and PKCE S256 are required")
    challenge = query.get("code_challenge", "")
    if not 43 <= len(challenge) <= 128:
        raise InvalidRequest("code_challenge is required")
    csrf = secrets.token_urlsafe(24)
    shown = Grant(query["client_id"], "", state.config.clock(), query["redirect_uri"], challenge)
    state.pages[csrf] = shown
    request_state = query.get("state", "")[:256]
    return web.Response(
        text=_page(state, csrf, request_state), content_type="text/html", charset="utf-8"
    )


async def answer(request: web.Request) -> web.Response:
    state = state_of(request)
    form = await request.post()
    csrf, subject = form.get("csrf_token"), form.get("subject")
    shown = state.pages.pop(csrf, None) if isinstance(csrf, str) else None
    if shown is None:
        raise InvalidRequest("this consent page expired, reload it")
    request_state = form.get("state") if isinstance(form.get("state"), str) else ""
    if form.get("decision") != "accept":
        _back(shown.redirect_uri, error="access_denied", state=str(request_state))
    if not any(a.subject == subject for a in state.config.accounts):
        raise InvalidRequest("unknown account")
    code = secrets.token_urlsafe(24)
    state.codes[code] = Grant(
        shown.client_id,
        str(subject),
        state.config.clock() + CODE_LIFETIME_S,
        shown.redirect_uri,
        shown.challenge,
    )
    _back(shown.redirect_uri, code=code, state=str(request_state))


def _back(redirect_uri: str, **params: str) -> NoReturn:
    raise web.HTTPFound(str(URL(redirect_uri).extend_query({k: v for k, v in params.items() if v})))


async def token(request: web.Request) -> web.Response:
    state = state_of(request)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    client_id = _client(request, state)
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        grant = state.codes.pop(form.get("code", ""), None)
        if (
            grant is None
            or grant.client_id != client_id
            or grant.expires_at < state.config.clock()
            or grant.redirect_uri != form.get("redirect_uri")
            or _s256(form.get("code_verifier", "")) != grant.challenge
        ):
            raise InvalidGrant("the code is unknown, used, expired or its verifier is wrong")
    elif grant_type == "refresh_token":
        grant = state.refresh.pop(form.get("refresh_token", ""), None)  # rotated: single use
        if grant is None or grant.client_id != client_id:
            raise InvalidGrant("the refresh token is unknown, used or revoked")
    else:
        raise InvalidRequest("unsupported grant_type")
    body = state.issue(client_id, grant.subject)
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def revoke(request: web.Request) -> web.Response:
    state = state_of(request)
    client_id = _client(request, state)
    value = (await request.post()).get("token")
    for table in (state.refresh, state.access):
        grant = table.get(value) if isinstance(value, str) else None
        if grant is not None and grant.client_id == client_id:
            state.withdraw(grant.subject)
    return web.Response(status=200)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _client(request: web.Request, state: GenericState) -> str:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode() if scheme == "Basic" else ""
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    client_id, _, secret = decoded.partition(":")
    client = state.config.clients.get(client_id)
    if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
        raise InvalidClient("client authentication failed")
    return client_id


def _page(state: GenericState, csrf: str, request_state: str) -> str:
    accounts = "\n".join(
        f'<label><input type="radio" name="subject" value="{escape(a.subject)}"'
        f"{' checked' if i == 0 else ''}> {escape(a.name)}</label>"
        for i, a in enumerate(state.config.accounts)
    )
    title = escape(state.config.title)
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{title} — autoriser le partage</title></head>
<body><p>Simulateur — aucune donnée réelle.</p><h1>{title} — autoriser le partage</h1>
<form method="post" action="{AUTHORIZE}">
<input type="hidden" name="csrf_token" value="{escape(csrf)}">
<input type="hidden" name="state" value="{escape(request_state)}">
<fieldset><legend>Compte concerné</legend>{accounts}</fieldset>
<button type="submit" name="decision" value="accept">J'accepte</button>
<button type="submit" name="decision" value="refuse">Je refuse</button>
</form></body></html>
"""
