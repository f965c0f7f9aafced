"""Admitting a data request: token, holder, resource, range, consent, contract quota.

No unit of work on the way in: one read (token, grant and sealed credential), the checks
in memory, then one statement that takes the contract counters (on SQLite, with the
transfer's opening, ``broker.data.open_transfers``) and commits on its own.
A refusal that concerns a known grant is written to the ledger, in a unit of work of its
own, before it is raised. Nothing is held while the holder is called (SQLite has one
writer connection per process: a transfer must never hold it while it streams).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import NoReturn

from aiohttp import web

from broker.crypto import hash_token
from broker.data.appender import LEDGER_APPENDER
from broker.data.open_transfers import Opening
from broker.data.request import DateRange, invalid_token, parse_range
from broker.holder_cache import CachedHolder, holder_cache
from broker.holders import open_consent_credential
from broker.http.problems import Problem
from broker.keys import CLOCK, ENGINE
from broker.quota import (
    ContractLimitReached,
    day_window,
    take_request,
    take_request_on_writer,
)
from broker.storage.engine import wal_sync
from broker.storage.registry import HolderRecord
from broker.storage.tokens import TokenRecord, read_for_transfer
from broker.storage.uow import SqlUnitOfWork
from consent.errors import QuotaExceeded, TransferDenied
from consent.model import Consent
from consent.policy import check_transfer
from consent.registry import ResourceSpec
from consent.usecases import record_denial, record_transfer


@dataclass(frozen=True)
class Ticket:
    """A request that may go to the holder, with what is needed to make it.

    ``opening``: the id of its row in ``open_transfers`` (``broker.data.open_transfers``),
    and ``synced`` turns True once that row is durable (False if the sync failed); both
    None where transfers are not opened (PostgreSQL, an in-memory SQLite)."""

    consent: Consent
    holder: HolderRecord
    spec: ResourceSpec
    credential: dict[str, str]
    start: date | None
    end: date | None
    opening: str | None = None
    synced: asyncio.Future[bool] | None = None


def denied(denial: TransferDenied, grant_id: str) -> Problem:
    """The wire form of a policy refusal (docs/wire.md, "Data plane")."""
    headers = {}
    extra: dict[str, str] = {}
    if isinstance(denial, QuotaExceeded):
        headers["Retry-After"] = str(max(1, math.ceil(denial.retry_after)))
    if isinstance(denial, ContractLimitReached):
        extra["limit"] = denial.limit
    return Problem(
        denial.status_hint,
        denial.reason,
        denial.detail,
        headers=headers,
        grant_id=grant_id,
        **extra,
    )


def _live(token: TokenRecord | None, now: datetime) -> TokenRecord:
    if token is None or token.kind != "access" or token.rotated_at is not None:
        raise invalid_token("the access token is unknown, expired or revoked")
    if token.expires_at is not None and now >= token.expires_at:
        raise invalid_token("the access token is unknown, expired or revoked")
    return token


def _check_grant(token: TokenRecord, consent: Consent | None) -> Consent:
    """The token's grant. A token revoked because its grant ended gets the grant's reason
    (``consent_revoked``...) from the policy check, so the service learns that asking for
    a new token is pointless; a token revoked on its own is just ``invalid_token``."""
    if consent is None or consent.service != token.client_id:
        raise invalid_token("the access token names no grant of its client")
    # A live grant (active or paused) whose token was revoked: the token is what is wrong,
    # not the grant, so the service must not be told ``consent_paused``.
    if token.revoked_at is not None and consent.state.is_live:
        raise invalid_token("the access token is unknown, expired or revoked")
    return consent


async def admit(request: web.Request, holder_id: str, resource: str, token: str) -> Ticket:
    app = request.app
    engine = app[ENGINE]
    now = app[CLOCK]()
    # The token, its grant and the grant's sealed holder credential in one statement, read
    # fresh on every request, never cached (on SQLite on the event loop's own connection,
    # not the writer's); the policy check below uses this very read.
    found = await read_for_transfer(engine, hash_token(token))
    grant = _live(None if found is None else found[0], now)
    cached = await _holder(app, holder_id)
    spec = cached.record.manifest.resource(resource) if cached is not None else None
    if cached is None or spec is None:
        raise Problem(
            404, "not_found", f"no resource {resource[:64]!r} at holder {holder_id[:64]!r}"
        )
    holder = cached.record
    consent = _check_grant(grant, None if found is None else found[1])
    try:
        dates = parse_range(request, spec.dated)
        check_transfer(
            consent,
            holder=holder.manifest.id,
            resource=spec.name,
            start=dates.start,
            end=dates.end,
            now=now,
            blocked_services=cached.blocked,
        )
    except TransferDenied as denial:
        await _refuse(app, consent, spec.name, denial, now)
    sealed = None if found is None else found[2]
    if sealed is None:
        await _no_credential(app, consent, resource, dates, now)
    # The credential is unsealed before the counters are taken, so that nothing can fail
    # after them: from there on the transfer is open, and only the relay closes it.
    credential = open_consent_credential(app, consent.id, sealed)
    sync = wal_sync(engine)
    opening = None
    if sync is not None:
        opening = Opening.new(consent.id, spec.name, dates.start, dates.end, now)
    try:
        await _take_counters(app, holder, consent, now, opening)
    except QuotaExceeded as denial:
        await _refuse(app, consent, resource, denial, now)
    if opening is None or sync is None:
        return Ticket(consent, holder, spec, credential, dates.start, dates.end)
    return Ticket(
        consent, holder, spec, credential, dates.start, dates.end, opening.id, sync.request()
    )


async def _take_counters(
    app: web.Application,
    holder: HolderRecord,
    consent: Consent,
    now: datetime,
    opening: Opening | None,
) -> None:
    """The contract counters (and, on SQLite, the transfer's opening) in one statement
    that commits at once without waiting for the disk, no unit of work; ``QuotaExceeded``
    if the contract refuses. The counters may be lost in a power cut; the opening is
    synced while the holder answers, before the answer is finished (``broker.data.relay``)."""
    engine = app[ENGINE]
    holder_id, terms = holder.manifest.id, holder.manifest.contract
    if engine.dialect.name != "sqlite":
        async with engine.connect() as conn:
            await take_request(
                conn, holder=holder_id, service=consent.service, terms=terms, now=now, durable=False
            )
        return
    appender = app[LEDGER_APPENDER]
    await take_request_on_writer(
        engine,
        holder=holder_id,
        service=consent.service,
        terms=terms,
        now=now,
        also=None if opening is None else opening.written_if_counted(),
        unwritten=appender.unwritten_bytes(holder_id, consent.service, day_window(now)[0]),
    )
    appender.writer_used()  # entries held for this admission may take the writer now


async def _holder(app: web.Application, holder_id: str) -> CachedHolder | None:
    """The holder from the per-app cache (``broker.holder_cache``); read on the writer's
    connection when it is not there, as every cache fill is (its invalidation follows
    the writer's commits)."""
    cache = holder_cache(app)
    hit = cache.fresh(holder_id)
    if hit is not None:
        return hit
    async with app[ENGINE].connect() as conn:
        return await cache.get(conn, holder_id)


async def _refuse(
    app: web.Application, consent: Consent, resource: str, denial: TransferDenied, now: datetime
) -> NoReturn:
    """Put the refusal on record, then raise its answer. The unit of work is opened only
    here, after the admission's own connection is given back (on SQLite a unit of work
    inside another would wait for itself)."""
    async with SqlUnitOfWork(app[ENGINE], app[CLOCK]) as uow:
        await record_denial(uow, consent, resource=resource, reason=denial.reason, now=now)
    raise denied(denial, consent.id) from None


async def _no_credential(
    app: web.Application, consent: Consent, resource: str, dates: DateRange, now: datetime
) -> NoReturn:
    # An active consent always has one; if it is gone, the holder cannot be asked.
    async with SqlUnitOfWork(app[ENGINE], app[CLOCK]) as uow:
        await record_transfer(
            uow,
            consent,
            resource=resource,
            start=dates.start,
            end=dates.end,
            outcome="no_holder_credential",
            bytes_sent=0,
            records=None,
            now=now,
        )
    raise Problem(
        502, "holder_unavailable", "no holder credential for this grant", grant_id=consent.id
    )
