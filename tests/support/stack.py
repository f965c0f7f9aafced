"""Real servers on loopback for e2e tests: the broker, the Enedis simulator and (optionally)
the carbon coach, each an aiohttp app on its own port, over a fresh database.

Nothing is faked: the broker calls the simulator over HTTP, and tests call the broker
over HTTP. Ports are picked free before the apps are built, because the broker's issuer
URL and the redirect URIs must name them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.processes import free_port
from broker.app import create_app
from broker.crypto import SecretBox
from broker.operator import add_resident, register_holder, register_service
from broker.settings import Settings
from broker.storage.engine import make_engine
from broker.storage.migrate import upgrade_async
from broker.storage.tables import open_transfers
from clients.carbon_coach.app import create_coach_app
from clients.carbon_coach.config import CoachConfig
from providers.enedis.simulator.app import create_simulator_app
from providers.enedis.simulator.config import RegisteredClient, SimulatorConfig
from tests.support.databases import migrated_sqlite

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "deploy" / "examples"

RESIDENT_LOGIN = "camille@example.fr"
RESIDENT_PASSWORD = "linky-lyon-2024"  # a test account's password, not a secret
COACH_ID = "carbon-coach"
COACH_SECRET = "coach-test-secret-0123456789abcdef"
HOLDER_CLIENT_ID = "aiguillage-test"
HOLDER_CLIENT_SECRET = "holder-test-secret"
DEMO_PRM = "12345678901234"
OPERATOR_TOKEN = "operator-test-token-0123456789abcdef"  # a test credential, not a secret


def reserved_port() -> socket.socket:
    """A socket bound to a free loopback port and kept bound until ``serve`` listens on it,
    so that nothing can take the port in between (a number found free and bound later
    once failed a run with "address already in use"; ``free_port`` is for servers of
    other processes, which cannot be handed a socket)."""
    sock = socket.socket()
    # As asyncio's own listening sockets: the port can be bound again at once once this
    # server stops, despite the connections it accepted (``restart_broker``).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


@dataclass
class Stack:
    broker_url: str
    simulator_url: str
    coach_redirect_uri: str
    settings: Settings
    engine: AsyncEngine  # the test's own connection, for looking at what the broker stored
    # None when the broker runs as separate processes (``tests/support/processes.py``).
    broker_app: web.Application | None
    simulator_app: web.Application | None
    runners: list[web.AppRunner] = field(default_factory=list)
    coach_url: str = ""
    coach_id: str = COACH_ID
    coach_secret: str = COACH_SECRET
    resident_login: str = RESIDENT_LOGIN
    resident_password: str = RESIDENT_PASSWORD
    prm: str = DEMO_PRM


async def transfers_recorded(stack: Stack, within: float = 10.0) -> None:
    """Wait until no transfer is open (``broker.data.open_transfers``): on SQLite a
    transfer's ledger entry is written just after its answer is finished, so a test that
    looks at the ledger after a transfer waits for it first."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with stack.engine.connect() as conn:
            left = await conn.scalar(select(func.count()).select_from(open_transfers))
        if not left:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{left} transfers still open after {within} s")
        await asyncio.sleep(0.005)


async def serve(app: web.Application, port: int | socket.socket) -> web.AppRunner:
    """Serve ``app`` on a loopback port, or on a ``reserved_port`` socket."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    if isinstance(port, socket.socket):
        await web.SockSite(runner, port).start()
    else:
        await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def restart_broker(stack: Stack, **changes: Any) -> None:
    """Stop the in-process broker and start another on the same port with ``changes`` to
    its settings, as an operator restarts an instance (it reads its keys and the rest of
    its settings at start; aiohttp does not let a started application's state change)."""
    assert stack.broker_app is not None, "the broker runs as a separate process"
    [runner] = [r for r in stack.runners if r.app is stack.broker_app]
    await runner.cleanup()
    stack.runners.remove(runner)
    stack.settings = stack.settings.model_copy(update=changes)
    stack.broker_app = create_app(stack.settings)
    stack.runners.append(await serve(stack.broker_app, stack.settings.port))


def _holder_payload(simulator_url: str) -> dict[str, Any]:
    payload = json.loads((EXAMPLES / "holder-enedis-simulator.json").read_text())
    manifest = payload["manifest"]
    for key in ("base_url", "authorization_endpoint", "token_endpoint", "revocation_endpoint"):
        manifest[key] = manifest[key].replace("http://127.0.0.1:8001", simulator_url)
    payload["client_id"] = HOLDER_CLIENT_ID
    payload["client_secret"] = HOLDER_CLIENT_SECRET
    return dict(payload)


def _service_payload(redirect_uri: str) -> dict[str, Any]:
    payload = json.loads((EXAMPLES / "service-carbon-coach.json").read_text())
    payload["registration"]["redirect_uris"] = [redirect_uri]
    # Notices go to the coach's port, where the coach (or a test's receiver) listens.
    payload["registration"]["notification_endpoint"] = redirect_uri.replace(
        "/callback", "/notifications"
    )
    payload["client_secret"] = COACH_SECRET
    return dict(payload)


async def seed_broker(
    engine: AsyncEngine, box: SecretBox, simulator_url: str, coach_redirect: str
) -> None:
    """The operator's setup: the simulated Enedis, the approved coach, the test resident."""
    await register_holder(engine, box, _holder_payload(simulator_url))
    await register_service(engine, _service_payload(coach_redirect), approve=True)
    await add_resident(
        engine, login=RESIDENT_LOGIN, password=RESIDENT_PASSWORD, display_name="Camille Martin"
    )


@asynccontextmanager
async def running_stack(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    coach_port: int | None = None,
    with_coach: bool = False,
    simulator_config: dict[str, Any] | None = None,
    settings_overrides: dict[str, Any] | None = None,
    migrated: bool = False,
) -> AsyncIterator[Stack]:
    """The servers over ``database_url`` (migrated here unless ``migrated`` says it is at
    the current schema already), or over a new SQLite file at the current schema."""
    broker_socket, simulator_socket = reserved_port(), reserved_port()
    broker_port, simulator_port = port_of(broker_socket), port_of(simulator_socket)
    coach_socket = reserved_port() if with_coach and not coach_port else None
    if coach_port is None:
        # Without the coach, a test may serve its own receiver on this port: it is only
        # a number here, as before.
        coach_port = port_of(coach_socket) if coach_socket is not None else free_port()
    broker_url = f"http://127.0.0.1:{broker_port}"
    simulator_url = f"http://127.0.0.1:{simulator_port}"
    coach_redirect = f"http://127.0.0.1:{coach_port}/callback"
    if database_url is None:
        database_url = await migrated_sqlite(tmp_path / "broker.sqlite3")
    elif not migrated:
        await upgrade_async(database_url)
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    settings = Settings(
        issuer=broker_url,
        port=broker_port,
        database_url=database_url,
        encryption_key=key,
        signing_key_path=tmp_path / "signing-key.json",
        cookie_secure=False,
        log_json=True,
        operator_token=OPERATOR_TOKEN,
        **(settings_overrides or {}),
    )
    engine = make_engine(database_url)
    await seed_broker(
        engine, SecretBox(settings.encryption_key_bytes()), simulator_url, coach_redirect
    )
    sim_config = SimulatorConfig(
        clients={
            HOLDER_CLIENT_ID: RegisteredClient(
                secret=HOLDER_CLIENT_SECRET,
                redirect_uris=(f"{broker_url}/holders/enedis/callback",),
            )
        },
        **(simulator_config or {}),
    )
    simulator_app = create_simulator_app(sim_config)
    broker_app = create_app(settings)
    stack = Stack(
        broker_url=broker_url,
        simulator_url=simulator_url,
        coach_redirect_uri=coach_redirect,
        settings=settings,
        engine=engine,
        broker_app=broker_app,
        simulator_app=simulator_app,
    )
    try:
        stack.runners.append(await serve(simulator_app, simulator_socket))
        stack.runners.append(await serve(broker_app, broker_socket))
        if with_coach:
            stack.coach_url = f"http://127.0.0.1:{coach_port}"
            coach = create_coach_app(
                CoachConfig(
                    issuer=broker_url,
                    client_id=COACH_ID,
                    client_secret=COACH_SECRET,
                    host="127.0.0.1",
                    port=coach_port,
                    public_url=stack.coach_url,
                )
            )
            stack.runners.append(await serve(coach, coach_socket or coach_port))
        yield stack
    finally:
        for runner in reversed(stack.runners):
            await runner.cleanup()
        await engine.dispose()
