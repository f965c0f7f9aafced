"""The consent use cases. Each one loads, checks, changes, records in the ledger and
commits inside one unit of work, so a consent never changes without its ledger entry.

The caller opens the unit of work (``async with uow:``) and passes it in; a use case
commits only when everything it had to do succeeded.
"""

from __future__ import annotations

from datetime import date, datetime

from consent.details import AuthorizationDetail
from consent.durations import CalendarDuration
from consent.errors import ConsentNotFound, NotYourConsent, TransferDenied
from consent.ledger import LedgerEvent, Scalar
from consent.model import Actor, Consent
from consent.notices import NoticeEvent, ServiceNotice
from consent.policy import check_transfer, validate_request
from consent.ports import UnitOfWork
from consent.registry import HolderManifest, ServiceRegistration


async def _load(uow: UnitOfWork, consent_id: str) -> Consent:
    consent = await uow.consents.get(consent_id)
    if consent is None:
        raise ConsentNotFound(f"no consent {consent_id}")
    return consent


def _event(kind: str, consent: Consent, actor: str, **details: Scalar) -> LedgerEvent:
    return LedgerEvent(
        kind=kind,
        actor=actor,
        subject=consent.subject,
        consent_id=consent.id,
        service=consent.service,
        holder=consent.holder,
        details=details,
    )


def _scope(consent: Consent) -> dict[str, Scalar]:
    return {
        "resources": ",".join(consent.resources),
        "purpose": consent.purpose,
        "history": consent.data_window.history,
        "include_future": consent.data_window.include_future,
        "frequency": str(consent.frequency),
        "expires_at": consent.expires_at.isoformat() if consent.expires_at else None,
        "revision": consent.revision,
    }


async def request_consent(
    uow: UnitOfWork,
    *,
    consent_id: str,
    subject: str,
    service: ServiceRegistration,
    manifest: HolderManifest,
    detail: AuthorizationDetail,
    now: datetime,
) -> Consent:
    validate_request(detail, manifest, service)
    consent = Consent.requested_by(
        consent_id=consent_id, subject=subject, service=service.client_id, detail=detail, now=now
    )
    await uow.consents.add(consent)
    await uow.ledger.append(
        _event("consent.requested", consent, f"service:{service.client_id}", **_scope(consent)),
        now,
    )
    await uow.commit()
    return consent


async def accept(
    uow: UnitOfWork,
    *,
    consent_id: str,
    subject: str,
    now: datetime,
    resources: list[str] | None = None,
    duration: str | None = None,
    history: str | None = None,
) -> Consent:
    consent = await _owned(uow, consent_id, subject)
    consent.accept(now, resources=resources, duration=duration, history=history)
    await uow.consents.save(consent)
    # Compare meanings, not spellings: P2W kept as asked is stored as P14D, and a shorter
    # history is as much "less" as a shorter duration.
    asked = consent.requested
    narrowed = (
        consent.resources != asked.resources
        or CalendarDuration.parse(consent.duration).approx_days()
        < asked.consent_duration.approx_days()
        or consent.data_window.history_duration.approx_days()
        < asked.data_window.history_duration.approx_days()
    )
    await uow.ledger.append(
        _event(
            "consent.granted",
            consent,
            f"resident:{subject}",
            less_than_asked=narrowed,
            **_scope(consent),
        ),
        now,
    )
    await uow.commit()
    return consent


async def refuse(uow: UnitOfWork, *, consent_id: str, subject: str, now: datetime) -> Consent:
    consent = await _owned(uow, consent_id, subject)
    consent.refuse(now)
    await uow.consents.save(consent)
    await uow.ledger.append(_event("consent.refused", consent, f"resident:{subject}"), now)
    await uow.commit()
    return consent


async def link_holder(
    uow: UnitOfWork, *, consent_id: str, holder_subject: str, now: datetime
) -> Consent:
    consent = await _load(uow, consent_id)
    consent.link_holder(holder_subject, now)
    await uow.consents.save(consent)
    # The holder-side identifier (a PRM) is personal: the ledger says that, not which.
    await uow.ledger.append(_event("holder.linked", consent, f"holder:{consent.holder}"), now)
    await uow.commit()
    return consent


async def fail_holder(uow: UnitOfWork, *, consent_id: str, reason: str, now: datetime) -> Consent:
    consent = await _load(uow, consent_id)
    consent.fail(now, reason)
    await uow.consents.save(consent)
    await uow.ledger.append(
        _event("holder.link_failed", consent, f"holder:{consent.holder}", reason=reason), now
    )
    await uow.commit()
    return consent


async def revoke(
    uow: UnitOfWork, *, consent_id: str, actor: Actor, reason: str, now: datetime
) -> Consent:
    """The one revocation path: resident, service, holder and operator all come here."""
    consent = await _load(uow, consent_id)
    await withdraw(uow, consent, actor=actor, reason=reason, now=now)
    await uow.commit()
    return consent


async def withdraw(
    uow: UnitOfWork, consent: Consent, *, actor: Actor, reason: str, now: datetime
) -> None:
    """The body of ``revoke`` inside the caller's transaction (erasure ends many consents
    and deletes the account in one commit). Its effects are all recorded together: the
    state, every token of the grant, the ledger entry, and in the outbox the notice to the
    service and the revocation at the holder."""
    if actor.kind == "resident" and consent.subject != actor.id:
        raise NotYourConsent("a resident can only revoke their own consents")
    if actor.kind == "service" and consent.service != actor.id:
        raise NotYourConsent("a service can only end its own grants")
    if actor.kind == "holder" and consent.holder != actor.id:
        raise NotYourConsent("a holder can only revoke consents it holds data for")
    consent.revoke(actor, now, reason)
    await uow.consents.save(consent)
    killed = await _stop_access(uow, consent, NoticeEvent.REVOKED, now)
    await uow.ledger.append(
        _event(
            "consent.revoked",
            consent,
            str(actor),
            reason=reason,
            state=str(consent.state),
            tokens_revoked=killed,
        ),
        now,
    )


async def _stop_access(uow: UnitOfWork, consent: Consent, event: NoticeEvent, now: datetime) -> int:
    """Every token dies now (each instance checks the database on every request); the
    holder credential and the service's notice go to the outbox, in this transaction."""
    killed = await uow.tokens.revoke_for_grant(consent.id, now)
    if consent.holder_subject is not None:
        await uow.outbox.revoke_at_holder(consent, now)
    await uow.outbox.notify_service(ServiceNotice.about(event, consent, now))
    return killed


async def expire_due(uow: UnitOfWork, *, now: datetime, limit: int = 100) -> list[Consent]:
    expired = []
    for consent in await uow.consents.list_due_to_expire(now, limit):
        consent.expire(now)
        await uow.consents.save(consent)
        killed = await _stop_access(uow, consent, NoticeEvent.EXPIRED, now)
        await uow.ledger.append(
            _event("consent.expired", consent, "system:expiry", tokens_revoked=killed), now
        )
        expired.append(consent)
    await uow.commit()
    return expired


async def narrow(
    uow: UnitOfWork,
    *,
    consent_id: str,
    subject: str,
    now: datetime,
    resources: list[str] | None = None,
    history: str | None = None,
    expires_at: datetime | None = None,
) -> Consent:
    """A new revision with less in it; the old one stays on record. Tokens need no change:
    every request is checked against the consent's current scope."""
    consent = await _owned(uow, consent_id, subject)
    consent.narrow(now, resources=resources, history=history, expires_at=expires_at)
    await uow.consents.save(consent)
    await uow.ledger.append(
        _event("consent.narrowed", consent, f"resident:{subject}", **_scope(consent)), now
    )
    await uow.outbox.notify_service(ServiceNotice.about(NoticeEvent.NARROWED, consent, now))
    await uow.commit()
    return consent


async def authorize_transfer(
    uow: UnitOfWork,
    *,
    consent_id: str,
    holder: str,
    resource: str,
    start: date | None,
    end: date | None,
    now: datetime,
    blocked_services: list[str] | tuple[str, ...] = (),
    consent: Consent | None = None,
) -> Consent:
    """Check a data request against its consent. A denial is recorded before it is raised.

    ``consent``: the consent ``consent_id`` as the caller has just read it in this unit of
    work (the data plane reads it with its token in one statement); it is then not read a
    second time. Without it, the consent is read here."""
    if consent is None or consent.id != consent_id:
        consent = await _load(uow, consent_id)
    try:
        check_transfer(
            consent,
            holder=holder,
            resource=resource,
            start=start,
            end=end,
            now=now,
            blocked_services=blocked_services,
        )
    except TransferDenied as denial:
        await record_denial(uow, consent, resource=resource, reason=denial.reason, now=now)
        raise
    return consent


async def record_denial(
    uow: UnitOfWork, consent: Consent, *, resource: str, reason: str, now: datetime
) -> None:
    await uow.ledger.append(
        _event(
            "transfer.denied",
            consent,
            f"service:{consent.service}",
            resource=resource,
            reason=reason,
        ),
        now,
    )
    await uow.commit()


async def record_transfer(
    uow: UnitOfWork,
    consent: Consent,
    *,
    resource: str,
    start: date | None,
    end: date | None,
    outcome: str,
    bytes_sent: int,
    records: int | None,
    now: datetime,
) -> None:
    event = transfer_event(
        consent,
        resource=resource,
        start=start,
        end=end,
        outcome=outcome,
        bytes_sent=bytes_sent,
        records=records,
    )
    await uow.ledger.append(event, now)
    await uow.commit()


def transfer_event(
    consent: Consent,
    *,
    resource: str,
    start: date | None,
    end: date | None,
    outcome: str,
    bytes_sent: int,
    records: int | None,
) -> LedgerEvent:
    """The ledger event of a transfer; the data plane group-commits these
    (``broker.data.appender``) instead of calling ``record_transfer`` one by one."""
    return _event(
        "transfer.served" if outcome == "ok" else "transfer.failed",
        consent,
        f"service:{consent.service}",
        resource=resource,
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        outcome=outcome,
        bytes=bytes_sent,
        records=records,
    )


async def _owned(uow: UnitOfWork, consent_id: str, subject: str) -> Consent:
    consent = await _load(uow, consent_id)
    if consent.subject != subject:
        raise NotYourConsent("this consent belongs to someone else")
    return consent
