"""Job handlers for the effects a consent change left in the outbox (``outbox.py``).

* ``service.notify``: sign the Security Event Token and push it to the service's
  registered ``notification_endpoint`` (RFC 8935 §2). 202 (or 200) means acknowledged;
  anything else, or no answer, raises, and ``broker/jobs.py`` retries with backoff. The
  ``jti`` stays the same across attempts, so the service can drop duplicates.
* ``holder.revoke``: ask the holder to revoke the broker's credential for the consent,
  where the holder's protocol offers that (``HolderAdapter.revoke``). The consent is
  already over here; this only closes the holder side too. The sealed credential in its
  payload is a ``secret_field``: once the job is done or given up it is dropped.

Logs name the grant, the service or holder and the outcome; never a token, a credential
or a notice body.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import structlog
from aiohttp import web

from broker.holders import adapter_for, open_consent_credential
from broker.jobs import register
from broker.keys import CLOCK, HTTP, SETTINGS, SIGNER
from broker.notices.outbox import CREDENTIAL, NOTIFY_SERVICE, REVOKE_AT_HOLDER
from broker.notices.security_event import SET_CONTENT_TYPE, SET_TYP, security_event
from broker.unit import unit_of_work
from consent.notices import ServiceNotice
from providers.base import HolderError

log = structlog.get_logger(__name__)

ACKNOWLEDGED = (200, 202)
PUSH_TIMEOUT = aiohttp.ClientTimeout(total=10)


class NoticeNotAcknowledged(Exception):
    """The service did not acknowledge the notice; the job is retried later."""


async def deliver_notice(app: web.Application, payload: dict[str, Any]) -> None:
    notice = ServiceNotice.model_validate(payload)
    async with unit_of_work(app) as uow:
        record = await uow.services.get(notice.client_id)
    endpoint = record.registration.notification_endpoint if record is not None else None
    if endpoint is None:
        log.info("notice.no_endpoint", client_id=notice.client_id, grant_id=notice.grant_id)
        return
    claims = security_event(notice, issuer=app[SETTINGS].issuer, now=app[CLOCK]())
    token = app[SIGNER].sign(claims, typ=SET_TYP)
    headers = {"Content-Type": SET_CONTENT_TYPE, "Accept": "application/json"}
    try:
        async with app[HTTP].post(
            str(endpoint), data=token, headers=headers, timeout=PUSH_TIMEOUT, allow_redirects=False
        ) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as error:
        raise NoticeNotAcknowledged(f"unreachable: {type(error).__name__}") from None
    log.info(
        "notice.pushed",
        client_id=notice.client_id,
        grant_id=notice.grant_id,
        jti=notice.jti,
        notice_event=notice.event.value,
        status=status,
    )
    if status not in ACKNOWLEDGED:
        raise NoticeNotAcknowledged(f"notification endpoint answered {status}")


async def revoke_at_holder(app: web.Application, payload: dict[str, Any]) -> None:
    grant_id, holder_id = str(payload["grant_id"]), str(payload["holder"])
    async with unit_of_work(app) as uow:
        holder = await uow.holders.get(holder_id)
    if holder is None:
        log.info("holder.revoke_skipped", grant_id=grant_id, holder=holder_id)
        return
    sealed = payload.get(CREDENTIAL)
    if not isinstance(sealed, str):  # already shed: this job has nothing left to do
        log.info("holder.revoke_skipped", grant_id=grant_id, holder=holder_id)
        return
    credential = open_consent_credential(app, grant_id, sealed)
    try:
        done = await adapter_for(app, holder).revoke(credential=credential)
    except HolderError as error:
        if error.retry_after is not None:
            raise  # the holder asked us to come back later
        # A definite refusal (e.g. already revoked there): retrying would change nothing.
        log.warning("holder.revoke_refused", grant_id=grant_id, holder=holder_id, code=error.code)
        return
    log.info("holder.revoke", grant_id=grant_id, holder=holder_id, done=done)


def setup(app: web.Application) -> None:
    register(app, NOTIFY_SERVICE, deliver_notice)
    register(app, REVOKE_AT_HOLDER, revoke_at_holder, secret_fields=(CREDENTIAL,))
