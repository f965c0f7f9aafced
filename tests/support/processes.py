"""Broker instances as real processes sharing one PostgreSQL database: a small cluster on
loopback, as production runs it behind a load balancer.

``running_cluster`` migrates a fresh database, seeds it through ``broker.operator`` (as
``aiguillage holders add`` would), serves the Enedis simulator in this process (it plays
the holder, not what is under test), and starts ``python -m broker.cli serve --port N``
once per instance with the same ``AIGUILLAGE_*`` settings. All instances share one issuer
(they stand "behind one address"); tests call each instance directly on its own port.

Each process writes to a log file, never to a pipe nobody reads (a full pipe stalls the
server). Instances stop with SIGTERM, as systemd and Kubernetes stop them, or SIGKILL to
play an instance dying mid-work. ``spawn`` and ``wait_ready`` serve any other server run
as a process too (a holder simulator, the coach, nginx: ``tests/support/topology.py``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.crypto import SecretBox, Signer
from broker.settings import Settings
from broker.storage.engine import make_engine
from providers.enedis.simulator.app import create_simulator_app
from providers.enedis.simulator.config import RegisteredClient, SimulatorConfig
from tests.support.databases import fresh_database
from tests.support.stack import (
    HOLDER_CLIENT_ID,
    HOLDER_CLIENT_SECRET,
    REPO,
    Stack,
    free_port,
    port_of,
    reserved_port,
    seed_broker,
    serve,
)

READY_TIMEOUT = 60.0  # generous: a loaded CI machine may take seconds to import everything
# The holder must not be the bottleneck when tests fire bursts through the brokers.
GENEROUS_SIMULATOR = {"quota_per_second": 10_000, "quota_per_hour": 1_000_000}


@dataclass
class ServerProcess:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_events(self) -> list[dict[str, Any]]:
        """The JSON log lines (the broker's structlog output), parsed; other lines skipped."""
        events = []
        for line in self.log_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send ``sig`` and wait for the exit; SIGKILL if it will not go. The exit code."""
        if self.alive():
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        return int(self.process.returncode)


def settings_env(**settings: Any) -> dict[str, str]:
    """``job_lease=2`` as the environment says it: ``{"AIGUILLAGE_JOB_LEASE": "2"}``."""
    return {f"AIGUILLAGE_{key.upper()}": str(value) for key, value in settings.items()}


def broker_env(settings: Settings, **extra: Any) -> dict[str, str]:
    """The ``AIGUILLAGE_*`` environment every instance of the cluster runs with."""
    env = {
        "AIGUILLAGE_ISSUER": settings.issuer,
        "AIGUILLAGE_DATABASE_URL": settings.database_url,
        "AIGUILLAGE_ENCRYPTION_KEY": settings.encryption_key.get_secret_value(),
        "AIGUILLAGE_SIGNING_KEY_PATH": str(settings.signing_key_path),
        "AIGUILLAGE_COOKIE_SECURE": "false",
        "AIGUILLAGE_HOST": "127.0.0.1",
        "AIGUILLAGE_LOG_JSON": "true",
    }
    env.update(settings_env(**extra))
    return env


def spawn(
    name: str, argv: list[str], url: str, log_dir: Path, env: dict[str, str] | None = None
) -> ServerProcess:
    """Start ``argv`` with this environment less its ``AIGUILLAGE_*``, plus ``env``."""
    log_path = log_dir / f"{name}.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AIGUILLAGE_")}
    # Append mode: a child that opens the log again by path (nginx's ``/dev/stdout``)
    # then writes at its end instead of over what the inherited descriptor wrote.
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env={**clean, **(env or {})}, cwd=REPO
        )
    return ServerProcess(name, url, process, log_path)


def spawn_module(
    name: str, module_args: list[str], port: int, log_dir: Path, env: dict[str, str] | None = None
) -> ServerProcess:
    """``python -m MODULE ARGS…`` with this interpreter, serving on ``port``."""
    argv = [sys.executable, "-m", *module_args]
    return spawn(name, argv, f"http://127.0.0.1:{port}", log_dir, env)


def spawn_broker(name: str, port: int, env: dict[str, str], log_dir: Path) -> ServerProcess:
    return spawn_module(name, ["broker.cli", "serve", "--port", str(port)], port, log_dir, env)


async def wait_ready(instance: ServerProcess, path: str = "/readyz") -> None:
    """Poll ``path`` until it answers 200; fail at once if the process exits."""
    deadline = time.monotonic() + READY_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if not instance.alive():
                raise RuntimeError(f"{instance.name} exited:\n{instance.log_text()[-3000:]}")
            try:
                async with http.get(f"{instance.url}{path}") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    tail = instance.log_text()[-3000:]
    raise RuntimeError(f"{instance.name} not ready in {READY_TIMEOUT:.0f} s:\n{tail}")


@dataclass
class Cluster:
    """Broker processes on one database, and what a test needs to drive and inspect them."""

    settings: Settings  # the shared settings (issuer = the first instance's URL)
    engine: AsyncEngine  # the test's own connection to the shared database
    env: dict[str, str]
    log_dir: Path
    simulator_url: str
    coach_redirect_uri: str
    ports: dict[str, int]  # reserved per instance name (the first one's is the issuer's)
    instances: dict[str, ServerProcess] = field(default_factory=dict)

    async def start(self, name: str, env: dict[str, str] | None = None) -> ServerProcess:
        """Start instance ``name`` with the cluster's environment, or ``env`` instead."""
        port = self.ports.get(name) or free_port()
        instance = spawn_broker(name, port, self.env if env is None else env, self.log_dir)
        self.instances[name] = instance
        await wait_ready(instance)
        return instance

    def stop_all(self) -> None:
        for instance in self.instances.values():
            instance.stop()

    def stack(self, name: str) -> Stack:
        """A ``Stack`` aimed at one instance, for ``tests/support/flow.py`` and friends."""
        return Stack(
            broker_url=self.instances[name].url,
            simulator_url=self.simulator_url,
            coach_redirect_uri=self.coach_redirect_uri,
            settings=self.settings,
            engine=self.engine,
            broker_app=None,
            simulator_app=None,
        )


@asynccontextmanager
async def running_cluster(
    tmp_path: Path,
    *,
    names: tuple[str, ...] = ("a", "b"),
    start: bool = True,
    **settings_env: Any,
) -> AsyncIterator[Cluster]:
    """Brokers ``names`` on a fresh PostgreSQL database (started unless ``start=False``;
    the first name's port is reserved for the issuer either way). ``settings_env`` adds
    settings, e.g. ``job_lease=2``."""
    ports = {name: free_port() for name in names}
    issuer = f"http://127.0.0.1:{ports[names[0]]}"
    simulator_socket = reserved_port()  # served in this process: held until it listens
    simulator_url = f"http://127.0.0.1:{port_of(simulator_socket)}"
    coach_redirect = f"http://127.0.0.1:{free_port()}/callback"
    async with fresh_database("postgresql", tmp_path, migrated=True) as database_url:
        settings = Settings(
            issuer=issuer,
            database_url=database_url,
            encryption_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
            signing_key_path=tmp_path / "signing-key.json",
            cookie_secure=False,
        )
        # Created once here: two instances starting together must not both create it.
        Signer.load_or_create(settings.signing_key_path)
        engine = make_engine(database_url)
        box = SecretBox(settings.encryption_key_bytes())
        await seed_broker(engine, box, simulator_url, coach_redirect)
        simulator = create_simulator_app(
            SimulatorConfig(
                clients={
                    HOLDER_CLIENT_ID: RegisteredClient(
                        secret=HOLDER_CLIENT_SECRET,
                        redirect_uris=(f"{issuer}/holders/enedis/callback",),
                    )
                },
                **GENEROUS_SIMULATOR,
            )
        )
        simulator_runner = await serve(simulator, simulator_socket)
        cluster = Cluster(
            settings=settings,
            engine=engine,
            env=broker_env(settings, **settings_env),
            log_dir=tmp_path,
            simulator_url=simulator_url,
            coach_redirect_uri=coach_redirect,
            ports=ports,
        )
        try:
            if start:
                await asyncio.gather(*(cluster.start(name) for name in names))
            yield cluster
        finally:
            cluster.stop_all()
            await simulator_runner.cleanup()
            await engine.dispose()
