"""Checking a pooled PostgreSQL connection before use, only when it has been idle.

SQLAlchemy's ``pool_pre_ping`` on asyncpg sends ``BEGIN``, ``;`` and ``ROLLBACK`` at every
checkout (a transaction, for PgBouncer's transaction mode): three round trips before each
unit of work, and a transfer takes two. Here a connection is pinged with one ``;`` and no
transaction, and only if it came back to the pool more than ``ALIVE_WINDOW`` seconds ago;
a connection handed back a moment ago was working a moment ago (HikariCP's
``aliveBypassWindowMs`` makes the same trade, with 500 ms).

A connection the server has ended (a restart, a terminated backend) is known closed by
asyncpg as soon as the loop has read the end of its socket: that check costs no round trip
and is made at every checkout. The trade: if the server becomes unreachable without closing
the socket (a partition) inside that window, the next statement on such a connection fails
(a 503), SQLAlchemy sees the disconnect and invalidates the pool, and the requests after it
get fresh connections. A dead connection found by the ping is replaced
before anyone uses it (``DisconnectionError``: the pool retries the checkout). The broker
talks to PostgreSQL directly; behind PgBouncer in transaction mode, set the window to 0
(``AIGUILLAGE_PG_ALIVE_WINDOW=0``) and expect a ping per checkout.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

ALIVE_WINDOW = 1.0  # seconds
_RETURNED = "aiguillage_returned_at"


def _known_closed(driver: Any) -> bool:
    """Whether asyncpg has already seen this connection end (its socket closed)."""
    return bool(driver.is_closed())


def ping_when_idle(engine: AsyncEngine, window: float | None = None) -> None:
    """Install the checks on ``engine``; ``window`` in seconds (None: ``ALIVE_WINDOW``, read
    at each checkout), ``AIGUILLAGE_PG_ALIVE_WINDOW`` in the broker."""
    target = engine.sync_engine

    @event.listens_for(target, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()  # just opened: alive

    @event.listens_for(target, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(target, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        if _known_closed(driver):  # the server ended it (restart, terminate): no trip
            raise DisconnectionError("the pooled connection was closed by the server")
        returned = record.info.get(_RETURNED)
        alive_for = ALIVE_WINDOW if window is None else window
        if returned is not None and time.monotonic() - returned < alive_for:
            return
        try:
            await_only(driver.fetchrow(";"))
        except Exception as error:  # any failure: this connection is not to be used
            raise DisconnectionError("the pooled connection is dead") from error
