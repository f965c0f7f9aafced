"""Deleting what has stopped mattering: short-lived OAuth state, sessions, rate windows.

Each of these tables only ever grows (one row per PAR, code, client assertion, login
attempt, and per second of traffic in ``transfer_counters``); left alone they would fill a
metropolitan deployment's disk with rows no request can use any more. A row goes once it
has been expired for ``grace``: long enough that a late replay (a code or assertion used
again) still finds its row and is refused as a replay rather than as unknown.

Kept on purpose: the ledger, consents and tokens (the record the resident and auditors
rely on), and the daily ``d:`` counters (one row per holder, service and day, which the
holder's view of volumes reads).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.storage.tables import (
    auth_codes,
    authorizations,
    client_assertions,
    login_attempts,
    par_requests,
    transfer_counters,
    web_sessions,
)

# Epoch seconds keep ten digits until 2286, so the window keys compare as text.
_RATE_WINDOWS = ("s:", "h:")


async def purge_expired(conn: AsyncConnection, now: datetime, grace: timedelta) -> dict[str, int]:
    """Delete the stale rows of every short-lived table; how many went, per table.

    Authorizations go before PAR requests, which they reference.
    """
    cutoff = now - grace
    removed: dict[str, int] = {}
    for table in (authorizations, auth_codes, client_assertions, web_sessions):
        result = await conn.execute(delete(table).where(table.c.expires_at < cutoff))
        removed[table.name] = result.rowcount
    still_referenced = select(authorizations.c.par_id)
    result = await conn.execute(
        delete(par_requests).where(
            par_requests.c.expires_at < cutoff, par_requests.c.id.not_in(still_referenced)
        )
    )
    removed[par_requests.name] = result.rowcount
    result = await conn.execute(delete(login_attempts).where(login_attempts.c.at < cutoff))
    removed[login_attempts.name] = result.rowcount
    removed[transfer_counters.name] = await _purge_rate_windows(conn, cutoff)
    return removed


async def _purge_rate_windows(conn: AsyncConnection, cutoff: datetime) -> int:
    epoch = int(cutoff.timestamp())
    total = 0
    for prefix in _RATE_WINDOWS:
        result = await conn.execute(
            delete(transfer_counters).where(
                transfer_counters.c.window.startswith(prefix, autoescape=True),
                transfer_counters.c.window < f"{prefix}{epoch}",
            )
        )
        total += result.rowcount
    return total
