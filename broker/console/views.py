"""What the holder console shows: who reads what, transfers and bytes per day, current quota
use against the contract, and the blacklist. Read models only; no data ever, only counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from broker.quota import day_window, request_windows
from broker.storage.holder_side import BlacklistEntry, SqlHolderSide
from broker.storage.uow import SqlUnitOfWork
from consent.registry import HolderManifest

HISTORY_DAYS = 14


@dataclass(frozen=True)
class QuotaLine:
    service: str
    per_second: str
    per_hour: str
    bytes_today: str


@dataclass(frozen=True)
class Overview:
    manifest: HolderManifest
    readers: list[dict[str, Any]]
    transfers: list[dict[str, Any]]
    quotas: list[QuotaLine]
    blacklist: list[BlacklistEntry]
    services: list[str]


def _quota_lines(
    manifest: HolderManifest, rows: list[dict[str, Any]], now: datetime
) -> list[QuotaLine]:
    terms = manifest.contract
    second, hour = request_windows(terms, now)
    day_key, _ = day_window(now)
    used: dict[str, dict[str, int]] = {}
    for row in rows:
        per = used.setdefault(row["service"], {"s": 0, "h": 0, "d": 0})
        if row["window"] == second.key:
            per["s"] = row["count"]
        elif row["window"] == hour.key:
            per["h"] = row["count"]
        elif row["window"] == day_key:
            per["d"] = row["bytes"]
    return [
        QuotaLine(
            service,
            f"{u['s']} / {second.limit}",
            f"{u['h']} / {hour.limit}",
            f"{u['d']} / {terms.bytes_per_day}",
        )
        for service, u in sorted(used.items())
    ]


async def overview(uow: SqlUnitOfWork, manifest: HolderManifest) -> Overview:
    side = SqlHolderSide(uow.conn)
    now = uow.now
    second, hour = request_windows(manifest.contract, now)
    windows = [second.key, hour.key, day_window(now)[0]]
    return Overview(
        manifest=manifest,
        readers=await side.readers(manifest.id),
        transfers=await side.transfers(manifest.id, now - timedelta(days=HISTORY_DAYS)),
        quotas=_quota_lines(manifest, await side.quota_use(manifest.id, windows), now),
        blacklist=await side.blacklisted(manifest.id),
        services=[s.client_id for s in await uow.services.list()],
    )
