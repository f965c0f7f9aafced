"""``POST /oauth/token`` (RFC 6749 §3.2): the ``authorization_code`` grant (§4.1.3, with
PKCE per RFC 7636 §4.6) and the ``refresh_token`` grant (§6, in ``refresh.py``).

A code is burnt at its first presentation, whatever happens next. A code presented again
revokes every token issued for its grant (RFC 6749 §4.1.2, RFC 9700 §4.14).
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from multidict import MultiDict

from broker.crypto import hash_token
from broker.http.jsonbody import json_answer
from broker.keys import CLOCK, ENGINE, SETTINGS
from broker.oauth.client_auth import begin_authentication
from broker.oauth.code_exchange import code_problem, exchange_in_one_trip
from broker.oauth.errors import InvalidGrant, InvalidRequest, UnsupportedGrantType
from broker.oauth.forms import param, read_form, required
from broker.oauth.issue import grant_usable, issue_tokens
from broker.oauth.refresh import refresh_grant, refresh_in_one_trip
from broker.oauth.store import oauth_store
from broker.storage.engine import shared_readers
from broker.storage.uow import SqlUnitOfWork
from consent.registry import ServiceRegistration

log = structlog.get_logger(__name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def token(request: web.Request) -> web.Response:
    form = await read_form(request)
    pending = await begin_authentication(request, form)
    presented = _refresh_token(form)
    service: ServiceRegistration | None = None
    reads = shared_readers(request.app[ENGINE])
    if presented is None and reads is not None:
        # SQLite: the client is checked on the shared readers before the one writer
        # connection is taken, so that the writer is held only for what writes.
        service = await pending.check_shared(reads)
        if param(form, "grant_type", max_length=64) == "authorization_code":
            body = await exchange_in_one_trip(request, form, service, reads)
            if body is not None:
                log.info("token.issued", client_id=service.client_id, grant_id=body["grant_id"])
                return json_answer(body, headers=NO_STORE)
    if presented is not None and reads is not None and pending.proven is None and pending.basic:
        body = await refresh_in_one_trip(request, pending, hash_token(presented), reads)
        if body is not None:
            return json_answer(body, headers=NO_STORE)
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        if presented is not None:
            # The client, the refresh token and its grant (locked) read together.
            service, found = await pending.check_with_token(
                uow, hash_token(presented), lock_grant=True
            )
            body = await refresh_grant(request, uow, service, found)
            return json_answer(body, headers=NO_STORE)
        if service is None:
            service = await pending.check(uow)
        grant_type = required(form, "grant_type", max_length=64)
        if grant_type == "authorization_code":
            body = await _authorization_code(request, uow, form, service)
        elif grant_type == "refresh_token":
            presented = required(form, "refresh_token", max_length=256)
            found = await uow.tokens.find_locking_grant(hash_token(presented))
            body = await refresh_grant(request, uow, service, found)
        else:
            raise UnsupportedGrantType("grant_type must be authorization_code or refresh_token")
    return json_answer(body, headers=NO_STORE)


def _refresh_token(form: MultiDict[str]) -> str | None:
    """The refresh token of a well-formed refresh request; None for anything else, which
    then goes the long way (client first, then the form's errors, in that order)."""
    try:
        if param(form, "grant_type", max_length=64) == "refresh_token":
            return required(form, "refresh_token", max_length=256)
    except InvalidRequest:
        pass
    return None


async def _authorization_code(
    request: web.Request, uow: SqlUnitOfWork, form: MultiDict[str], service: ServiceRegistration
) -> dict[str, Any]:
    code = required(form, "code", max_length=256)
    redirect_uri = required(form, "redirect_uri")
    verifier = required(form, "code_verifier", max_length=256)
    codes = oauth_store(uow).codes
    code_hash = hash_token(code)
    # Burnt at its first presentation by its client, whatever happens next.
    burnt = await codes.burn(code_hash, service.client_id, uow.now)
    if burnt is None:
        known = await codes.get(code_hash)
        if known is None or known.client_id != service.client_id:
            raise InvalidGrant("unknown authorization code")
        killed = await uow.tokens.revoke_for_grant(known.consent_id, uow.now)
        await uow.commit()
        log.warning("token.code_replayed", client_id=service.client_id, revoked=killed)
        raise InvalidGrant("authorization code already used; its tokens are revoked")
    record, consent = burnt
    problem = code_problem(record, redirect_uri, verifier, uow.now)
    if problem is None and not grant_usable(consent, uow.now):
        problem = "the grant is no longer active"
    if problem is not None or consent is None:
        await uow.commit()  # the code stays burnt
        raise InvalidGrant(problem or "the grant is gone")
    body = await issue_tokens(  # commits
        uow, consent, service.client_id, request.app[SETTINGS].access_token_ttl
    )
    log.info("token.issued", client_id=service.client_id, grant_id=consent.id)
    return body
