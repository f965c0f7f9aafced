"""A holder shuts a service out (« blacklister un service pour des raisons légitimes de
sécurité »): the entry is recorded with a ledger event, then every active consent of that
service with that holder ends through the one revocation path (``consent.usecases.revoke``,
actor ``holder:<id>``, reason ``service_blacklisted``), which revokes its tokens and lets
the service know. New data requests are refused by the policy check (``blocked_services``
includes the blacklist).

Each consent is revoked in its own transaction: a consent that ended meanwhile (the
resident revoked it a moment before) is skipped, never a reason to undo the others.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from broker.holder_cache import invalidate_holder
from broker.storage.holder_side import SqlHolderSide
from broker.unit import unit_of_work
from consent.errors import ConsentError
from consent.ledger import LedgerEvent
from consent.model import Actor
from consent.usecases import revoke

log = structlog.get_logger(__name__)

REASON = "service_blacklisted"


class UnknownParty(LookupError):
    pass


async def blacklist_service(
    app: web.Application, *, holder_id: str, service: str, reason: str, actor: str
) -> int:
    """Blacklist ``service`` at ``holder_id``; return how many consents were revoked."""
    async with unit_of_work(app) as uow:
        if await uow.holders.get(holder_id) is None or await uow.services.get(service) is None:
            raise UnknownParty(f"no holder {holder_id!r} or no service {service!r}")
        side = SqlHolderSide(uow.conn)
        if await side.blacklist(holder_id, service, reason, actor, uow.now):
            await invalidate_holder(uow.conn, holder_id)  # cached blocked services (#6)
            await uow.ledger.append(
                LedgerEvent(
                    kind="service.blacklisted",
                    actor=actor,
                    service=service,
                    holder=holder_id,
                    details={"reason": reason},
                ),
                uow.now,
            )
        await uow.commit()
    return await revoke_all(app, holder_id=holder_id, service=service, reason=REASON)


async def revoke_all(
    app: web.Application,
    *,
    holder_id: str,
    reason: str,
    service: str | None = None,
    consent_ids: list[str] | None = None,
) -> int:
    if consent_ids is None:
        async with unit_of_work(app) as uow:
            consent_ids = await SqlHolderSide(uow.conn).live_consent_ids(holder_id, service)
    revoked = 0
    for consent_id in consent_ids:
        async with unit_of_work(app) as uow:
            try:
                await revoke(
                    uow,
                    consent_id=consent_id,
                    actor=Actor(kind="holder", id=holder_id),
                    reason=reason,
                    now=uow.now,
                )
            except ConsentError as error:  # ended meanwhile: nothing left to revoke
                log.info("holder.revoke_skipped", grant_id=consent_id, reason=error.reason)
                continue
        revoked += 1
    log.info("holder.revoked", holder=holder_id, count=revoked, reason=reason)
    return revoked


async def lift_blacklist(app: web.Application, *, holder_id: str, service: str, actor: str) -> bool:
    """Allow the service again; ended consents stay ended (the resident must consent anew)."""
    async with unit_of_work(app) as uow:
        lifted = await SqlHolderSide(uow.conn).unblacklist(holder_id, service)
        if lifted:
            await invalidate_holder(uow.conn, holder_id)  # cached blocked services (#6)
            await uow.ledger.append(
                LedgerEvent(
                    kind="service.unblacklisted", actor=actor, service=service, holder=holder_id
                ),
                uow.now,
            )
        await uow.commit()
    return lifted
