"""The resident's control over a live consent: pause, resume, ask for renewal, and erase
their account (narrowing is ``consent.usecases.narrow``). Same rules as there: load,
check, change, record in the ledger, queue the service's notice, commit, in one unit of
work.
"""

from __future__ import annotations

from datetime import datetime

from consent.ledger import LedgerEvent, Scalar
from consent.model import Actor, Consent, ConsentState
from consent.notices import NoticeEvent, ServiceNotice
from consent.ports import SubjectEraser, UnitOfWork
from consent.usecases import _event, _owned, withdraw


async def _changed(
    uow: UnitOfWork,
    consent: Consent,
    kind: str,
    event: NoticeEvent,
    now: datetime,
    **details: Scalar,
) -> Consent:
    await uow.consents.save(consent)
    await uow.ledger.append(_event(kind, consent, f"resident:{consent.subject}", **details), now)
    await uow.outbox.notify_service(ServiceNotice.about(event, consent, now))
    await uow.commit()
    return consent


async def pause(uow: UnitOfWork, *, consent_id: str, subject: str, now: datetime) -> Consent:
    """Transfers are refused (``consent_paused``) until the resident resumes; tokens live on."""
    consent = await _owned(uow, consent_id, subject)
    consent.pause(now)
    return await _changed(uow, consent, "consent.paused", NoticeEvent.PAUSED, now)


async def resume(uow: UnitOfWork, *, consent_id: str, subject: str, now: datetime) -> Consent:
    consent = await _owned(uow, consent_id, subject)
    consent.resume(now)
    return await _changed(uow, consent, "consent.resumed", NoticeEvent.RESUMED, now)


async def request_renewal(
    uow: UnitOfWork, *, consent_id: str, subject: str, now: datetime
) -> Consent:
    """Recorded and passed on to the service, which must ask for a new consent."""
    consent = await _owned(uow, consent_id, subject)
    consent.request_renewal(now)
    return await _changed(
        uow, consent, "consent.renewal_requested", NoticeEvent.RENEWAL_REQUESTED, now
    )


async def erase_resident(
    uow: UnitOfWork, eraser: SubjectEraser, *, subject: str, now: datetime
) -> list[Consent]:
    """GDPR article 17. Every consent still open ends first, through the one revocation
    path (so services are told and holders asked to revoke), then the account and the key
    of the resident's ledger pseudonym go, in the same commit. The ledger itself is not
    touched: its entries stay and verify, but nothing links them to the person any more."""
    actor = Actor(kind="resident", id=subject)
    ended = []
    for consent in await uow.consents.list_for_subject(subject):
        if consent.state is ConsentState.REQUESTED:
            consent.refuse(now)
            await uow.consents.save(consent)
            await uow.ledger.append(_event("consent.refused", consent, str(actor)), now)
        elif not consent.state.is_final:
            await withdraw(uow, consent, actor=actor, reason="account_deleted", now=now)
        ended.append(consent)
    await uow.ledger.append(_event_erased(subject), now)
    await eraser.forget(subject)
    await uow.commit()
    return ended


def _event_erased(subject: str) -> LedgerEvent:
    return LedgerEvent(kind="resident.erased", actor=f"resident:{subject}", subject=subject)
