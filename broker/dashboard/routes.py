"""Routes of the dashboard surface: the resident sees every flow and can stop any of them.

* ``GET /``: a summary, then the resident's consents grouped by holder.
* ``GET /consents/{id}``: asked vs granted, the transfers, the consent's history, revoke.
* ``POST /consents/{id}/revoke``: CSRF-checked; effective at once (tokens die with it).
* ``GET /consents/{id}/receipt.json``: the signed consent receipt (``broker/receipts.py``).

Someone else's consent and an unknown id get the same 404: existence is not revealed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import structlog
from aiohttp import web

from broker.dashboard import views
from broker.dashboard.views import Registrations
from broker.holders import adapter_for, open_consent_credential
from broker.http.problems import Problem
from broker.keys import CLOCK, ENGINE, SETTINGS, SIGNER
from broker.receipts import build_receipt, sign_receipt
from broker.storage.registry import HolderRecord
from broker.storage.residents import Resident
from broker.storage.uow import SqlUnitOfWork
from broker.web.csrf import check_csrf
from broker.web.i18n import locale_of, translator
from broker.web.render import PageError, render
from broker.web.session import require_resident
from consent.errors import ConsentError
from consent.model import Actor, Consent, ConsentState
from consent.usecases import revoke

log = structlog.get_logger(__name__)

NOTICES = ("revoked", "already_ended")


def _uow(request: web.Request) -> SqlUnitOfWork:
    return SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK])


async def _registrations(uow: SqlUnitOfWork, consents: Iterable[Consent]) -> Registrations:
    consents = list(consents)
    services = {}
    for client_id in sorted({c.service for c in consents}):
        record = await uow.services.get(client_id)
        if record is not None:
            services[client_id] = record.registration
    holders = {}
    for holder_id in sorted({c.holder for c in consents}):
        holder = await uow.holders.get(holder_id)
        if holder is not None:
            holders[holder_id] = holder.manifest
    return Registrations(services, holders)


async def _owned(uow: SqlUnitOfWork, request: web.Request, resident: Resident) -> Consent | None:
    consent = await uow.consents.get(request.match_info["consent_id"][:64])
    return consent if consent is not None and consent.subject == resident.id else None


async def overview(request: web.Request) -> web.StreamResponse:
    resident = await require_resident(request)
    locale = locale_of(request)
    t = translator(locale)
    async with _uow(request) as uow:
        consents = await uow.consents.list_for_subject(resident.id)
        regs = await _registrations(uow, consents)
        stats = await uow.ledger.transfer_stats(c.id for c in consents)
    return render(
        request,
        "dashboard/overview.html",
        summary=views.overview_summary(consents, t),
        groups=views.grouped_by_holder(consents, regs, stats, t, locale),
    )


async def detail(request: web.Request) -> web.StreamResponse:
    resident = await require_resident(request)
    locale = locale_of(request)
    t = translator(locale)
    async with _uow(request) as uow:
        consent = await _owned(uow, request, resident)
        if consent is None:
            raise PageError(404, "error.not_found")
        regs = await _registrations(uow, [consent])
        entries = await uow.ledger.for_consent(consent.id)  # newest first
        stats = await uow.ledger.transfer_stats([consent.id])
    service = regs.services.get(consent.service)
    notice = request.query.get("notice")
    return render(
        request,
        "dashboard/detail.html",
        row=views.consent_row(consent, regs, stats.get(consent.id), t, locale),
        scope=views.scope_lines(consent, regs, t, locale),
        transfers=views.transfer_lines(consent, entries, regs, t, locale),
        events=views.event_lines(consent, list(reversed(entries)), regs, t, locale),
        can_revoke=consent.state is ConsentState.ACTIVE,
        privacy_url=str(service.privacy_policy_url) if service is not None else None,
        notice=notice if notice in NOTICES else None,
    )


async def revoke_consent(request: web.Request) -> web.StreamResponse:
    """Stop a flow at once: the consent ends, its tokens die, the ledger records it."""
    await check_csrf(request)
    resident = await require_resident(request)
    holder: HolderRecord | None = None
    sealed: str | None = None
    async with _uow(request) as uow:
        consent = await _owned(uow, request, resident)
        if consent is None:
            raise PageError(404, "error.not_found")
        notice = "already_ended"
        if consent.state is ConsentState.ACTIVE:
            sealed = await uow.consents.holder_credential(consent.id)
            holder = await uow.holders.get(consent.holder)
            try:
                await revoke(
                    uow,
                    consent_id=consent.id,
                    actor=Actor(kind="resident", id=resident.id),
                    reason="revoked_by_resident",
                    now=uow.now,
                )
                notice = "revoked"
            except ConsentError:  # ended meanwhile by someone else: nothing left to stop
                holder = None
    log.info("consent.revoke", grant_id=consent.id, outcome=notice)
    if holder is not None and sealed is not None:
        await _revoke_at_holder(request.app, holder, consent.id, sealed)
    # later: send the service its signed revocation notice (notification_endpoint).
    raise web.HTTPSeeOther(f"/consents/{consent.id}?notice={notice}")


async def _revoke_at_holder(
    app: web.Application, holder: HolderRecord, consent_id: str, sealed: str
) -> None:
    """Best effort: the consent is already over here whatever the holder answers."""
    try:
        credential = open_consent_credential(app, consent_id, sealed)
        done = await adapter_for(app, holder).revoke(credential=credential)
        log.info("holder.revoke", grant_id=consent_id, holder=holder.manifest.id, done=done)
    except Exception as error:  # the holder's trouble must not undo the resident's act
        log.warning(
            "holder.revoke_failed",
            grant_id=consent_id,
            holder=holder.manifest.id,
            error=type(error).__name__,
        )


async def receipt(request: web.Request) -> web.StreamResponse:
    resident = await require_resident(request)
    async with _uow(request) as uow:
        consent = await _owned(uow, request, resident)
        if consent is None:
            raise Problem(404, "not_found", "no such consent")
        regs = await _registrations(uow, [consent])
        now = uow.now
    service = regs.services.get(consent.service)
    manifest = regs.holders.get(consent.holder)
    if service is None or manifest is None:
        raise Problem(404, "not_found", "the consent's service or holder is no longer registered")
    issuer = request.app[SETTINGS].issuer
    body = build_receipt(consent, service, manifest, issuer=issuer, now=now)
    signed = sign_receipt(body, request.app[SIGNER], issuer)
    return web.Response(
        text=json.dumps(signed, ensure_ascii=False, indent=2),
        content_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{_filename(consent.id)}"',
        },
    )


def _filename(consent_id: str) -> str:
    safe = "".join(c for c in consent_id if c.isascii() and (c.isalnum() or c in "-_"))
    return f"consent-receipt-{safe[:64]}.json"


def setup(app: web.Application) -> None:
    app.router.add_get("/", overview)
    app.router.add_get("/consents/{consent_id}", detail)
    app.router.add_post("/consents/{consent_id}/revoke", revoke_consent)
    app.router.add_get("/consents/{consent_id}/receipt.json", receipt)
