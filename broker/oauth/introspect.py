"""``POST /oauth/introspect`` (RFC 7662 §2), for authenticated clients only.

``{"active": false}`` for anything that cannot be used right now: unknown, expired,
revoked or rotated tokens, grants that are not ACTIVE or are past their end, and tokens
of another client (§2.2: say nothing more).

Nothing is cached: the client, the token and its grant are read on every request, so a
revoked token or grant, a suspended client, is seen at once. A ``client_secret_basic``
client is checked in one statement and no unit of work: on a SQLite file database on the
shared read-only connections (``PendingClient.check_with_token_shared``), on PostgreSQL on
asyncpg directly, outside any transaction (``check_with_token_pg``); what is kept
between requests is only the *parse* of a grant's stored JSON text (``_grant_view``),
keyed by that very text, which any change to the grant (its state, its end) changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from aiohttp import web

from broker.crypto import hash_token
from broker.http.jsonbody import json_answer
from broker.keys import CLOCK, ENGINE
from broker.oauth.client_auth import begin_authentication
from broker.oauth.errors import InvalidRequest
from broker.oauth.forms import param, read_form, required
from broker.oauth.issue import grant_usable, granted_details, token_usable
from broker.oauth.token import NO_STORE
from broker.storage.engine import shared_readers
from broker.storage.oauth_par import aware
from broker.storage.tokens import TokenRecord
from broker.unit import read_only_unit_of_work
from consent.model import Consent, ConsentState

_KIND = {"access": "access_token", "refresh": "refresh_token"}


@dataclass(frozen=True)
class GrantView:
    """What introspection says of a grant (``grant_usable`` reads ``state`` and
    ``expires_at``)."""

    id: str
    subject: str
    state: ConsentState
    expires_at: datetime | None
    details: list[dict[str, Any]]

    @classmethod
    def of(cls, consent: Consent) -> GrantView:
        return cls(
            consent.id, consent.subject, consent.state, consent.expires_at, granted_details(consent)
        )


@lru_cache(maxsize=4096)
def _grant_view(stored: str) -> GrantView:
    """The view of a grant's stored JSON text, parsed and validated once per text."""
    return GrantView.of(Consent.model_validate(json.loads(stored)))


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
    token_hash = hash_token(token)
    engine = request.app[ENGINE]
    reads = shared_readers(engine)
    if pending.proven is None and (reads is not None or engine.dialect.name == "postgresql"):
        if reads is not None:
            service, record, stored = await pending.check_with_token_shared(reads, token_hash)
        else:
            async with engine.connect() as conn:  # no transaction is ever begun on it
                service, record, stored = await pending.check_with_token_pg(conn, token_hash)
        if malformed is not None:
            raise malformed
        grant = None if stored is None else _grant_view(stored)
        now = request.app[CLOCK]()
    else:
        # A client proven by its assertion (or SQLite in memory): one read-only unit of
        # work (nothing written, nothing committed).
        async with read_only_unit_of_work(request.app) as uow:
            service, found = await pending.check_with_token(uow, token_hash)
            if malformed is not None:
                raise malformed
            record, consent = found if found is not None else (None, None)
            grant = None if consent is None else GrantView.of(consent)
            now = uow.now
    return json_answer(_answer(service.client_id, record, grant, now), headers=NO_STORE)


def _answer(
    client_id: str, record: TokenRecord | None, grant: GrantView | None, now: datetime
) -> dict[str, Any]:
    if (
        record is None
        or grant is None
        or record.client_id != client_id
        or not token_usable(record, now)
        or not grant_usable(grant, now)
    ):
        return {"active": False}
    body: dict[str, Any] = {
        "active": True,
        "client_id": record.client_id,
        "token_type": _KIND.get(record.kind, record.kind),
        "iat": int(aware(record.issued_at).timestamp()),
        "sub": grant.subject,
        "grant_id": grant.id,
        "authorization_details": grant.details,
    }
    expires = record.expires_at or grant.expires_at
    if expires is not None:
        body["exp"] = int(aware(expires).timestamp())
    return body
