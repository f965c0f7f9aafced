"""``POST /v1/consents/{grant_id}/revoke``: the operator ends a consent (a court order, a
service found abusing its access, a holder's request made by letter), with a reason.

It goes through the one revocation path, ``consent.usecases.revoke``, with an operator
``Actor``: every token of the grant dies in the same transaction, the holder is asked to
revoke the broker's credential and the service gets its signed notice (both as outbox
jobs), and the ledger records ``operator:<who>`` and the reason. The consent ends as
``revoked_by_holder`` (the operator acts for the holder's side or the law, never in the
resident's name). ``aiguillage consents revoke`` (``broker/cli_consents.py``) is the
same call from a shell.

Answers: 200 with the ended consent; 404 for an unknown id; 409 for a consent that is
not live (already ended, or never accepted); 401 without the operator token; 400/415/422
for a bad body (``{"reason": "…"}``, 1 to 300 printable characters).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.admin.requests import invalid, json_object, require_operator
from broker.http.problems import Problem
from broker.keys import CLOCK, ENGINE
from broker.storage.uow import SqlUnitOfWork, utcnow
from consent.errors import ConsentNotFound, IllegalTransition
from consent.model import Actor, Consent
from consent.usecases import revoke

log = structlog.get_logger(__name__)

MAX_REASON = 300
# Printable text only: the reason goes into the ledger and the service's notice.
Reason = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_REASON, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class NotRevocable(Exception):
    """The consent exists but is not live: nothing to revoke (its state says why)."""

    def __init__(self, state: str) -> None:
        super().__init__(f"consent is {state}")
        self.state = state


async def revoke_as_operator(
    engine: AsyncEngine,
    consent_id: str,
    *,
    reason: str,
    operator: str,
    clock: Callable[[], datetime] = utcnow,
) -> Consent:
    """Revoke through the one path with ``Actor(kind="operator", id=operator)``.

    Raises ``ConsentNotFound`` or ``NotRevocable``; commits only when everything succeeded.
    """
    async with SqlUnitOfWork(engine, clock) as uow:
        try:
            return await revoke(
                uow,
                consent_id=consent_id,
                actor=Actor(kind="operator", id=operator),
                reason=reason,
                now=uow.now,
            )
        except IllegalTransition:
            current = await uow.consents.get(consent_id)
            raise NotRevocable(str(current.state) if current else "unknown") from None


def describe(consent: Consent) -> dict[str, Any]:
    return {
        "grant_id": consent.id,
        "state": consent.state.value,
        "ended_by": consent.ended_by,
        "reason": consent.end_reason,
        "ended_at": consent.ended_at.isoformat() if consent.ended_at else None,
    }


async def operator_revoke(request: web.Request) -> web.Response:
    require_operator(request)
    try:
        asked = RevokeRequest.model_validate(await json_object(request))
    except ValidationError as error:
        raise invalid(error, "invalid_request") from None
    consent_id = request.match_info["grant_id"][:64]
    try:
        consent = await revoke_as_operator(
            request.app[ENGINE],
            consent_id,
            reason=asked.reason,
            operator="api",
            clock=request.app[CLOCK],
        )
    except ConsentNotFound:
        raise Problem(404, "not_found", "no consent with this id") from None
    except NotRevocable as error:
        raise Problem(
            409,
            "consent_not_live",
            f"this consent is {error.state}: only a live consent can be revoked",
            state=error.state,
        ) from None
    log.info("operator.revoked", grant_id=consent.id)
    return web.json_response(describe(consent))


def setup(app: web.Application) -> None:
    app.router.add_post("/v1/consents/{grant_id}/revoke", operator_revoke)
