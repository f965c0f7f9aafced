"""Admitting a data request: token, holder, resource, range, consent, contract quota.

All of it happens in one unit of work that is closed before the holder is called (SQLite
has one connection per process: a transfer must never hold it while it streams). Every
refusal that concerns a known grant is written to the ledger before it is raised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import NoReturn

from aiohttp import web

from broker.crypto import hash_token
from broker.data.request import DateRange, invalid_token, parse_range
from broker.holder_cache import CachedHolder, holder_cache
from broker.holders import open_consent_credential
from broker.http.problems import Problem
from broker.keys import CLOCK, ENGINE
from broker.quota import ContractLimitReached, take_request
from broker.storage.registry import HolderRecord
from broker.storage.tokens import TokenRecord
from broker.storage.uow import SqlUnitOfWork
from consent.errors import InvalidRange, QuotaExceeded, TransferDenied
from consent.model import Consent
from consent.registry import ResourceSpec
from consent.usecases import authorize_transfer, record_denial, record_transfer


@dataclass(frozen=True)
class Ticket:
    """A request that may go to the holder, with what is needed to make it."""

    consent: Consent
    holder: HolderRecord
    spec: ResourceSpec
    credential: dict[str, str]
    start: date | None
    end: date | None


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
    async with SqlUnitOfWork(app[ENGINE], app[CLOCK]) as uow:
        now = uow.now
        # The token, its grant and the grant's sealed holder credential in one statement
        # (one trip to the driver on SQLite); the policy check below uses this very read.
        found = await uow.tokens.find_for_transfer(hash_token(token))
        grant = _live(None if found is None else found[0], now)
        # The holder comes from the per-app cache (broker.holder_cache); the token above and
        # the consent below are read from the database on every request, never cached.
        cached = await holder_cache(app).get(uow.conn, holder_id)
        spec = cached.record.manifest.resource(resource) if cached is not None else None
        if cached is None or spec is None:
            raise Problem(
                404, "not_found", f"no resource {resource[:64]!r} at holder {holder_id[:64]!r}"
            )
        holder = cached.record
        consent = _check_grant(grant, None if found is None else found[1])
        dates = await _check_policy(request, uow, consent, cached, spec, now)
        await _take_quota(uow, consent, holder, resource, now)
        sealed = None if found is None else found[2]
        if sealed is None:
            await _no_credential(uow, consent, resource, dates.start, dates.end, now)
        # Only the contract counters were written: they need not wait for the disk (the
        # transfer's ledger entry, written after it, is committed durably). On SQLite they
        # are committed already (``take_pair``), and this sends nothing.
        await uow.commit(durable=False)
    credential = open_consent_credential(app, consent.id, sealed)
    return Ticket(consent, holder, spec, credential, dates.start, dates.end)


async def _check_policy(
    request: web.Request,
    uow: SqlUnitOfWork,
    consent: Consent,
    holder: CachedHolder,
    spec: ResourceSpec,
    now: datetime,
) -> DateRange:
    try:
        dates = parse_range(request, spec.dated)
    except InvalidRange as denial:
        await record_denial(uow, consent, resource=spec.name, reason=denial.reason, now=now)
        raise denied(denial, consent.id) from None
    try:
        await authorize_transfer(
            uow,
            consent_id=consent.id,
            holder=holder.record.manifest.id,
            resource=spec.name,
            start=dates.start,
            end=dates.end,
            now=now,
            blocked_services=holder.blocked,
            consent=consent,
        )
    except TransferDenied as denial:  # authorize_transfer has put it in the ledger
        raise denied(denial, consent.id) from None
    return dates


async def _take_quota(
    uow: SqlUnitOfWork, consent: Consent, holder: HolderRecord, resource: str, now: datetime
) -> None:
    try:
        await take_request(
            uow.conn,
            holder=holder.manifest.id,
            service=consent.service,
            terms=holder.manifest.contract,
            now=now,
            durable=False,  # see admit: the counters need not wait for the disk
        )
    except QuotaExceeded as denial:
        await record_denial(uow, consent, resource=resource, reason=denial.reason, now=now)
        raise denied(denial, consent.id) from None


async def _no_credential(
    uow: SqlUnitOfWork,
    consent: Consent,
    resource: str,
    start: date | None,
    end: date | None,
    now: datetime,
) -> NoReturn:
    # An active consent always has one; if it is gone, the holder cannot be asked.
    await record_transfer(
        uow,
        consent,
        resource=resource,
        start=start,
        end=end,
        outcome="no_holder_credential",
        bytes_sent=0,
        records=None,
        now=now,
    )
    raise Problem(
        502, "holder_unavailable", "no holder credential for this grant", grant_id=consent.id
    )
