"""The event loop ``aiguillage serve`` runs on: uvloop unless the operator says otherwise.

uvloop (libuv, by the authors of asyncpg) runs the same asyncio code with a loop and TCP
transports written in C. Measured on the broker (docs/performance.md, round six): an
introspection costs 22 % less CPU, a transfer 3 – 7 % less. ``AIGUILLAGE_EVENT_LOOP=asyncio``
goes back to the standard library's loop, e.g. to rule uvloop out while chasing a problem;
where uvloop is not installed (it has no Windows build) the broker says so and uses
asyncio's.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import structlog

log = structlog.get_logger(__name__)

EventLoopName = Literal["uvloop", "asyncio"]


def new_event_loop(name: EventLoopName) -> asyncio.AbstractEventLoop:
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("event_loop.uvloop_missing", using="asyncio")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """What the startup line reports: ``uvloop`` or ``asyncio``."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
