"""``GET /holders/{holder_id}/callback``: the holder sends the resident back.

The ``state`` we gave the holder names the authorization (only its hash is stored). The
adapter turns the holder's answer into a link, whose credential is sealed at rest; the
consent becomes ACTIVE and a single-use authorization code goes to the service
(RFC 6749 §4.1.2, with ``iss`` per RFC 9207). A holder refusal fails the consent and
tells the service ``access_denied``; an unreachable holder fails it too, shows the
resident a page and offers the way back with ``temporarily_unavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import structlog
from aiohttp import web

from broker.crypto import hash_token, new_token
from broker.holders import adapter_for, holder_callback_path, store_link
from broker.keys import CLOCK, ENGINE, SETTINGS
from broker.oauth.decision import STATUS_AWAITING_HOLDER
from broker.oauth.redirects import client_redirect, page_param, redirect_to_client
from broker.oauth.store import oauth_store
from broker.storage.oauth_codes import CodeRecord
from broker.storage.oauth_par import AuthorizationRecord, ParRecord
from broker.storage.registry import HolderRecord
from broker.storage.uow import SqlUnitOfWork
from broker.web.render import PageError, render
from broker.web.session import require_resident
from consent.usecases import fail_holder, link_holder
from providers.base import HolderError, HolderLink, HolderUnavailable


def masked(holder_subject: str) -> str:
    """What the consent record keeps in clear: enough for the resident to recognise their
    meter ("…1234"); the full identifier lives only in the sealed holder credential."""
    return "…" + holder_subject[-4:]


log = structlog.get_logger(__name__)

STATUS_LINKED = "linked"
STATUS_FAILED = "failed"


@dataclass(frozen=True)
class _Pending:
    authorization: AuthorizationRecord
    consent_id: str
    par: ParRecord
    holder: HolderRecord
    service_name: str


async def holder_callback(request: web.Request) -> web.StreamResponse:
    holder_id = request.match_info["holder_id"]
    state = page_param(request.query, "state", "oauth.error.holder_state", max_length=256)
    query = _single_valued(request)
    pending = await _pending(request, holder_id, state)
    resident = await require_resident(request)
    if pending.authorization.subject != resident.id:
        raise PageError(403, "oauth.error.not_yours", "another resident's authorization")
    issuer = request.app[SETTINGS].issuer
    adapter = adapter_for(request.app, pending.holder)
    try:
        link = await adapter.complete_link(
            query=query, redirect_uri=issuer + holder_callback_path(holder_id)
        )
    except HolderError as error:
        await _fail(request, pending, f"holder_refused:{error.code}"[:120])
        raise redirect_to_client(
            pending.par.redirect_uri,
            issuer,
            error="access_denied",
            error_description=f"the link with {holder_id} was refused",
            state=pending.par.state,
        ) from None
    except HolderUnavailable:
        await _fail(request, pending, "holder_unavailable")
        return _unavailable_page(request, pending, issuer)
    code = await _link(request, pending, link)
    log.info("holder.linked", client_id=pending.par.client_id, grant_id=pending.consent_id)
    raise redirect_to_client(pending.par.redirect_uri, issuer, code=code, state=pending.par.state)


def _single_valued(request: web.Request) -> dict[str, str]:
    query = request.query
    if any(len(query.getall(k)) > 1 for k in query) or len(query) > 16:
        raise PageError(400, "oauth.error.holder_state", "repeated callback parameters")
    return {k: v[:2048] for k, v in query.items()}


async def _pending(request: web.Request, holder_id: str, state: str) -> _Pending:
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        store = oauth_store(uow)
        authorization = await store.authorizations.by_holder_state(hash_token(state))
        if (
            authorization is None
            or authorization.status != STATUS_AWAITING_HOLDER
            or not authorization.open(uow.now)
            or authorization.consent_id is None
        ):
            raise PageError(400, "oauth.error.holder_state", "unknown holder state")
        consent = await uow.consents.get(authorization.consent_id)
        par = await store.par.get(authorization.par_id)
        holder = await uow.holders.get(holder_id)
        service = await uow.services.get(authorization.client_id)
    if consent is None or par is None or holder is None or consent.holder != holder_id:
        raise PageError(400, "oauth.error.holder_state", "state does not match this holder")
    name = service.registration.name if service is not None else authorization.client_id
    return _Pending(authorization, consent.id, par, holder, name)


async def _link(request: web.Request, pending: _Pending, link: HolderLink) -> str:
    """Store the sealed credential, activate the consent and mint the code, together."""
    code = new_token("ag_ac")
    ttl = timedelta(seconds=request.app[SETTINGS].authorization_code_ttl)
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        store = oauth_store(uow)
        if not await store.authorizations.move(
            pending.authorization.id, source=STATUS_AWAITING_HOLDER, target=STATUS_LINKED
        ):
            raise PageError(400, "oauth.error.holder_state", "already answered")
        await store_link(request.app, uow, pending.consent_id, pending.holder.manifest.id, link)
        await store.codes.add(
            CodeRecord(
                code_hash=hash_token(code),
                client_id=pending.par.client_id,
                consent_id=pending.consent_id,
                redirect_uri=pending.par.redirect_uri,
                code_challenge=pending.par.code_challenge,
                expires_at=uow.now + ttl,
                used_at=None,
            )
        )
        await link_holder(
            uow,
            consent_id=pending.consent_id,
            holder_subject=masked(link.holder_subject),
            now=uow.now,
        )
    return code


async def _fail(request: web.Request, pending: _Pending, reason: str) -> None:
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        if not await oauth_store(uow).authorizations.move(
            pending.authorization.id, source=STATUS_AWAITING_HOLDER, target=STATUS_FAILED
        ):
            raise PageError(400, "oauth.error.holder_state", "already answered")
        await fail_holder(uow, consent_id=pending.consent_id, reason=reason, now=uow.now)
    log.info("holder.link_failed", client_id=pending.par.client_id, reason=reason.split(":")[0])


def _unavailable_page(request: web.Request, pending: _Pending, issuer: str) -> web.Response:
    back = client_redirect(
        pending.par.redirect_uri,
        issuer,
        error="temporarily_unavailable",
        error_description="the data holder could not be reached",
        state=pending.par.state,
    )
    return render(
        request,
        "oauth/holder_unavailable.html",
        status=502,
        holder_name=pending.holder.manifest.name,
        service_name=pending.service_name,
        back_url=back,
    )
