"""The servers one figure needs, as real processes on loopback, over a fresh database:
the Enedis simulator (``bench.simulator``) and one or more broker instances
(``python -m broker.cli serve``, configured through ``AIGUILLAGE_*`` like production).

The operator's part (holder, service, resident) goes through ``broker.operator``, the
same code as ``aiguillage holders add`` and friends.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench import processes
from bench.flow import Party, connect
from bench.processes import Server
from bench.simulator import BIG_PATH
from broker.crypto import SecretBox, Signer
from broker.operator import add_resident, register_holder, register_service
from broker.storage.engine import make_engine
from broker.storage.migrate import upgrade_async

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "deploy" / "examples"

HOLDER = "enedis"
HOLDER_CLIENT_ID = "aiguillage-bench"
HOLDER_CLIENT_SECRET = "bench-holder-secret"  # noqa: S105 - loopback-only bench credential
COACH_ID = "carbon-coach"
COACH_SECRET = "bench-coach-secret-0123456789abcdef"  # noqa: S105 - loopback-only
RESIDENT_LOGIN = "camille@example.fr"
RESIDENT_PASSWORD = "linky-lyon-bench"  # noqa: S105 - a bench account on a throwaway db
PRM = "12345678901234"  # the simulator's demo customer
BIG_RESOURCE = "bench_big_curve"

# History long enough that a full year of daily data and last week's curve both fit.
DETAILS: dict[str, Any] = {
    "type": "personal_data_transfer",
    "holder": HOLDER,
    "resources": ["daily_consumption", "consumption_load_curve", BIG_RESOURCE],
    "purpose": "energy_coaching",
    "data_window": {"history": "P2Y", "include_future": True},
    "frequency": "continuous",
    "duration": "P1Y",
}


@dataclass
class Stack:
    run_dir: Path
    database_url: str
    simulator: Server
    brokers: list[Server]
    party: Party
    encryption_key: str

    @property
    def broker(self) -> Server:
        return self.brokers[0]

    def simulator_auth(self) -> dict[str, str]:
        """The holder client's ``Authorization`` header at the simulator."""
        return {"Authorization": aiohttp.encode_basic_auth(HOLDER_CLIENT_ID, HOLDER_CLIENT_SECRET)}

    async def grant(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        """A new ACTIVE grant through the whole browser flow: its token response."""
        return await connect(self.party, http, DETAILS)


def cookie_session(limit: int = 100) -> aiohttp.ClientSession:
    """One keep-alive client for a figure. The broker's session cookie is set by
    127.0.0.1, and an IP host needs an unsafe jar."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit), cookie_jar=aiohttp.CookieJar(unsafe=True)
    )


def _holder_payload(simulator_url: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((EXAMPLES / "holder-enedis-simulator.json").read_text())
    manifest = payload["manifest"]
    for key in ("base_url", "authorization_endpoint", "token_endpoint", "revocation_endpoint"):
        manifest[key] = manifest[key].replace("http://127.0.0.1:8001", simulator_url)
    manifest["resources"].append(
        {
            "name": BIG_RESOURCE,
            "path": BIG_PATH,
            "description_fr": "Une très grande courbe de charge (banc d'essai)",
            "max_days_per_call": 7,
            "history_days": 745,
            "dated": True,
        }
    )
    # The contract quota is the holder's, and the bench is not measuring it.
    manifest["contract"].update(
        requests_per_second=1_000_000, requests_per_hour=1_000_000_000, bytes_per_day=10**15
    )
    payload.update(client_id=HOLDER_CLIENT_ID, client_secret=HOLDER_CLIENT_SECRET)
    return payload


def _service_payload(redirect_uri: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((EXAMPLES / "service-carbon-coach.json").read_text())
    payload["registration"]["redirect_uris"] = [redirect_uri]
    payload["client_secret"] = COACH_SECRET
    return payload


async def _register(database_url: str, key: str, simulator_url: str, redirect: str) -> None:
    await upgrade_async(database_url)
    engine = make_engine(database_url)
    try:
        box = SecretBox(SecretBox.decode_key(key))
        await register_holder(engine, box, _holder_payload(simulator_url))
        await register_service(engine, _service_payload(redirect), approve=True)
        await add_resident(
            engine, login=RESIDENT_LOGIN, password=RESIDENT_PASSWORD, display_name="Camille Banc"
        )
    finally:
        await engine.dispose()


def broker_env(run_dir: Path, database_url: str, key: str, url: str, port: int) -> dict[str, str]:
    return {
        "AIGUILLAGE_ISSUER": url,
        "AIGUILLAGE_PORT": str(port),
        "AIGUILLAGE_DATABASE_URL": database_url,
        "AIGUILLAGE_ENCRYPTION_KEY": key,
        "AIGUILLAGE_SIGNING_KEY_PATH": str(run_dir / "signing-key.json"),
        "AIGUILLAGE_COOKIE_SECURE": "false",
        "AIGUILLAGE_LOG_JSON": "true",
    }


@asynccontextmanager
async def running(
    *, database_url: str | None = None, brokers: int = 1, big_mb: int = 500
) -> AsyncIterator[Stack]:
    """Start the simulator and ``brokers`` broker instances sharing one database (SQLite
    in a fresh directory unless ``database_url`` names one); stop them all at the end."""
    run_dir = Path(tempfile.mkdtemp(prefix="aiguillage-bench-"))
    database_url = database_url or f"sqlite+aiosqlite:///{run_dir / 'broker.sqlite3'}"
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    sim_port = processes.free_port()
    ports = [processes.free_port() for _ in range(brokers)]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    redirect = f"http://127.0.0.1:{processes.free_port()}/callback"  # never followed
    simulator_url = f"http://127.0.0.1:{sim_port}"
    await _register(database_url, key, simulator_url, redirect)
    # Made before the instances start, so that they all sign with the same key.
    Signer.load_or_create(run_dir / "signing-key.json")
    started: list[Server] = []
    try:
        callbacks = [f"{u}/holders/{HOLDER}/callback" for u in urls]
        sim_args = ["bench.simulator", "--port", str(sim_port), "--big-mb", str(big_mb)]
        sim_args += ["--client-id", HOLDER_CLIENT_ID, "--client-secret", HOLDER_CLIENT_SECRET]
        for callback in callbacks:
            sim_args += ["--redirect-uri", callback]
        simulator = processes.start(
            "simulator", sim_args, url=simulator_url, env={}, run_dir=run_dir
        )
        started.append(simulator)
        servers = []
        for index, (port, url) in enumerate(zip(ports, urls, strict=True)):
            env = broker_env(run_dir, database_url, key, url, port)
            server = processes.start(
                f"broker-{index}", ["broker.cli", "serve"], url=url, env=env, run_dir=run_dir
            )
            started.append(server)
            servers.append(server)
        await processes.wait_ready(simulator, "/_simulator/stats")
        for server in servers:
            await processes.wait_ready(server, "/.well-known/oauth-authorization-server")
        party = Party(urls[0], COACH_ID, COACH_SECRET, redirect, RESIDENT_LOGIN, RESIDENT_PASSWORD)
        yield Stack(run_dir, database_url, simulator, servers, party, key)
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def data_range(resource: str, days: int | None = None) -> dict[str, str]:
    """The range figure 1 asks for: a year of daily data, or the last 7 days of a curve."""
    end = datetime.now(UTC).date()
    days = days or (365 if resource == "daily_consumption" else 7)
    return {"start": (end - timedelta(days=days)).isoformat(), "end": end.isoformat()}
