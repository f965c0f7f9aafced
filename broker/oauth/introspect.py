"""``POST /oauth/introspect`` (RFC 7662 §2), for authenticated clients only.

``{"active": false}`` for anything that cannot be used right now: unknown, expired,
revoked or rotated tokens, grants that are not ACTIVE or are past their end, and tokens
of another client (§2.2: say nothing more).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from broker.crypto import hash_token
from broker.oauth.client_auth import begin_authentication
from broker.oauth.errors import InvalidRequest
from broker.oauth.forms import param, read_form, required
from broker.oauth.issue import grant_usable, granted_details, token_usable
from broker.oauth.token import NO_STORE
from broker.storage.oauth_par import aware
from broker.unit import read_only_unit_of_work

_KIND = {"access": "access_token", "refresh": "refresh_token"}


async def introspection(request: web.Request) -> web.Response:
    form = await read_form(request)
    pending = await begin_authentication(request, form)
    try:
        token = required(form, "token", max_length=512)
        param(form, "token_type_hint", max_length=64)
    except InvalidRequest as error:  # told only to an authenticated client, as before
        malformed: InvalidRequest | None = error
        token = ""
    else:
        malformed = None
    body: dict[str, Any] = {"active": False}
    # One unit of work, read-only (on SQLite one of the read-only connections, beside the
    # writer): nothing written, nothing committed. Nothing in it is cached, and each read
    # sees every committed transaction: a revoked token or grant, a suspended client, is
    # seen at once.
    async with read_only_unit_of_work(request.app) as uow:
        service, found = await pending.check_with_token(uow, hash_token(token))
        if malformed is not None:
            raise malformed
        record, consent = found if found is not None else (None, None)
        if (
            record is not None
            and consent is not None
            and record.client_id == service.client_id
            and token_usable(record, uow.now)
            and grant_usable(consent, uow.now)
        ):
            expires = record.expires_at or consent.expires_at
            body = {
                "active": True,
                "client_id": record.client_id,
                "token_type": _KIND.get(record.kind, record.kind),
                "iat": int(aware(record.issued_at).timestamp()),
                "sub": consent.subject,
                "grant_id": consent.id,
                "authorization_details": granted_details(consent),
            }
            if expires is not None:
                body["exp"] = int(aware(expires).timestamp())
    return web.json_response(body, headers=NO_STORE)
