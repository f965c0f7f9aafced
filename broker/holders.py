"""Access to holders: the adapter for a registered holder, and the per-consent holder
credential sealed at rest.

Adapters are kept per holder for the life of the app, because each one caches its own
access token at the holder (Enedis tokens live 3.5 hours) and reuses the app's one HTTP
client session.
"""

from __future__ import annotations

from aiohttp import web

from broker.keys import HTTP, SECRET_BOX
from broker.storage.registry import HolderRecord
from providers.base import HolderAdapter
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
        adapter = build_adapter(
            manifest.protocol,
            base_url=str(manifest.base_url).rstrip("/"),
            authorize_url=str(manifest.authorization_endpoint),
            token_url=str(manifest.token_endpoint),
            client_id=record.client_id,
            client_secret=secret["client_secret"],
            resources={r.name: r.path for r in manifest.resources},
            session=app[HTTP],
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
