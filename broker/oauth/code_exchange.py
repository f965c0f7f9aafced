"""The authorization-code exchange's checks, and on SQLite the exchange in one trip.

The token endpoint holds SQLite's one writer connection while it writes, so the time it
holds it bounds how many tokens an instance can issue. The long way (``broker.oauth.token``)
burns the code in a unit of work, checks it, then adds the tokens and commits: two trips to
the driver's thread and a unit of work, with every other request's turn on the event loop
in between (docs/performance.md, round nine). Here the code and its grant are read first
on the shared readers, without the writer, and checked; only then is the writer taken, for
one trip that burns the code, compares what the burn returns with what was checked, adds
the tokens and commits.

Nothing is decided here that the long way would decide differently: a code that is
unknown, used, another client's, expired, or fails its checks, and a code or grant that
changed between the read and the burn (a revocation, a concurrent exchange), all go the
long way, which burns the code and answers as it always has. The checks are the long
way's own functions (``code_problem``, ``grant_usable``); a rule added to the long way
(``broker.oauth.token._authorization_code``) must be added here too, or make this path
give way to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from multidict import MultiDict

from broker.crypto import hash_token
from broker.keys import CLOCK, ENGINE, SETTINGS
from broker.oauth import pkce
from broker.oauth.errors import InvalidRequest
from broker.oauth.forms import required
from broker.oauth.issue import grant_usable, mint_tokens
from broker.storage.engine import SharedReaders
from broker.storage.oauth_codes import CodeRecord, burn_and_add_tokens, peek_unused
from consent.registry import ServiceRegistration


def code_problem(record: CodeRecord, redirect_uri: str, verifier: str, now: datetime) -> str | None:
    """Why this code cannot be exchanged with this request, or None."""
    if record.expired(now):
        return "authorization code expired"
    if redirect_uri != record.redirect_uri:
        return "redirect_uri differs from the one of the authorization request"
    if not pkce.verify_s256(verifier, record.code_challenge):
        return "code_verifier does not match the code_challenge"
    return None


async def exchange_in_one_trip(
    request: web.Request,
    form: MultiDict[str],
    service: ServiceRegistration,
    reads: SharedReaders,
) -> dict[str, Any] | None:
    """The token response of a code exchange that passes every check, written in one
    trip; None when anything is amiss, for the long way to burn the code and answer."""
    try:
        code = required(form, "code", max_length=256)
        redirect_uri = required(form, "redirect_uri")
        verifier = required(form, "code_verifier", max_length=256)
    except InvalidRequest:
        return None  # the long way names what is missing
    now = request.app[CLOCK]()
    peeked = await peek_unused(reads, hash_token(code), service.client_id)
    if peeked is None or peeked.grant is None or not grant_usable(peeked.grant, now):
        return None
    if code_problem(peeked.record, redirect_uri, verifier, now) is not None:
        return None
    ttl = request.app[SETTINGS].access_token_ttl
    rows, body = mint_tokens(peeked.grant, service.client_id, ttl, now)
    if not await burn_and_add_tokens(request.app[ENGINE], peeked, now, rows):
        return None
    return body
