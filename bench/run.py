"""Run the figures, judge them against the targets, print the table, write the JSON.

Each figure gets its own servers and database, so one figure's leftovers (a warm cache,
a grown table, a fragmented heap) never flatter or spoil the next.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import machine, report, yardstick
from bench.postgres import fresh_database, sqlalchemy_url
from bench.stack import Stack, running

FIGURES = ("proxy", "oauth", "revocation", "streaming", "scale")


STORES = ("sqlite", "postgresql")


@asynccontextmanager
async def _running_on(store: str) -> AsyncIterator[Stack]:
    """One broker and the simulator, on a fresh SQLite file or a fresh PostgreSQL database."""
    if store == "sqlite":
        async with running() as stack:
            yield stack
        return
    async with fresh_database() as name, running(database_url=sqlalchemy_url(name)) as stack:
        yield stack


async def _proxy(quick: bool, store: str) -> dict[str, Any]:
    from bench import proxy

    async with _running_on(store) as stack:
        return await proxy.measure(stack, proxy.QUICK if quick else proxy.FULL)


async def _oauth(quick: bool, store: str) -> dict[str, Any]:
    from bench import oauth

    async with _running_on(store) as stack:
        return await oauth.measure(stack, oauth.QUICK if quick else oauth.FULL)


# The figures below have a store of their own: several instances and a million consents
# need PostgreSQL; streaming measures the broker's memory, whatever its store.
async def _revocation(quick: bool, _store: str) -> dict[str, Any]:
    from bench import revocation

    async with (
        fresh_database() as name,
        running(database_url=sqlalchemy_url(name), brokers=2) as stack,
    ):
        return await revocation.measure(stack, trials=3 if quick else 10)


async def _streaming(quick: bool, _store: str) -> dict[str, Any]:
    from bench import streaming

    plan = streaming.QUICK if quick else streaming.FULL
    async with running(big_mb=plan.size_mb) as stack:
        return await streaming.measure(stack, plan)


async def _scale(quick: bool, _store: str) -> dict[str, Any]:
    from bench import scale, seed

    size = seed.QUICK if quick else seed.FULL
    async with fresh_database() as name, running(database_url=sqlalchemy_url(name)) as stack:
        return await scale.measure(stack, name, size, samples=100 if quick else 400)


RUNNERS: dict[str, Callable[[bool, str], Awaitable[dict[str, Any]]]] = {
    "proxy": _proxy,
    "oauth": _oauth,
    "revocation": _revocation,
    "streaming": _streaming,
    "scale": _scale,
}


async def run(
    figures: list[str], quick: bool, synchronous: str = "full", store: str = "sqlite"
) -> dict[str, Any]:
    # Every broker the figures start inherits this (bench/processes.py passes the
    # environment on); set explicitly, so that what is reported is what ran.
    os.environ["AIGUILLAGE_SQLITE_SYNCHRONOUS"] = synchronous
    document: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "machine": machine.describe(),
        "load_average_at_start": machine.load_average(),
        "broker_settings": {"sqlite_synchronous": synchronous, "store": store},
        "figures": {},
        "seconds": {},
    }
    if quick:
        document["note"] = (
            "--quick: smaller runs (scale: 10,000 consents and 100,000 ledger entries; "
            "streaming: 100 MB), so the figures are indicative only"
        )
    # Before the figures, on a quiet machine: what they are to be read against.
    document["yardstick"] = await yardstick.measure()
    for name in figures:
        started = time.perf_counter()
        print(f"bench: {name}…", flush=True)
        try:
            document["figures"][name] = await RUNNERS[name](quick, store)
        except Exception as error:  # a figure that fails is reported, the others still run
            document["figures"][name] = None
            document.setdefault("errors", {})[name] = f"{type(error).__name__}: {error}"
            print(f"bench: {name} failed: {error}", flush=True)
        document["seconds"][name] = round(time.perf_counter() - started, 1)
    document["load_average_at_end"] = machine.load_average()
    # Again at the end: how much the machine's speed moved while the figures ran.
    document["yardstick_at_end"] = await yardstick.measure()
    document["yardstick_drift"] = yardstick.drift(
        document["yardstick"], document["yardstick_at_end"]
    )
    document["targets"] = report.judge(document["figures"])
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a run under a minute")
    parser.add_argument("--only", nargs="+", choices=FIGURES, help="run only these figures")
    parser.add_argument("--output", help="where to write the JSON (default bench/results.json)")
    parser.add_argument(
        "--sqlite-synchronous",
        choices=("full", "normal"),
        default="full",
        help="the brokers' AIGUILLAGE_SQLITE_SYNCHRONOUS (default full, as in production; "
        "normal is reported in the table and the JSON)",
    )
    parser.add_argument(
        "--store",
        choices=STORES,
        default="sqlite",
        help="the database of the proxy and oauth figures (default sqlite, the embedded "
        "store; postgresql is the production one); revocation and scale always run on "
        "PostgreSQL, streaming on SQLite",
    )
    args = parser.parse_args(argv)
    if args.sqlite_synchronous != "full":
        print(f"bench: SQLite brokers run with synchronous={args.sqlite_synchronous}", flush=True)
    figures = list(args.only or FIGURES)
    document = asyncio.run(run(figures, args.quick, args.sqlite_synchronous, args.store))
    print(report.table(document))
    output = report.RESULTS if args.output is None else Path(args.output)
    report.write(document, output)
    print(f"results: {output}")
    return 1 if document.get("errors") else 0
