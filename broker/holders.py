"""Access to holders: the adapter for a registered holder, the per-consent holder
credential sealed at rest, and the keyed index of holder subjects.

Adapters are kept per holder for the life of the app, because each one caches its own
access token at the holder (Enedis tokens live 3.5 hours) and reuses the app's one HTTP
client session.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from broker.crypto import SecretBox
from broker.keys import CLOCK, ENGINE, HTTP, SECRET_BOX, SETTINGS
from broker.storage.holder_side import SqlHolderSide
from broker.storage.registry import HolderRecord
from broker.storage.uow import SqlUnitOfWork
from providers.base import CredentialSink, HolderAdapter, HolderLink
from providers.registry import build_adapter

ADAPTERS: web.AppKey[dict[str, HolderAdapter]] = web.AppKey("holder_adapters")


def holder_callback_path(holder_id: str) -> str:
    return f"/holders/{holder_id}/callback"


def adapter_for(app: web.Application, record: HolderRecord) -> HolderAdapter:
    cache = app[ADAPTERS]
    manifest = record.manifest
    adapter = cache.get(manifest.id)
    if adapter is None:
        secret = app[SECRET_BOX].open(record.client_secret_enc, bound_to=f"holder:{manifest.id}")
        revocation = manifest.revocation_endpoint
        adapter = build_adapter(
            manifest.protocol,
            base_url=str(manifest.base_url).rstrip("/"),
            authorize_url=str(manifest.authorization_endpoint),
            token_url=str(manifest.token_endpoint),
            client_id=record.client_id,
            client_secret=secret["client_secret"],
            resources={r.name: r.path for r in manifest.resources},
            session=app[HTTP],
            specs=manifest.resources,
            revocation_url=str(revocation) if revocation is not None else None,
            # The session's timeout is built from AIGUILLAGE_HOLDER_TIMEOUT; adapters send
            # a per-call timeout, which would otherwise override it with their default.
            timeout=app[HTTP].timeout,
        )
        cache[manifest.id] = adapter
    return adapter


def seal_holder_secret(app: web.Application, holder_id: str, client_secret: str) -> str:
    return app[SECRET_BOX].seal({"client_secret": client_secret}, bound_to=f"holder:{holder_id}")


def seal_consent_credential(
    app: web.Application, consent_id: str, credential: dict[str, str]
) -> str:
    return app[SECRET_BOX].seal(credential, bound_to=f"consent:{consent_id}")


def open_consent_credential(app: web.Application, consent_id: str, sealed: str) -> dict[str, str]:
    return app[SECRET_BOX].open(sealed, bound_to=f"consent:{consent_id}")


def subject_keys(encryption_keys: list[bytes], holder_id: str, holder_subject: str) -> list[str]:
    """HMAC-SHA256 of ``holder:subject`` under each configured encryption key, newest first.

    A keyed hash, not a plain one: PRMs and PCEs are 14 digits, so an unkeyed hash of one
    is reversed by trying them all. Looking up with the old keys too keeps consents linked
    before a key rotation findable.
    """
    message = f"{holder_id}:{holder_subject}".encode()
    return [
        hmac.new(
            hashlib.sha256(b"aiguillage-subject-index" + key).digest(), message, "sha256"
        ).hexdigest()
        for key in encryption_keys
    ]


def app_subject_keys(app: web.Application, holder_id: str, holder_subject: str) -> list[str]:
    settings = app[SETTINGS]
    keys = [settings.encryption_key_bytes()]
    keys += [SecretBox.decode_key(k.get_secret_value()) for k in settings.old_encryption_keys]
    return subject_keys(keys, holder_id, holder_subject)


async def store_link(
    app: web.Application, uow: SqlUnitOfWork, consent_id: str, holder_id: str, link: HolderLink
) -> None:
    """Seal the link's credential on the consent and index its subject, in ``uow``."""
    sealed = seal_consent_credential(app, consent_id, link.credential)
    await uow.consents.set_holder_credential(consent_id, sealed)
    key = app_subject_keys(app, holder_id, link.holder_subject)[0]
    await SqlHolderSide(uow.conn).set_subject_key(consent_id, key)


def credential_sink(app: web.Application, consent_id: str) -> CredentialSink:
    """Where an adapter hands a renewed credential: sealed and stored in its own transaction
    at once, so a rotated refresh token survives whatever happens to the transfer."""

    async def save(credential: dict[str, str]) -> None:
        sealed = seal_consent_credential(app, consent_id, credential)
        async with SqlUnitOfWork(app[ENGINE], app[CLOCK]) as uow:
            await uow.consents.set_holder_credential(consent_id, sealed)
            await uow.commit()

    return save
