"""What a resident can do to one consent from its page, each a CSRF-checked POST that ends
in a redirect back to the page with a notice (Post/Redirect/Get):

* ``POST /consents/{id}/revoke``: stop the flow for good (the one revocation path).
* ``POST /consents/{id}/pause`` and ``/resume``: hold transfers without losing the consent.
* ``POST /consents/{id}/narrow``: fewer resources, a shorter history, an earlier end.
* ``POST /consents/{id}/renewal``: ask the service for a new consent before this one ends.

Everything that must reach the service or the holder is queued by the use case in the
same transaction; nothing here calls out. Someone else's consent is a 404, as on the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta

import structlog
from aiohttp import web
from multidict import MultiDict

from broker.storage.uow import SqlUnitOfWork
from broker.unit import unit_of_work
from broker.web.csrf import check_csrf
from broker.web.render import PageError
from broker.web.session import require_resident
from consent import control
from consent.errors import IllegalTransition, InvalidDuration, InvalidRequest
from consent.model import Actor, Consent, ConsentState
from consent.usecases import narrow, revoke

log = structlog.get_logger(__name__)

Change = Callable[[SqlUnitOfWork, Consent, str, MultiDict[str]], Awaitable[str]]


async def _act(request: web.Request, change: Change) -> web.StreamResponse:
    form = await check_csrf(request)
    resident = await require_resident(request)
    consent_id = request.match_info["consent_id"][:64]
    async with unit_of_work(request.app) as uow:
        consent = await uow.consents.get(consent_id)
        if consent is None or consent.subject != resident.id:
            raise PageError(404, "error.not_found")
        try:
            notice = await change(uow, consent, resident.id, form)
        except IllegalTransition:  # ended or changed meanwhile: say so, change nothing
            notice = "not_possible"
    log.info("dashboard.action", grant_id=consent.id, outcome=notice)
    raise web.HTTPSeeOther(f"/consents/{consent.id}?notice={notice}")


async def _revoke(uow: SqlUnitOfWork, consent: Consent, who: str, _: MultiDict[str]) -> str:
    if consent.state.is_final or consent.state is ConsentState.REQUESTED:
        return "already_ended"
    actor = Actor(kind="resident", id=who)
    await revoke(uow, consent_id=consent.id, actor=actor, reason="revoked_by_resident", now=uow.now)
    return "revoked"


async def _pause(uow: SqlUnitOfWork, consent: Consent, who: str, _: MultiDict[str]) -> str:
    await control.pause(uow, consent_id=consent.id, subject=who, now=uow.now)
    return "paused"


async def _resume(uow: SqlUnitOfWork, consent: Consent, who: str, _: MultiDict[str]) -> str:
    await control.resume(uow, consent_id=consent.id, subject=who, now=uow.now)
    return "resumed"


async def _renew(uow: SqlUnitOfWork, consent: Consent, who: str, _: MultiDict[str]) -> str:
    await control.request_renewal(uow, consent_id=consent.id, subject=who, now=uow.now)
    return "renewal_requested"


async def _narrow(uow: SqlUnitOfWork, consent: Consent, who: str, form: MultiDict[str]) -> str:
    resources = [r[:64] for r in form.getall("resources", [])][:64]
    history = form.get("history", "")[:16] or None
    until = _end_date(form.get("until", "")[:10])
    kept = None if set(resources) == set(consent.resources) else resources
    shorter = None if history == consent.data_window.history else history
    if kept is None and shorter is None and until is None:
        return "unchanged"
    try:
        await narrow(
            uow,
            consent_id=consent.id,
            subject=who,
            now=uow.now,
            resources=kept,
            history=shorter,
            expires_at=until,
        )
    except (InvalidRequest, InvalidDuration) as error:
        raise PageError(400, "error.narrow_invalid", error.detail) from None
    return "narrowed"


def _end_date(text: str) -> datetime | None:
    """The chosen last day; the consent ends at the start of the next one (UTC)."""
    if not text:
        return None
    try:
        last_day = date.fromisoformat(text)
    except ValueError:
        raise PageError(400, "error.narrow_invalid") from None
    return datetime.combine(last_day, time(0), tzinfo=UTC) + timedelta(days=1)


async def revoke_consent(request: web.Request) -> web.StreamResponse:
    return await _act(request, _revoke)


async def pause_consent(request: web.Request) -> web.StreamResponse:
    return await _act(request, _pause)


async def resume_consent(request: web.Request) -> web.StreamResponse:
    return await _act(request, _resume)


async def renew_consent(request: web.Request) -> web.StreamResponse:
    return await _act(request, _renew)


async def narrow_consent(request: web.Request) -> web.StreamResponse:
    return await _act(request, _narrow)


def setup(app: web.Application) -> None:
    app.router.add_post("/consents/{consent_id}/revoke", revoke_consent)
    app.router.add_post("/consents/{consent_id}/pause", pause_consent)
    app.router.add_post("/consents/{consent_id}/resume", resume_consent)
    app.router.add_post("/consents/{consent_id}/renewal", renew_consent)
    app.router.add_post("/consents/{consent_id}/narrow", narrow_consent)
