"""What the operator does: register holders and services, approve services, create
resident accounts. Used by the CLI, the demo and the tests, all through the same code.
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.crypto import SecretBox, hash_token
from broker.storage.residents import Resident
from broker.storage.uow import SqlUnitOfWork
from consent.registry import HolderManifest, ServiceRegistration, ServiceStatus


class HolderRegistrationFile(BaseModel):
    """The JSON an operator feeds to ``aiguillage holders add``."""

    model_config = ConfigDict(extra="forbid")

    manifest: HolderManifest
    client_id: str = Field(min_length=1, max_length=255)  # the broker's client at the holder
    client_secret: SecretStr


class ServiceRegistrationFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registration: ServiceRegistration
    # Optional: without one, the broker mints a secret and prints it once.
    client_secret: SecretStr | None = None


async def register_holder(
    engine: AsyncEngine, box: SecretBox, payload: dict[str, Any]
) -> HolderManifest:
    parsed = HolderRegistrationFile.model_validate(payload)
    sealed = box.seal(
        {"client_secret": parsed.client_secret.get_secret_value()},
        bound_to=f"holder:{parsed.manifest.id}",
    )
    async with SqlUnitOfWork(engine) as uow:
        await uow.holders.add(parsed.manifest, parsed.client_id, sealed, uow.now)
        await uow.commit()
    return parsed.manifest


async def register_service(
    engine: AsyncEngine, payload: dict[str, Any], *, approve: bool = False
) -> tuple[ServiceRegistration, str | None]:
    """Register a service; return it and its client secret (None when it uses a JWKS only).

    Client secrets are 256-bit random values: SHA-256 is a sound way to store them and
    keeps client authentication cheap on the token endpoint's hot path.
    """
    parsed = ServiceRegistrationFile.model_validate(payload)
    registration = parsed.registration
    if approve:
        registration = registration.model_copy(update={"status": ServiceStatus.APPROVED})
    secret: str | None = None
    if parsed.client_secret is not None:
        secret = parsed.client_secret.get_secret_value()
    elif registration.jwks is None:
        secret = secrets.token_urlsafe(32)
    async with SqlUnitOfWork(engine) as uow:
        await uow.services.add(registration, hash_token(secret) if secret else None, uow.now)
        await uow.commit()
    return registration, secret


async def approve_service(engine: AsyncEngine, client_id: str) -> bool:
    async with SqlUnitOfWork(engine) as uow:
        changed = await uow.services.set_status(client_id, ServiceStatus.APPROVED)
        await uow.commit()
    return changed


async def add_resident(
    engine: AsyncEngine, *, login: str, password: str, display_name: str
) -> Resident:
    async with SqlUnitOfWork(engine) as uow:
        resident = await uow.residents.add(
            login=login.strip().lower(),
            password=password,
            display_name=display_name,
            now=uow.now,
        )
        await uow.commit()
    return resident
