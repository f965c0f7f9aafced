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
from broker.keys import CLOCK, ENGINE, SETTINGS
from broker.oauth import pkce
from broker.oauth.client_auth import authenticate
from broker.oauth.errors import InvalidGrant, UnsupportedGrantType
from broker.oauth.forms import read_form, required
from broker.oauth.issue import grant_usable, issue_tokens
from broker.oauth.refresh import refresh_grant
from broker.oauth.store import oauth_store
from broker.storage.oauth_codes import CodeRecord
from broker.storage.uow import SqlUnitOfWork
from consent.registry import ServiceRegistration

log = structlog.get_logger(__name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def token(request: web.Request) -> web.Response:
    form = await read_form(request)
    service = await authenticate(request, form)
    grant_type = required(form, "grant_type", max_length=64)
    if grant_type == "authorization_code":
        body = await _authorization_code(request, form, service)
    elif grant_type == "refresh_token":
        body = await refresh_grant(request, form, service)
    else:
        raise UnsupportedGrantType("grant_type must be authorization_code or refresh_token")
    return web.json_response(body, headers=NO_STORE)


async def _authorization_code(
    request: web.Request, form: MultiDict[str], service: ServiceRegistration
) -> dict[str, Any]:
    code = required(form, "code", max_length=256)
    redirect_uri = required(form, "redirect_uri")
    verifier = required(form, "code_verifier", max_length=256)
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        codes = oauth_store(uow).codes
        record = await codes.get(hash_token(code))
        if record is None or record.client_id != service.client_id:
            raise InvalidGrant("unknown authorization code")
        if not await codes.mark_used(record.code_hash, uow.now):
            killed = await uow.tokens.revoke_for_grant(record.consent_id, uow.now)
            await uow.commit()
            log.warning("token.code_replayed", client_id=service.client_id, revoked=killed)
            raise InvalidGrant("authorization code already used; its tokens are revoked")
        problem = _code_problem(record, redirect_uri, verifier, uow)
        consent = await uow.consents.get(record.consent_id)
        if problem is None and not grant_usable(consent, uow.now):
            problem = "the grant is no longer active"
        if problem is not None or consent is None:
            await uow.commit()  # the code stays burnt
            raise InvalidGrant(problem or "the grant is gone")
        body = await issue_tokens(
            uow, consent, service.client_id, request.app[SETTINGS].access_token_ttl
        )
        await uow.commit()
    log.info("token.issued", client_id=service.client_id, grant_id=consent.id)
    return body


def _code_problem(
    record: CodeRecord, redirect_uri: str, verifier: str, uow: SqlUnitOfWork
) -> str | None:
    if record.expired(uow.now):
        return "authorization code expired"
    if redirect_uri != record.redirect_uri:
        return "redirect_uri differs from the one of the authorization request"
    if not pkce.verify_s256(verifier, record.code_challenge):
        return "code_verifier does not match the code_challenge"
    return None
