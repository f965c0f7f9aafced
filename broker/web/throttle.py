"""Failed-login throttling per client address, next to the per-login-name throttle of each
login form (``broker/web/login.py``, ``broker/console/routes.py``).

Every count lives in the one ``login_attempts`` table, under keys of disjoint namespaces:
``resident:<name>`` (``resident_key``), ``console:<name>`` (``broker/storage/
holder_staff.py``) and ``ADDRESS <surface> <address>``. A name is whatever the visitor
typed, so a resident form that stored the bare name would let anyone type
``console:<staff login>`` and lock a staff account out (or read whether it is locked).

Per name alone, an attacker trying one password on many names from one address is never
slowed; so failures also count per address, in the same ``login_attempts`` table, under a
key no login name can take (names are lower-cased before use; these keys start with
upper-case ``ADDRESS``). A successful login clears its name's count, never its address's:
an attacker with one valid account must not be able to reset the address count.

Logins are checked one at a time per instance (``LOGINS``): the throttle's read of the
counts, the password check and the failure's record then follow each other, so a burst of
attempts sent at once is counted exactly as the same attempts sent in turn. The password
check itself (Argon2, ``broker/storage/passwords.py``) runs in a worker thread and outside
any unit of work: neither the event loop nor SQLite's one writer waits for it.

The address is the peer of the TCP connection. ``X-Forwarded-For`` is believed only when
that peer is one of ``AIGUILLAGE_TRUSTED_PROXIES`` (the reverse proxy of
``deploy/nginx.conf``), and then only up to the first hop that is not a trusted proxy.
"""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.keys import SETTINGS
from broker.storage.attempt_keys import attempt_key
from broker.storage.tables import login_attempts

LOGINS = web.AppKey("logins", asyncio.Lock)

ADDRESS_WINDOW = timedelta(minutes=15)

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(entries: list[str]) -> list[_Network]:
    return [ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip()]


def _is_trusted(address: str, networks: list[_Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: web.Request) -> str:
    """Who is asking: the connection's peer, or what trusted proxies say they saw."""
    peer = request.remote or "unknown"
    trusted = _networks(request.app[SETTINGS].trusted_proxies)
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for hop in header.split(",")
    ]
    address = peer
    for hop in reversed(hops):  # the last hop was added by the proxy we trust
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage: believe no further
        address = hop
        if not _is_trusted(hop, trusted):
            break
    return address


RESIDENT_PREFIX = "resident:"


def resident_key(login: str) -> str:
    """The throttle key of a name typed in the resident login form: always under
    ``resident:``, whatever the name holds (a ``:`` included)."""
    return attempt_key(RESIDENT_PREFIX, login)


def address_key(surface: str, address: str) -> str:
    return f"ADDRESS {surface} {address}"[:254]


async def address_failures(conn: AsyncConnection, key: str, now: datetime) -> int:
    count = await conn.scalar(
        select(func.count())
        .select_from(login_attempts)
        .where(login_attempts.c.login == key, login_attempts.c.at >= now - ADDRESS_WINDOW)
    )
    return int(count or 0)


async def record_address_failure(conn: AsyncConnection, key: str, now: datetime) -> None:
    await conn.execute(insert(login_attempts).values(login=key, at=now))


async def address_throttled(
    request: web.Request, conn: AsyncConnection, key: str, now: datetime
) -> bool:
    limit = request.app[SETTINGS].login_failures_per_address
    return await address_failures(conn, key, now) >= limit
