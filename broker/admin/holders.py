"""Replacing a registered holder's manifest: ``PUT /v1/holders/{holder}`` (operator) and
``aiguillage holders update FILE``, through the same code.

The body is the registration file of ``POST /v1/holders`` (``broker.operator``), checked the
same way; the broker's client id and secret at the holder and the webhook secret may be left
out, and are then kept. The manifest's ``id`` must be the one in the path: an update never
renames a holder (consents, quotas and staff accounts hang on the id).

A resource dropped from the manifest stops being served at once, consents that named it
included: the data plane looks the resource up in the manifest on every request
(``broker/data/admission.py``), and the update invalidates every instance's cached copy of
the holder and its adapter (``broker/holder_cache.py``).
Holder registration is not a ledger event (the ledger is about residents' consents), so
neither is its update; it is logged.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.admin.requests import invalid, json_object, require_operator
from broker.crypto import SecretBox
from broker.holder_cache import invalidate_holder
from broker.holders import ADAPTERS
from broker.http.problems import Problem
from broker.keys import ENGINE, SECRET_BOX
from broker.operator import SpokenManifest
from broker.storage.holder_side import SqlHolderSide
from broker.storage.tables import holders
from broker.storage.uow import SqlUnitOfWork
from consent.registry import HolderManifest

log = structlog.get_logger(__name__)


class HolderUpdateFile(BaseModel):
    """What ``PUT /v1/holders/{holder}`` and ``aiguillage holders update`` take."""

    model_config = ConfigDict(extra="forbid")

    manifest: SpokenManifest
    client_id: str | None = Field(default=None, min_length=1, max_length=255)
    client_secret: SecretStr | None = None
    webhook_secret: SecretStr | None = Field(default=None, min_length=32, max_length=256)


class UnknownHolder(Exception):
    pass


class HolderIdMismatch(Exception):
    pass


def parse_update(holder_id: str, payload: dict[str, Any]) -> HolderUpdateFile:
    """The update file, or ValidationError; HolderIdMismatch if it names another holder."""
    parsed = HolderUpdateFile.model_validate(payload)
    if parsed.manifest.id != holder_id:
        raise HolderIdMismatch(f"manifest.id must be {holder_id!r}, the holder being updated")
    return parsed


async def update_holder(
    engine: AsyncEngine, box: SecretBox, holder_id: str, payload: dict[str, Any]
) -> HolderManifest:
    """Replace the holder's manifest (and, when given, the broker's credentials there)."""
    parsed = parse_update(holder_id, payload)
    values: dict[str, Any] = {"manifest": parsed.manifest.model_dump(mode="json")}
    if parsed.client_id is not None:
        values["client_id"] = parsed.client_id
    if parsed.client_secret is not None:
        values["client_secret_enc"] = box.seal(
            {"client_secret": parsed.client_secret.get_secret_value()},
            bound_to=f"holder:{holder_id}",
        )
    async with SqlUnitOfWork(engine) as uow:
        result = await uow.conn.execute(
            update(holders).where(holders.c.id == holder_id).values(**values)
        )
        if result.rowcount != 1:
            raise UnknownHolder(holder_id)
        # Every instance drops its cached record and adapter once this commits.
        await invalidate_holder(uow.conn, holder_id)
        if parsed.webhook_secret is not None:
            webhook = box.seal(
                {"secret": parsed.webhook_secret.get_secret_value()},
                bound_to=f"holder-webhook:{holder_id}",
            )
            await SqlHolderSide(uow.conn).set_webhook_secret(holder_id, webhook)
        await uow.commit()
    log.info(
        "holder.updated",
        holder=holder_id,
        resources=[r.name for r in parsed.manifest.resources],
    )
    return parsed.manifest


async def put_holder(request: web.Request) -> web.Response:
    """Replace a holder's manifest: 200 with the new manifest, 404 for an unknown holder,
    422 (``invalid_manifest``, naming the faulty field) for an invalid one."""
    require_operator(request)
    holder_id = request.match_info["holder"][:64]
    body = await json_object(request)
    try:
        manifest = await update_holder(
            request.app[ENGINE], request.app[SECRET_BOX], holder_id, body
        )
    except ValidationError as error:
        raise invalid(error, "invalid_manifest") from None
    except HolderIdMismatch as error:
        field = "manifest.id"
        message = str(error)
        raise Problem(
            422,
            "invalid_manifest",
            f"{field}: {message}",
            field=field,
            errors=[{"field": field, "message": message}],
        ) from None
    except UnknownHolder:
        raise Problem(404, "not_found", "no such holder") from None
    # This instance's adapter was built from the old manifest (paths, URLs): rebuild it.
    request.app[ADAPTERS].pop(holder_id, None)
    return web.json_response(manifest.model_dump(mode="json"))
