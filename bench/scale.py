"""Figure 5: the policy check, the resident dashboard and ledger verification at scale
(1 million consents and 10 million ledger entries in PostgreSQL; ``--quick``: 10,000 and
100,000).

* Policy check: a random seeded grant's consent read and checked against a data request
  (``consent.usecases.authorize_transfer``, in the broker's own unit of work), timed in
  this process. A data request's admission reads its grant with its token instead, in one
  statement outside any unit of work (``broker.data.admission``, since round eight); the
  seeded grants have no tokens, so this keeps the read by consent id, the same index
  work. Figure 1 has the whole admission, over HTTP.
* Dashboard: ``GET /`` over HTTP from a broker instance, as random seeded residents
  (sessions opened through the broker's session store).
* Verify: ``broker.ledger_check.check_ledger``, what ``aiguillage ledger verify`` runs.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher

from bench import seed
from bench.load import Run
from bench.postgres import raw_dsn
from bench.stack import Stack, cookie_session
from broker.ledger_check import check_ledger
from broker.storage.engine import make_engine
from broker.storage.uow import SqlUnitOfWork
from broker.web.session import SESSION_COOKIE
from consent.usecases import authorize_transfer


async def _policy_checks(stack: Stack, size: seed.Size, samples: int) -> Run:
    engine = make_engine(stack.database_url)
    rng = random.Random(5)  # noqa: S311 - sampling, not secrecy
    today = datetime.now(UTC).date()
    run = Run()
    try:
        started = time.perf_counter()
        for _ in range(samples):
            cid = seed.consent_id(rng.randrange(size.consents))
            t0 = time.perf_counter()
            async with SqlUnitOfWork(engine) as uow:
                await authorize_transfer(
                    uow,
                    consent_id=cid,
                    holder=seed.HOLDER,
                    resource="daily_consumption",
                    start=today - timedelta(days=30),
                    end=today,
                    now=uow.now,
                )
            run.latencies.append(time.perf_counter() - t0)
        run.elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return run


async def _sessions(stack: Stack, size: seed.Size, count: int) -> list[str]:
    engine = make_engine(stack.database_url)
    rng = random.Random(6)  # noqa: S311
    try:
        async with SqlUnitOfWork(engine) as uow:
            ids = [
                await uow.residents.open_session(
                    seed.resident_id(rng.randrange(size.residents)), uow.now, 3600
                )
                for _ in range(count)
            ]
            await uow.commit()
    finally:
        await engine.dispose()
    return ids


async def _dashboards(stack: Stack, sessions: list[str]) -> Run:
    run = Run()
    async with cookie_session() as http:
        started = time.perf_counter()
        for session_id in sessions:
            t0 = time.perf_counter()
            async with http.get(
                stack.broker.url + "/", headers={"Cookie": f"{SESSION_COOKIE}={session_id}"}
            ) as response:
                await response.read()
            if response.status == 200:
                run.latencies.append(time.perf_counter() - t0)
            else:
                run.failures += 1
        run.elapsed = time.perf_counter() - started
    return run


async def measure(stack: Stack, database: str, size: seed.Size, samples: int) -> dict[str, Any]:
    dsn = raw_dsn(database)
    t0 = time.perf_counter()
    await seed.seed_rows(dsn, size, PasswordHasher().hash("bench-resident"))
    t1 = time.perf_counter()
    await seed.seed_ledger(dsn, size)
    t2 = time.perf_counter()
    policy = await _policy_checks(stack, size, samples)
    dashboards = await _dashboards(stack, await _sessions(stack, size, samples))
    engine = make_engine(stack.database_url)
    try:
        t3 = time.perf_counter()
        report = await check_ledger(engine)
        verify_s = time.perf_counter() - t3
    finally:
        await engine.dispose()
    return {
        "consents": size.consents,
        "ledger_entries": size.entries,
        "residents": size.residents,
        "seed_rows_s": round(t1 - t0, 1),
        "seed_ledger_s": round(t2 - t1, 1),
        "policy_check": policy.summary(),
        "dashboard": dashboards.summary(),
        "verify": {
            "ok": report.ok,
            "entries": report.count,
            "seconds": round(verify_s, 2),
            "entries_per_second": round(report.count / verify_s) if verify_s else 0,
        },
    }
