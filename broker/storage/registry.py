"""Registered services (OAuth clients) and holders (with their manifest and the broker's
own credentials at the holder, encrypted)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.storage.tables import holders, services
from consent.registry import HolderManifest, ServiceRegistration, ServiceStatus


@dataclass(frozen=True)
class ServiceRecord:
    registration: ServiceRegistration
    secret_hash: str | None  # SHA-256 of the (random, 256-bit) client secret


@dataclass(frozen=True)
class HolderRecord:
    manifest: HolderManifest
    client_id: str
    client_secret_enc: str


class SqlServices:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self, registration: ServiceRegistration, secret_hash: str | None, now: datetime
    ) -> None:
        await self._conn.execute(
            insert(services).values(
                client_id=registration.client_id,
                registration=registration.model_dump(mode="json"),
                secret_hash=secret_hash,
                status=registration.status.value,
                created_at=now,
            )
        )

    async def get(self, client_id: str) -> ServiceRecord | None:
        query = select(services).where(services.c.client_id == client_id)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        registration = ServiceRegistration.model_validate(
            {**row.registration, "status": row.status}
        )
        return ServiceRecord(registration=registration, secret_hash=row.secret_hash)

    async def set_status(self, client_id: str, status: ServiceStatus) -> bool:
        result = await self._conn.execute(
            update(services).where(services.c.client_id == client_id).values(status=status.value)
        )
        return result.rowcount == 1

    async def list(self) -> list[ServiceRegistration]:
        rows = await self._conn.execute(select(services).order_by(services.c.client_id))
        return [
            ServiceRegistration.model_validate({**r.registration, "status": r.status}) for r in rows
        ]


class SqlHolders:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self, manifest: HolderManifest, client_id: str, client_secret_enc: str, now: datetime
    ) -> None:
        await self._conn.execute(
            insert(holders).values(
                id=manifest.id,
                manifest=manifest.model_dump(mode="json"),
                client_id=client_id,
                client_secret_enc=client_secret_enc,
                created_at=now,
            )
        )

    async def get(self, holder_id: str) -> HolderRecord | None:
        row = (await self._conn.execute(select(holders).where(holders.c.id == holder_id))).first()
        if row is None:
            return None
        return HolderRecord(
            manifest=HolderManifest.model_validate(row.manifest),
            client_id=row.client_id,
            client_secret_enc=row.client_secret_enc,
        )

    async def list(self) -> list[HolderManifest]:
        rows = await self._conn.execute(select(holders.c.manifest).order_by(holders.c.id))
        return [HolderManifest.model_validate(r.manifest) for r in rows]
