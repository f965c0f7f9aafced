"""``deploy/nginx.conf`` for real: Debian's nginx runs the committed file (only addresses
and paths rendered for loopback) in front of two broker processes on one PostgreSQL
database, set up by ``deploy/compose/init.sh`` itself, with the Enedis simulator and the
carbon coach as processes (``tests/support/topology.py``). Everything below goes through
nginx's address, the OAuth issuer, as a browser and a service would.

One topology serves the whole module (starting it costs seconds); the test that kills a
broker comes last.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import re
import signal
import socket
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
import pytest
import pytest_asyncio
from aiohappyeyeballs import AddrInfoType
from sqlalchemy import func, select
from yarl import URL

from broker.storage.tables import login_attempts
from tests.e2e.data.support import Grant, data_url, days_ago, grant, revoke_on_dashboard
from tests.support.cli import run_cli
from tests.support.flow import DEFAULT_DETAILS, coach_auth, coach_connects, field_value
from tests.support.topology import BROKERS, DEPLOY, Topology, running_topology

pytestmark = [pytest.mark.postgres, pytest.mark.asyncio(loop_scope="module")]

NGINX_REQUEST_ID = re.compile(r"[0-9a-f]{32}")  # nginx's $request_id; the broker makes 16
DRIP_PAUSE = 1.5  # seconds the holder waits between the two halves of its answer
# More than the kernel buffers between nginx and a service that does not read (Linux
# grows a socket's send buffer up to net.ipv4.tcp_wmem's maximum, 4 MiB by default), so
# that an nginx that buffered would have to spool the rest of the transfer to disk.
BULK_MB = 12


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def topology(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Topology]:
    async with running_topology(tmp_path_factory.mktemp("topology")) as running:
        yield running


def _browser(local_address: str | None = None) -> aiohttp.ClientSession:
    """A client keeping cookies of 127.0.0.1, optionally connecting from another loopback
    address (nginx then sees that address as the client's)."""
    connector = aiohttp.TCPConnector(local_addr=(local_address, 0) if local_address else None)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _fetch(http: aiohttp.ClientSession, url: str, live: Grant) -> tuple[int, str, str, bytes]:
    """One data request: status, denial reason (if any), request id, body."""
    params = {"start": days_ago(3), "end": days_ago(1)}
    async with http.get(url, params=params, headers=live.auth) as response:
        body = await response.read()
        reason = ""
        if response.status != 200:
            reason = str(json.loads(body).get("reason", ""))
        return response.status, reason, response.headers.get("X-Request-Id", ""), body


async def test_nginx_runs_the_committed_config_with_only_addresses_and_paths_changed(
    topology: Topology,
) -> None:
    committed = (DEPLOY / "nginx.conf").read_text().splitlines()
    diff = list(difflib.ndiff(committed, topology.nginx_conf.splitlines()))
    removed = [line[2:].strip() for line in diff if line.startswith("- ")]
    added = [line[2:].strip() for line in diff if line.startswith("+ ")]
    assert removed == [
        "pid /tmp/nginx.pid;",
        "server broker-a:8000 max_fails=3 fail_timeout=10s;",
        "server broker-b:8000 max_fails=3 fail_timeout=10s;",
        "listen 8000;",
    ]
    allowed = re.compile(
        r"pid /\S+/nginx\.pid;|(client_body|proxy|fastcgi|uwsgi|scgi)_temp_path /\S+;"
        r"|server 127\.0\.0\.1:\d+ max_fails=3 fail_timeout=10s;|listen 127\.0\.0\.1:\d+;"
    )
    assert len(added) == len(removed) + 5
    assert all(allowed.fullmatch(line) for line in added), added
    async with aiohttp.ClientSession() as http, http.get(f"{topology.url}/healthz") as response:
        assert response.status == 200
        assert response.headers["Server"] == "nginx"  # server_tokens off: no version


async def test_the_linky_story_runs_through_nginx_as_the_issuer(topology: Topology) -> None:
    """The coach asks (PAR), the resident logs in, consents, links the simulated Linky;
    the coach exchanges the code and fetches the data: every step through nginx."""
    stack = topology.stack()
    async with _browser() as browser:
        async with browser.get(f"{topology.url}/.well-known/oauth-authorization-server") as meta:
            metadata = await meta.json()
        assert metadata["issuer"] == topology.url
        assert metadata["pushed_authorization_request_endpoint"] == f"{topology.url}/oauth/par"
        location = await coach_connects(stack, browser)  # iss is nginx's URL
        async with browser.get(location) as landed:
            assert urlsplit(str(landed.url)).path == "/bilan"
            bilan = await landed.text()
    assert "kgCO₂e" in bilan and "kWh" in bilan
    steps = [
        r'"POST /oauth/par" 201',
        r'"POST /login" 303',
        r'"POST /oauth/authorize/decision" 30[23]',
        r'"GET /holders/enedis/callback" 30[23]',
        r'"POST /oauth/token" 200',
        r'"GET /v1/data/enedis/daily_consumption" 200',
    ]
    log = topology.nginx.log_text()
    for step in steps:
        assert re.search(step, log), step


async def test_requests_are_spread_over_both_brokers(topology: Topology) -> None:
    """Each answer carries the request id nginx made; exactly one broker logged it, the one
    nginx's own access log says it sent the request to, and both brokers had some."""
    ids = []
    async with aiohttp.ClientSession() as http:
        for _ in range(6):
            async with http.get(f"{topology.url}/jwks.json") as response:
                assert response.status == 200
                ids.append(response.headers["X-Request-Id"])
    assert all(NGINX_REQUEST_ID.fullmatch(request_id) for request_id in ids), ids
    served = {request_id: await topology.served_by(request_id) for request_id in ids}
    assert all(len(names) == 1 for names in served.values()), served
    assert {names[0] for names in served.values()} == set(BROKERS)
    for request_id, (name,) in served.items():
        upstream = topology.cluster.instances[name].url.removeprefix("http://")
        assert await topology.nginx_upstreams(request_id) == upstream


async def test_metrics_are_not_found_through_nginx_but_served_to_scrapers(
    topology: Topology,
) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/metrics", "//metrics", "/%6Detrics", "/./metrics", "/metrics?x=1"):
            async with http.get(URL(topology.url + path, encoded=True)) as response:
                body = await response.text()
                assert response.status == 404 and "aiguillage_" not in body, path
        for name in BROKERS:
            instance = topology.cluster.instances[name]
            async with http.get(f"{instance.url}/metrics") as response:
                assert response.status == 200
                assert "aiguillage_http_requests_total" in await response.text()


async def test_a_transfer_streams_through_nginx_as_the_holder_sends_it(
    topology: Topology,
) -> None:
    """The simulated Enedis sends half of its answer, waits, then the rest: the service
    has the first half long before the end, so neither broker nor nginx waits for a whole
    answer. (nginx passes early bytes on even with proxy_buffering on; what that setting
    changes, reading ahead and spooling to disk, is the next test's.)"""
    stack = topology.stack()
    async with _browser() as http:
        live = await grant(stack, http)
        fault = f"{topology.simulator.url}/_simulator/faults"
        async with http.post(fault, json={"mode": "drip", "seconds": DRIP_PAUSE}) as switched:
            assert switched.status == 200
        try:
            params = {"start": days_ago(3), "end": days_ago(1)}
            started = time.monotonic()
            async with http.get(data_url(stack), params=params, headers=live.auth) as response:
                assert response.status == 200
                first = await response.content.readany()
                first_at = time.monotonic() - started
                body = first + await response.content.read()
                ended_at = time.monotonic() - started
        finally:
            async with http.post(fault, json={"mode": None}) as switched:
                assert switched.status == 200
    assert json.loads(body)["meter_reading"]["interval_reading"]  # whole and valid
    assert 0 < len(first) < len(body)
    assert ended_at >= DRIP_PAUSE
    assert ended_at - first_at >= DRIP_PAUSE / 2, (first_at, ended_at)


def _small_receive_buffer(address: AddrInfoType) -> socket.socket:
    """A client socket that takes little before the service reads: what it does not read
    stays upstream, in nginx or behind it."""
    family, kind, proto, _, _ = address
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    return sock


async def test_nginx_never_spools_a_transfer_for_a_slow_service_to_disk(
    topology: Topology,
) -> None:
    """The operator adds a resource of about 12 MiB to the Enedis holder (the simulator's
    bulk generator); a service opens a transfer and reads nothing for a while. nginx holds
    no more than its one buffer and never writes the personal data to a temporary file:
    with proxy_buffering on it does, and says so in its log (it unlinks the file at once,
    so the log is the trace to look for). The service then reads the whole answer."""
    holder = json.loads((topology.setup / "holder-enedis.json").read_text())
    curve = next(
        r for r in holder["manifest"]["resources"] if r["name"] == "consumption_load_curve"
    )
    holder["manifest"]["resources"].append(
        {**curve, "name": "bulk_curve", "path": f"/_simulator/big/{BULK_MB}"}
    )
    updated = topology.setup / "holder-enedis-bulk.json"
    updated.write_text(json.dumps(holder))
    env = {**os.environ, **topology.cluster.env}
    done = await asyncio.to_thread(run_cli, ["holders", "update", str(updated)], env)
    assert done.returncode == 0, done.stderr
    stack = topology.stack()
    async with _browser() as http:
        live = await grant(stack, http, details={**DEFAULT_DETAILS, "resources": ["bulk_curve"]})
    connector = aiohttp.TCPConnector(socket_factory=_small_receive_buffer)
    async with aiohttp.ClientSession(connector=connector) as slow:
        params = {"start": days_ago(3), "end": days_ago(1)}
        url = data_url(stack, "bulk_curve")
        async with slow.get(url, params=params, headers=live.auth) as response:
            assert response.status == 200
            await asyncio.sleep(1.5)  # the service is busy; the holder has long finished
            body = await response.read()
    assert json.loads(body)["meter_reading"]["interval_reading"]
    assert len(body) >= BULK_MB * 1024 * 1024
    assert "buffered to a temporary file" not in topology.nginx.log_text()


async def test_a_revocation_through_nginx_is_refused_by_whichever_broker_serves_next(
    topology: Topology,
) -> None:
    stack = topology.stack()
    async with _browser() as http:
        live = await grant(stack, http)
        assert (await _fetch(http, data_url(stack), live))[0] == 200
        await revoke_on_dashboard(stack, http, live.grant_id)
        refusers = set()
        for _ in range(4):
            status, reason, request_id, _ = await _fetch(http, data_url(stack), live)
            assert (status, reason) == (403, "consent_revoked")
            refusers.update(await topology.served_by(request_id))
    assert refusers == set(BROKERS)


async def _failed_logins(topology: Topology, client: str, forged: str) -> dict[str, int]:
    """Failed logins through nginx from ``client`` (a loopback address) claiming to come
    from ``forged``, until both brokers have served some: how many each served."""
    served = dict.fromkeys(BROKERS, 0)
    async with _browser(client) as http:
        async with http.get(f"{topology.url}/login") as page:
            csrf = field_value(await page.text(), "csrf_token")
        for attempt in range(10):
            form = {
                "csrf_token": csrf,
                "next": "/",
                "login": f"nobody-{client}-{attempt}@example.org",
                "password": "wrong password",
            }
            async with http.post(
                f"{topology.url}/login", data=form, headers={"X-Forwarded-For": forged}
            ) as response:
                assert response.status == 401
                csrf = field_value(await response.text(), "csrf_token")
                (name,) = await topology.served_by(response.headers["X-Request-Id"])
            served[name] += 1
            if all(served.values()):
                break
    return served


async def test_nginx_forwarded_address_is_believed_only_where_trusted_proxies_say_so(
    topology: Topology,
) -> None:
    """broker-a runs with compose's AIGUILLAGE_TRUSTED_PROXIES (here 127.0.0.1, nginx);
    broker-b without. Failed logins count per client address: broker-a counts the address
    nginx saw (never one the client claims), broker-b counts nginx's own address."""
    forged = "198.51.100.23"

    async def counts() -> dict[str, int]:
        async with topology.cluster.engine.connect() as conn:
            rows = await conn.execute(
                select(login_attempts.c.login, func.count())
                .where(login_attempts.c.login.like("ADDRESS resident %"))
                .group_by(login_attempts.c.login)
            )
            return {str(key).removeprefix("ADDRESS resident "): int(n) for key, n in rows}

    before = await counts()
    from_2 = await _failed_logins(topology, "127.0.0.2", forged)
    from_1 = await _failed_logins(topology, "127.0.0.1", forged)
    after = await counts()
    added = {address: n - before.get(address, 0) for address, n in after.items()}
    added = {address: n for address, n in added.items() if n}
    assert all(from_2.values()) and all(from_1.values())
    assert added == {
        "127.0.0.2": from_2["broker-a"],
        "127.0.0.1": from_1["broker-a"] + from_1["broker-b"] + from_2["broker-b"],
    }


async def test_a_broker_killed_mid_run_nginx_fails_over_and_revocation_still_holds(
    topology: Topology,
) -> None:
    """SIGKILL broker-b while a service fetches every 0.3 s (under the holder contract's
    5 per second): every request sent after the kill is answered in full, those nginx sent
    to the dead instance first were retried on the live one, a POST is answered too, and
    a revocation made through nginx is refused on the next request."""
    stack = topology.stack()
    victim = topology.cluster.instances["broker-b"]
    async with _browser() as http:
        live = await grant(stack, http)
        results: list[tuple[float, int, str]] = []

        async def fetch_every_while() -> None:
            for _ in range(14):
                sent = time.monotonic()
                status, _, request_id, body = await _fetch(http, data_url(stack), live)
                assert status != 200 or json.loads(body)["meter_reading"]
                results.append((sent, status, request_id))
                await asyncio.sleep(0.3)

        fetching = asyncio.create_task(fetch_every_while())
        await asyncio.sleep(1.2)
        killed_at = time.monotonic()
        victim.stop(signal.SIGKILL)
        await fetching
        after = [(status, rid) for sent, status, rid in results if sent > killed_at]
        assert len(after) >= 6
        assert [status for status, _ in after] == [200] * len(after)
        tried = [await topology.nginx_upstreams(rid) for _, rid in after]
        dead, live_one = (
            topology.cluster.instances[name].url.removeprefix("http://") for name in BROKERS[::-1]
        )
        assert any(t == f"{dead}, {live_one}" for t in tried), tried  # retried on broker-a
        assert all(t.endswith(live_one) for t in tried), tried

        for _ in range(3):  # POST is not retried once sent, but a refused connect is
            async with http.post(
                f"{topology.url}/oauth/introspect",
                data={"token": live.access_token},
                headers=coach_auth(stack),
            ) as introspected:
                assert introspected.status == 200
                assert (await introspected.json())["active"] is True
        async with http.delete(
            f"{topology.url}/oauth/grants/{live.grant_id}", headers=coach_auth(stack)
        ) as ended:
            assert ended.status == 204
        for _ in range(3):
            status, reason, _, _ = await _fetch(http, data_url(stack), live)
            assert (status, reason) == (403, "consent_revoked")
