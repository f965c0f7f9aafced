"""What the operator does: register holders and services, approve services, create
resident accounts. Used by the CLI, the demo and the tests, all through the same code.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.crypto import SecretBox, hash_token
from broker.holder_cache import invalidate_holder
from broker.storage.holder_side import SqlHolderSide
from broker.storage.residents import RESIDENT_ID_PREFIX, Resident
from broker.storage.uow import SqlUnitOfWork
from consent.registry import HolderManifest, ServiceRegistration, ServiceStatus
from providers.registry import PROTOCOLS


def _known_protocol(value: HolderManifest) -> HolderManifest:
    if value.protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}")
    return value


# A manifest whose protocol an adapter speaks (the JSON Schema alone cannot say which).
SpokenManifest = Annotated[HolderManifest, AfterValidator(_known_protocol)]


class HolderRegistrationFile(BaseModel):
    """The JSON an operator feeds to ``aiguillage holders add``."""

    model_config = ConfigDict(extra="forbid")

    manifest: SpokenManifest
    client_id: str = Field(min_length=1, max_length=255)  # the broker's client at the holder
    client_secret: SecretStr
    # The shared secret the holder signs its revocation notices with (providers/notices.py).
    webhook_secret: SecretStr | None = Field(default=None, min_length=32, max_length=256)


class ServiceRegistrationFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registration: ServiceRegistration
    # Optional: without one, the broker mints a secret and prints it once.
    client_secret: SecretStr | None = None

    @field_validator("registration")
    @classmethod
    def _not_a_resident_id(cls, value: ServiceRegistration) -> ServiceRegistration:
        # RFC 9700 §4.15: a client id that could equal a resident's subject would let a
        # service pass for a resident wherever ``sub`` and ``client_id`` meet. Checked
        # here so that the CLI and the admin API both refuse it as invalid input.
        if value.client_id.lower().startswith(RESIDENT_ID_PREFIX):
            raise ValueError(f"client_id may not start with {RESIDENT_ID_PREFIX!r} (residents')")
        return value


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
        await invalidate_holder(uow.conn, parsed.manifest.id)  # every instance's cache (#6)
        if parsed.webhook_secret is not None:
            webhook = box.seal(
                {"secret": parsed.webhook_secret.get_secret_value()},
                bound_to=f"holder-webhook:{parsed.manifest.id}",
            )
            await SqlHolderSide(uow.conn).set_webhook_secret(parsed.manifest.id, webhook)
        await uow.commit()
    return parsed.manifest


async def register_service(
    engine: AsyncEngine,
    payload: dict[str, Any],
    *,
    approve: bool = False,
    force_pending: bool = False,
) -> tuple[ServiceRegistration, str | None]:
    """Register a service; return it and its client secret (None when it uses a JWKS only).

    Client secrets are 256-bit random values: SHA-256 is a sound way to store them and
    keeps client authentication cheap on the token endpoint's hot path.
    """
    parsed = ServiceRegistrationFile.model_validate(payload)
    registration = parsed.registration
    if approve:
        registration = registration.model_copy(update={"status": ServiceStatus.APPROVED})
    elif force_pending:
        # Through the API a service always starts pending, whatever its file says.
        registration = registration.model_copy(update={"status": ServiceStatus.PENDING})
    secret: str | None = None
    if parsed.client_secret is not None:
        secret = parsed.client_secret.get_secret_value()
    elif registration.jwks is None and registration.jwks_uri is None:
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
