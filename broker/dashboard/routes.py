"""Routes of the dashboard surface: the resident sees every flow and can stop any of them.

* ``GET /``: a summary, then the resident's consents grouped by holder.
* ``GET /consents/{id}``: asked vs granted, transfers per day (an SVG chart with its table),
  the transfers, the consent's history, and what the resident can do.
* ``GET /consents/{id}/revoke``: the confirmation step, saying what revoking will do; its
  form posts to ``POST /consents/{id}/revoke`` (``actions.py``).
* ``GET /consents/{id}/receipt.json``: the signed receipt of the current revision, and
  ``GET /consents/{id}/receipts/{revision}.json`` that of any revision (``broker/receipts.py``).
* The actions (revoke, pause, resume, narrow, renewal) are in ``actions.py``; the account
  (export, erasure) in ``account.py``.

Someone else's consent and an unknown id get the same 404: existence is not revealed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import structlog
from aiohttp import web

from broker.dashboard import account, actions, chart, control_views, views, words
from broker.dashboard.views import Registrations
from broker.http.problems import Problem
from broker.keys import CLOCK, ENGINE, SETTINGS, SIGNER
from broker.receipts import build_receipt, sign_receipt
from broker.storage.residents import Resident
from broker.storage.uow import SqlUnitOfWork
from broker.web.i18n import locale_of, translator
from broker.web.render import PageError, render
from broker.web.session import require_resident
from consent.model import Consent, ConsentState

log = structlog.get_logger(__name__)

NOTICES = (
    "revoked",
    "already_ended",
    "paused",
    "resumed",
    "narrowed",
    "unchanged",
    "renewal_requested",
    "not_possible",
)


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


async def _page_of(uow: SqlUnitOfWork, request: web.Request, resident: Resident) -> Consent:
    """The resident's own consent named in the path, or the readable 404 page (someone
    else's consent is as unknown as one that does not exist)."""
    consent = await _owned(uow, request, resident)
    if consent is None:
        raise PageError(404, "error.not_found")
    return consent


async def overview(request: web.Request) -> web.StreamResponse:
    resident = await require_resident(request)
    locale = locale_of(request)
    t = translator(locale)
    async with _uow(request) as uow:
        consents = await uow.consents.list_for_subject(resident.id)
        regs = await _registrations(uow, consents)
        stats = await uow.ledger.transfer_stats(c.id for c in consents)
        now = uow.now
    days = request.app[SETTINGS].expiry_warning_days
    warnings = [
        {"id": c.id, "service": regs.service_name(c.service), "until": warning.until}
        for c in consents
        if (warning := control_views.expiry_warning(c, now, days, locale)) is not None
    ]
    return render(
        request,
        "dashboard/overview.html",
        warnings=warnings,
        summary=views.overview_summary(consents, t),
        groups=views.grouped_by_holder(consents, regs, stats, t, locale),
    )


async def detail(request: web.Request) -> web.StreamResponse:
    resident = await require_resident(request)
    locale = locale_of(request)
    t = translator(locale)
    async with _uow(request) as uow:
        consent = await _page_of(uow, request, resident)
        regs = await _registrations(uow, [consent])
        entries = await uow.ledger.for_consent(consent.id)  # newest first
        stats = await uow.ledger.transfer_stats([consent.id])
        older = await uow.consents.revisions(consent.id)
        now = uow.now
    service = regs.services.get(consent.service)
    manifest = regs.holders.get(consent.holder)
    warning_days = request.app[SETTINGS].expiry_warning_days
    notice = request.query.get("notice")
    return render(
        request,
        "dashboard/detail.html",
        row=views.consent_row(consent, regs, stats.get(consent.id), t, locale),
        scope=views.scope_lines(consent, regs, t, locale),
        transfers=views.transfer_lines(consent, entries, regs, t, locale),
        chart=chart.transfers_per_day(entries, now.date(), t, locale),
        events=views.event_lines(consent, list(reversed(entries)), regs, t, locale),
        can_revoke=consent.state.is_live or consent.state is ConsentState.AWAITING_HOLDER,
        paused=consent.state is ConsentState.PAUSED,
        can_pause=consent.state is ConsentState.ACTIVE,
        warning=control_views.expiry_warning(consent, now, warning_days, locale),
        narrowing=control_views.narrow_form(consent, manifest, t, locale, now),
        revisions=control_views.revision_lines(consent, older, manifest, locale),
        privacy_url=str(service.privacy_policy_url) if service is not None else None,
        notice=notice if notice in NOTICES else None,
    )


async def confirm_revoke(request: web.Request) -> web.StreamResponse:
    """The step before revoking: what will happen, in words, then one CSRF-checked button."""
    resident = await require_resident(request)
    locale = locale_of(request)
    t = translator(locale)
    async with _uow(request) as uow:
        consent = await _page_of(uow, request, resident)
        regs = await _registrations(uow, [consent])
        stats = await uow.ledger.transfer_stats([consent.id])
    if not (consent.state.is_live or consent.state is ConsentState.AWAITING_HOLDER):
        raise web.HTTPSeeOther(f"/consents/{consent.id}?notice=already_ended")
    service = regs.services.get(consent.service)
    served = stats[consent.id].served if consent.id in stats else 0
    return render(
        request,
        "dashboard/revoke.html",
        row=views.consent_row(consent, regs, stats.get(consent.id), t, locale),
        received=views.received_so_far(served, t),
        retention=words.duration(service.retention, t) if service is not None else None,
        privacy_url=str(service.privacy_policy_url) if service is not None else None,
        can_pause=consent.state is ConsentState.ACTIVE,
    )


async def receipt(request: web.Request) -> web.StreamResponse:
    resident = await require_resident(request)
    async with _uow(request) as uow:
        consent = await _owned(uow, request, resident)
        if consent is None:
            raise Problem(404, "not_found", "no such consent")
        consent = await _revision(uow, consent, request.match_info.get("revision"))
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
            "Content-Disposition": (
                f'attachment; filename="{_filename(consent.id, consent.revision)}"'
            ),
        },
    )


async def _revision(uow: SqlUnitOfWork, consent: Consent, asked: str | None) -> Consent:
    """The consent as it stood in the asked revision (the current one when none is asked)."""
    if asked is None or asked == str(consent.revision):
        return consent
    if not asked.isdigit() or len(asked) > 6:
        raise Problem(404, "not_found", "no such revision")
    for older in await uow.consents.revisions(consent.id):
        if older.revision == int(asked):
            return older
    raise Problem(404, "not_found", "no such revision")


def _filename(consent_id: str, revision: int) -> str:
    safe = "".join(c for c in consent_id if c.isascii() and (c.isalnum() or c in "-_"))
    return f"consent-receipt-{safe[:64]}-r{revision}.json"


def setup(app: web.Application) -> None:
    app.router.add_get("/", overview)
    app.router.add_get("/consents/{consent_id}", detail)
    app.router.add_get("/consents/{consent_id}/revoke", confirm_revoke)
    app.router.add_get("/consents/{consent_id}/receipt.json", receipt)
    app.router.add_get("/consents/{consent_id}/receipts/{revision}.json", receipt)
    actions.setup(app)
    account.setup(app)
