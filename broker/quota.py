"""The contract quota between a holder and a service (``ContractTerms``), held in the
database so that it binds every broker instance sharing it.

Three fixed windows per (holder, service):

* requests per second: window ``s:<epoch of its start>``. A rate below one per second
  (``0.2``) becomes one request per ``ceil(1 / rate)`` seconds.
* requests per hour: window ``h:<epoch of the hour>``.
* bytes per day (UTC): window ``d:<YYYY-MM-DD>``, checked before a transfer and added to
  after it, since the size of a holder's answer is only known once it has been streamed.

A request refused by one window gives back what it took from the other: refused calls
do not consume the holder's capacity, so a service that waits ``Retry-After`` is served.
A refusal names the limit that was hit (``requests_per_second``, ``requests_per_hour``,
``bytes_per_day``: the ``ContractTerms`` field) and when to come back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.storage.counters import SqlCounters, take_pair_on_writer
from broker.storage.sqlite_driver import AlsoWrite
from consent.errors import QuotaExceeded
from consent.registry import ContractTerms


class ContractLimitReached(QuotaExceeded):
    """A quota refusal that names the contract term it enforces."""

    def __init__(self, detail: str, *, retry_after: float, limit: str) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.limit = limit


@dataclass(frozen=True)
class Window:
    key: str
    limit: int
    ends_at: float  # epoch seconds
    term: str  # the ContractTerms field this window enforces

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.ends_at - now))


def request_windows(terms: ContractTerms, now: datetime) -> list[Window]:
    """The request windows ``now`` falls in, shortest first."""
    epoch = now.timestamp()
    seconds = max(1, math.ceil(1 / terms.requests_per_second))
    per_window = max(1, math.floor(terms.requests_per_second * seconds))
    second_start = int(epoch // seconds) * seconds
    hour_start = int(epoch // 3600) * 3600
    return [
        Window(f"s:{second_start}", per_window, second_start + seconds, "requests_per_second"),
        Window(f"h:{hour_start}", terms.requests_per_hour, hour_start + 3600, "requests_per_hour"),
    ]


def day_window(now: datetime) -> tuple[str, float]:
    day = now.astimezone(UTC).date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return f"d:{day.isoformat()}", midnight.timestamp()


async def take_request(
    conn: AsyncConnection,
    *,
    holder: str,
    service: str,
    terms: ContractTerms,
    now: datetime,
    durable: bool = True,
) -> None:
    """Count one request against the contract, or raise ``QuotaExceeded`` (nothing counted).
    ``durable=False``: see ``SqlCounters.take_pair``.

    One statement when the request is admitted (``SqlCounters.take_pair``); a refusal then
    gives back what was counted and reads which limit it was, in the order day, second,
    hour (the first one hit is the one named)."""
    counters = SqlCounters(conn)
    windows, day = _asked(terms, now)
    taken = await counters.take_pair(holder, service, windows, day, durable=durable)
    if len(taken) != 2:
        await _refuse(counters, taken, holder, service, terms, now, durable)


async def take_request_on_writer(
    engine: AsyncEngine,
    *,
    holder: str,
    service: str,
    terms: ContractTerms,
    now: datetime,
    also: AlsoWrite | None = None,
    unwritten: int = 0,
) -> None:
    """``take_request(durable=False)`` for a data request's admission on SQLite, on the
    writer connection checked out bare (``take_pair_on_writer``, with ``also``); only a
    refusal takes a ``Connection`` to give back and say which limit it was. ``unwritten``:
    bytes this instance sent today that the counters do not hold yet (their ledger batch
    is still to come, ``LedgerAppender.unwritten_bytes``), counted against the day."""
    windows, (day_key, day_limit) = _asked(terms, now)
    day = (day_key, day_limit - unwritten)
    taken = await take_pair_on_writer(engine, holder, service, windows, day, also)
    if len(taken) != 2:
        async with engine.connect() as conn:
            counters = SqlCounters(conn)
            await _refuse(counters, taken, holder, service, terms, now, False, unwritten)


Pair = tuple[tuple[str, int], tuple[str, int]]


def _asked(terms: ContractTerms, now: datetime) -> tuple[Pair, tuple[str, int]]:
    """The two request windows with their limits, and the day window with its limit."""
    first, second = request_windows(terms, now)
    day_key, _ = day_window(now)
    return ((first.key, first.limit), (second.key, second.limit)), (day_key, terms.bytes_per_day)


async def _refuse(
    counters: SqlCounters,
    taken: set[str],
    holder: str,
    service: str,
    terms: ContractTerms,
    now: datetime,
    durable: bool,
    unwritten: int = 0,
) -> NoReturn:
    for key in taken:
        await counters.give_back(holder, service, key, durable=durable)
    day_key, day_ends = day_window(now)
    used = await counters.bytes_in(holder, service, day_key) + unwritten if not taken else 0
    if not taken and used >= terms.bytes_per_day:
        raise ContractLimitReached(
            f"bytes_per_day: the {terms.bytes_per_day} bytes a day agreed between holder "
            f"{holder} and this service are used up",
            retry_after=max(1, math.ceil(day_ends - now.timestamp())),
            limit="bytes_per_day",
        )
    first, second = request_windows(terms, now)
    window = second if first.key in taken else first
    raise ContractLimitReached(
        f"{window.term}: at most {window.limit} requests per "
        f"{_span(window.term, terms)} agreed between holder {holder} and this service",
        retry_after=window.retry_after(now.timestamp()),
        limit=window.term,
    )


def _span(term: str, terms: ContractTerms) -> str:
    if term == "requests_per_hour":
        return "hour"
    seconds = max(1, math.ceil(1 / terms.requests_per_second))
    return "second" if seconds == 1 else f"{seconds} seconds"
