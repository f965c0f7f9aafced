"""What the holder side of the broker keeps (#3): blacklists, webhook secrets and replayed
notice ids, the keyed index of holder subjects, and the holder consoles' read models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.storage.tables import (
    consents,
    holder_blacklist,
    holder_webhooks,
    holders,
    ledger,
    transfer_counters,
    webhook_replays,
)
from consent.model import ConsentState

# A paused consent is still held: a blacklist or a holder-side withdrawal must end it too.
_LIVE_STATES = (ConsentState.ACTIVE.value, ConsentState.PAUSED.value)


@dataclass(frozen=True)
class BlacklistEntry:
    holder: str
    service: str
    reason: str
    actor: str
    created_at: datetime


class SqlHolderSide:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # -- blacklist -------------------------------------------------------------------------

    async def blacklist(
        self, holder: str, service: str, reason: str, actor: str, now: datetime
    ) -> bool:
        """Add the entry; False when the service was already blacklisted by this holder."""
        found = await self._conn.scalar(
            select(func.count())
            .select_from(holder_blacklist)
            .where(holder_blacklist.c.holder == holder, holder_blacklist.c.service == service)
        )
        if found:
            return False
        await self._conn.execute(
            insert(holder_blacklist).values(
                holder=holder, service=service, reason=reason, actor=actor, created_at=now
            )
        )
        await self._set_blocked(holder, service, blocked=True)
        return True

    async def _set_blocked(self, holder: str, service: str, *, blocked: bool) -> None:
        """Mirror the entry in the manifest's ``blocked_services``, which the policy checks
        at PAR time: a blacklisted service cannot even ask for a new consent."""
        manifest = await self._conn.scalar(select(holders.c.manifest).where(holders.c.id == holder))
        if manifest is None:
            return
        contract = dict(manifest.get("contract", {}))
        listed = [s for s in contract.get("blocked_services", []) if s != service]
        contract["blocked_services"] = [*listed, service] if blocked else listed
        await self._conn.execute(
            update(holders)
            .where(holders.c.id == holder)
            .values(manifest={**manifest, "contract": contract})
        )

    async def unblacklist(self, holder: str, service: str) -> bool:
        result = await self._conn.execute(
            delete(holder_blacklist).where(
                holder_blacklist.c.holder == holder, holder_blacklist.c.service == service
            )
        )
        if result.rowcount != 1:
            return False
        await self._set_blocked(holder, service, blocked=False)
        return True

    async def blacklisted(self, holder: str) -> list[BlacklistEntry]:
        rows = await self._conn.execute(
            select(holder_blacklist)
            .where(holder_blacklist.c.holder == holder)
            .order_by(holder_blacklist.c.service)
        )
        return [BlacklistEntry(**r._asdict()) for r in rows]

    async def live_consent_ids(self, holder: str, service: str | None = None) -> list[str]:
        query = select(consents.c.id).where(
            consents.c.holder == holder, consents.c.state.in_(_LIVE_STATES)
        )
        if service is not None:
            query = query.where(consents.c.service == service)
        return [r.id for r in await self._conn.execute(query.order_by(consents.c.id))]

    # -- holder subjects -------------------------------------------------------------------

    async def set_subject_key(self, consent_id: str, key: str) -> None:
        await self._conn.execute(
            update(consents).where(consents.c.id == consent_id).values(holder_subject_key=key)
        )

    async def live_by_subject(self, holder: str, keys: list[str]) -> list[tuple[str, str]]:
        """(consent id, service) of the live consents whose subject hashes to a key."""
        rows = await self._conn.execute(
            select(consents.c.id, consents.c.service).where(
                consents.c.holder == holder,
                consents.c.holder_subject_key.in_(keys),
                consents.c.state.in_(_LIVE_STATES),
            )
        )
        return [(r.id, r.service) for r in rows]

    # -- webhook ---------------------------------------------------------------------------

    async def set_webhook_secret(self, holder: str, sealed: str) -> None:
        await self._conn.execute(delete(holder_webhooks).where(holder_webhooks.c.holder == holder))
        await self._conn.execute(insert(holder_webhooks).values(holder=holder, secret_enc=sealed))

    async def webhook_secret(self, holder: str) -> str | None:
        return await self._conn.scalar(
            select(holder_webhooks.c.secret_enc).where(holder_webhooks.c.holder == holder)
        )

    async def first_use(self, holder: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Record a notice id; False if it was seen before (a replay). Old ids are swept."""
        await self._conn.execute(delete(webhook_replays).where(webhook_replays.c.expires_at < now))
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(
                    insert(webhook_replays).values(holder=holder, jti=jti, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        return True

    # -- console read models ---------------------------------------------------------------

    async def readers(self, holder: str) -> list[dict[str, Any]]:
        """Which services read which resources: live consents per service."""
        rows = await self._conn.execute(
            select(consents.c.service, consents.c.data).where(
                consents.c.holder == holder, consents.c.state.in_(_LIVE_STATES)
            )
        )
        per_service: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = per_service.setdefault(row.service, {"consents": 0, "resources": set()})
            entry["consents"] += 1
            entry["resources"].update(row.data.get("resources", []))
        return [
            {"service": s, "consents": e["consents"], "resources": sorted(e["resources"])}
            for s, e in sorted(per_service.items())
        ]

    async def transfers(self, holder: str, since: datetime) -> list[dict[str, Any]]:
        """Transfers and bytes per day and service since ``since``, from the ledger."""
        rows = await self._conn.execute(
            select(ledger.c.at, ledger.c.service, ledger.c.kind, ledger.c.details)
            .where(
                ledger.c.holder == holder,
                ledger.c.at >= since,
                ledger.c.kind.in_(["transfer.served", "transfer.failed", "transfer.denied"]),
            )
            .order_by(ledger.c.seq)
        )
        days: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:
            key = (row.at.date().isoformat(), row.service or "")
            day = days.setdefault(key, {"served": 0, "refused": 0, "bytes": 0})
            day["served" if row.kind == "transfer.served" else "refused"] += 1
            day["bytes"] += int(row.details.get("bytes") or 0)
        return [{"day": d, "service": s, **v} for (d, s), v in sorted(days.items(), reverse=True)]

    async def quota_use(self, holder: str, windows: list[str]) -> list[dict[str, Any]]:
        """Current counters of the given windows, per service."""
        rows = await self._conn.execute(
            select(transfer_counters).where(
                and_(transfer_counters.c.holder == holder, transfer_counters.c.window.in_(windows))
            )
        )
        return [
            {"service": r.service, "window": r.window, "count": r.count, "bytes": r.bytes}
            for r in rows
        ]
