"""``GET /oauth/authorize?client_id=…&request_uri=…`` (RFC 9126 §4, RFC 6749 §4.1.1).

Only ``client_id`` and ``request_uri`` are read: everything else was pushed. Nothing here
redirects to the service, because nothing here has been checked against a live request
yet: every problem is a page. The pushed request is used once, when a logged-in resident
reaches it; the consent is created (REQUESTED) and the consent screen shown.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import structlog
from aiohttp import web

from broker.keys import CLOCK, ENGINE, SETTINGS
from broker.oauth.consent_screen import render_screen
from broker.oauth.par import REQUEST_URI_PREFIX
from broker.oauth.redirects import page_param
from broker.oauth.store import oauth_store
from broker.storage.oauth_par import AuthorizationRecord, ParRecord
from broker.storage.residents import Resident
from broker.storage.uow import SqlUnitOfWork
from broker.web.render import PageError
from broker.web.session import require_resident
from consent.details import AuthorizationDetail
from consent.errors import ConsentError
from consent.model import Consent
from consent.registry import HolderManifest, ServiceRegistration
from consent.usecases import request_consent

log = structlog.get_logger(__name__)

STATUS_SHOWN = "consent_shown"


async def authorize(request: web.Request) -> web.StreamResponse:
    client_id = page_param(request.query, "client_id", "oauth.error.request_uri", max_length=64)
    request_uri = page_param(request.query, "request_uri", "oauth.error.request_uri")
    if not request_uri.startswith(REQUEST_URI_PREFIX):
        raise PageError(400, "oauth.error.request_uri", "not a request_uri")
    par = await _pushed(request, request_uri.removeprefix(REQUEST_URI_PREFIX), client_id)
    # Login comes after the check, so a dead link never sends anyone through the login page.
    resident = await require_resident(request)
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        authorization_id, consent, service, holder = await _start(request, uow, par, resident)
        now = uow.now
    log.info("authorize.consent_shown", client_id=client_id, grant_id=consent.id)
    return render_screen(
        request,
        authorization_id=authorization_id,
        consent=consent,
        service=service,
        manifest=holder,
        now=now,
    )


async def _start(
    request: web.Request, uow: SqlUnitOfWork, par: ParRecord, resident: Resident
) -> tuple[str, Consent, ServiceRegistration, HolderManifest]:
    """Use the pushed request, open the authorization and create the REQUESTED consent."""
    store = oauth_store(uow)
    if not await store.par.mark_used(par.id, uow.now):
        raise PageError(400, "oauth.error.request_uri", "request_uri already used")
    service = await uow.services.get(par.client_id)
    detail = AuthorizationDetail.model_validate(par.authorization_details[0])
    holder = await uow.holders.get(detail.holder)
    if service is None or holder is None:
        raise PageError(400, "oauth.error.request_uri", "service or holder gone")
    authorization = AuthorizationRecord(
        id=secrets.token_urlsafe(24),
        par_id=par.id,
        client_id=par.client_id,
        subject=resident.id,
        consent_id=f"grant_{secrets.token_urlsafe(24)}",
        holder_state_hash=None,
        status=STATUS_SHOWN,
        expires_at=uow.now + timedelta(seconds=request.app[SETTINGS].authorization_ttl),
    )
    await store.authorizations.add(authorization)
    try:
        # Re-checks the request (an operator may have suspended the service since PAR).
        consent = await request_consent(
            uow,
            consent_id=str(authorization.consent_id),
            subject=resident.id,
            service=service.registration,
            manifest=holder.manifest,
            detail=detail,
            now=uow.now,
        )
    except ConsentError:
        raise PageError(400, "oauth.error.request_uri", "no longer valid") from None
    return authorization.id, consent, service.registration, holder.manifest


async def _pushed(request: web.Request, par_id: str, client_id: str) -> ParRecord:
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        par = await oauth_store(uow).par.get(par_id) if len(par_id) <= 64 else None
        now = uow.now
    if par is None or not par.usable(now) or par.client_id != client_id:
        raise PageError(400, "oauth.error.request_uri", "unknown, expired or used request_uri")
    return par
