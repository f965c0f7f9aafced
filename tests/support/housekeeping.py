"""Rows the housekeeping purge must delete (expired past the grace) and rows it must keep,
written straight into a migrated database, and a count of what is left of each kind."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.tables import (
    auth_codes,
    authorizations,
    client_assertions,
    login_attempts,
    par_requests,
    transfer_counters,
)

GRACE = timedelta(days=1)


def _par(par_id: str, expires_at: datetime) -> dict[str, object]:
    return {
        "id": par_id,
        "client_id": "carbon-coach",
        "redirect_uri": "http://127.0.0.1:9/cb",
        "code_challenge": "x" * 43,
        "authorization_details": [],
        "expires_at": expires_at,
    }


def _code(code_hash: str, expires_at: datetime) -> dict[str, object]:
    return {
        "code_hash": code_hash,
        "client_id": "carbon-coach",
        "consent_id": "grant-1",
        "redirect_uri": "http://127.0.0.1:9/cb",
        "code_challenge": "x" * 43,
        "expires_at": expires_at,
    }


def _counter(window: str) -> dict[str, object]:
    return {"holder": "enedis", "service": "carbon-coach", "window": window, "count": 1, "bytes": 0}


async def write_rows(engine: AsyncEngine, now: datetime) -> None:
    """Per table, ``stale*`` rows expired more than the grace ago and ``live*`` ones not."""
    old, recent = now - GRACE - timedelta(hours=1), now - timedelta(minutes=5)
    old_epoch, now_epoch = int(old.timestamp()), int(now.timestamp())
    async with engine.begin() as conn:
        await conn.execute(
            insert(par_requests),
            [_par("stale-par", old), _par("stale-par-of-live-auth", old), _par("live-par", now)],
        )
        await conn.execute(
            insert(authorizations),
            [
                {"id": "stale-auth", "par_id": "stale-par", "client_id": "carbon-coach",
                 "status": "done", "expires_at": old},
                {"id": "live-auth", "par_id": "stale-par-of-live-auth",
                 "client_id": "carbon-coach", "status": "pending",
                 "expires_at": now + timedelta(minutes=10)},
            ],
        )  # fmt: skip
        await conn.execute(
            insert(auth_codes), [_code("stale-code", old), _code("live-code", recent)]
        )
        await conn.execute(
            insert(client_assertions),
            [
                {"client_id": "carbon-coach", "jti": "stale-jti", "expires_at": old},
                {"client_id": "carbon-coach", "jti": "live-jti", "expires_at": recent},
            ],
        )
        await conn.execute(
            insert(login_attempts),
            [{"login": "x@example.fr", "at": old}, {"login": "y", "at": now}],
        )
        await conn.execute(
            insert(transfer_counters),
            [
                _counter(f"s:{old_epoch}"),
                _counter(f"h:{old_epoch - old_epoch % 3600}"),
                _counter(f"s:{now_epoch}"),
                _counter(f"h:{now_epoch - now_epoch % 3600}"),
                _counter(f"d:{old.date().isoformat()}"),  # daily volumes are kept
            ],
        )


async def remaining(engine: AsyncEngine) -> dict[str, list[str]]:
    """What is left, by table, as sorted keys."""
    keyed = {
        "par_requests": par_requests.c.id,
        "authorizations": authorizations.c.id,
        "auth_codes": auth_codes.c.code_hash,
        "client_assertions": client_assertions.c.jti,
        "login_attempts": login_attempts.c.login,
        "transfer_counters": func.substr(transfer_counters.c.window, 1, 1),
    }
    async with engine.connect() as conn:
        return {
            name: sorted(str(v) for v in (await conn.execute(select(column))).scalars())
            for name, column in keyed.items()
        }


KEPT = {
    "par_requests": ["live-par", "stale-par-of-live-auth"],
    "authorizations": ["live-auth"],
    "auth_codes": ["live-code"],
    "client_assertions": ["live-jti"],
    "login_attempts": ["y"],
    "transfer_counters": ["d", "h", "s"],
}
