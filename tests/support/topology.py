"""``deploy/compose.yaml``'s topology on loopback, from the committed deploy files.

nginx (Debian's binary at ``/usr/sbin/nginx``) runs ``deploy/nginx.conf`` in front of two
broker processes, ``broker-a`` and ``broker-b``, on one fresh PostgreSQL database. The
setup is ``deploy/compose/init.sh`` itself, run as compose's ``init`` service runs it
(migrate once, create the one signing key, register the holder, the coach and the
resident from ``deploy/compose/*.json``), and the Enedis simulator and the carbon coach
run as processes, as compose runs them.

What cannot stay as committed is rendered, and only that: host names and ports (compose
has a network of named containers; here everything is 127.0.0.1 on free ports), the
directories the files name, nginx's pid file and temporary paths (``render_nginx``
says why). Each substitution must find its text, so a change to the committed files
that moves it fails here instead of silently testing something else.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from broker.settings import Settings
from broker.storage.engine import make_engine
from tests.support.databases import fresh_database
from tests.support.processes import Cluster, ServerProcess, spawn, spawn_module, wait_ready
from tests.support.stack import REPO, Stack, free_port

DEPLOY = REPO / "deploy"
NGINX = Path("/usr/sbin/nginx")
BROKERS = ("broker-a", "broker-b")
# Debian's nginx is built with absolute temporary paths under /var/lib/nginx; a master
# running as root creates them there and hands them to its worker user. The test's nginx
# keeps its own under its prefix instead, leaving the system's nginx alone.
NGINX_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
# The compose network's addresses, trusted as proxies there; nginx is 127.0.0.1 here.
LOOPBACK_PROXY = '["127.0.0.1/32"]'
_T = TypeVar("_T")


def substitute(text: str, replacements: dict[str, str]) -> str:
    """Each ``old`` → ``new``; fails if an ``old`` is no longer in the committed text."""
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{old!r} is no longer in the committed file")
        text = text.replace(old, new)
    return text


def render_nginx(prefix: Path, port: int, upstreams: dict[str, int]) -> str:
    """``deploy/nginx.conf`` for loopback: the upstream servers and the listening port
    become 127.0.0.1 ports, the pid file and temporary paths move under ``prefix``."""
    temp_paths = "".join(f"    {name}_temp_path {prefix / name};\n" for name in NGINX_TEMP_PATHS)
    replacements = {
        f"server {name}:8000 ": f"server 127.0.0.1:{upstream} "
        for name, upstream in upstreams.items()
    }
    replacements["listen 8000;"] = f"listen 127.0.0.1:{port};"
    replacements["pid /tmp/nginx.pid;"] = f"pid {prefix / 'nginx.pid'};"
    replacements["http {\n"] = "http {\n" + temp_paths
    return substitute((DEPLOY / "nginx.conf").read_text(), replacements)


def render_init(directory: Path, simulator_url: str, coach_url: str) -> Path:
    """``deploy/compose/`` as mounted at ``/etc/aiguillage`` by compose, for loopback: the
    simulator and the coach at their ports. Returns the rendered ``init.sh``."""
    compose = DEPLOY / "compose"
    holder = {"http://enedis-sim:8001": simulator_url, "http://127.0.0.1:8001": simulator_url}
    service = {"http://127.0.0.1:8002": coach_url, "http://nginx:8002": coach_url}
    files = {
        "holder-enedis.json": holder,
        "service-carbon-coach.json": service,
        "init.sh": {"/etc/aiguillage/": f"{directory}/"},
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, replacements in files.items():
        (directory / name).write_text(substitute((compose / name).read_text(), replacements))
    return directory / "init.sh"


def compose_broker_env(overrides: dict[str, str]) -> dict[str, str]:
    """The environment compose gives every broker (``x-broker``), with ``overrides`` for
    what only makes sense inside compose's network; each must replace a compose key."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    env = {str(k): str(v) for k, v in compose["x-broker"]["environment"].items()}
    unknown = set(overrides) - set(env)
    if unknown:
        raise AssertionError(f"compose no longer sets {sorted(unknown)}")
    env.update(overrides)
    interpolated = [key for key, value in env.items() if "${" in value]
    if interpolated:
        raise AssertionError(f"compose variables left unset: {interpolated}")
    return env


@dataclass
class Topology:
    url: str  # nginx: the one public address, and the OAuth issuer
    cluster: Cluster  # broker-a and broker-b, reachable directly too (as Prometheus does)
    nginx: ServerProcess
    simulator: ServerProcess
    coach: ServerProcess
    nginx_conf: str  # the rendered configuration nginx runs
    setup: Path  # deploy/compose/ as rendered for init.sh (the registrations)
    coach_secret: str

    def stack(self, broker_url: str | None = None) -> Stack:
        """A ``Stack`` for ``tests/support/flow.py``: through nginx unless told otherwise."""
        return Stack(
            broker_url=broker_url or self.url,
            simulator_url=self.simulator.url,
            coach_redirect_uri=f"{self.coach.url}/callback",
            settings=self.cluster.settings,
            engine=self.cluster.engine,
            broker_app=None,
            simulator_app=None,
            coach_url=self.coach.url,
            coach_secret=self.coach_secret,
        )

    async def served_by(self, request_id: str) -> list[str]:
        """The brokers whose log has a request with this id (nginx sets it)."""
        return await _eventually(
            lambda: [
                name
                for name, instance in self.cluster.instances.items()
                if request_id in _logged_request_ids(instance)
            ]
        )

    async def nginx_upstreams(self, request_id: str) -> str:
        """``$upstream_addr`` of nginx's access log line for this request id: the
        instances it tried, in order, comma-separated."""

        def logged() -> str:
            for line in self.nginx.log_text().splitlines():
                if f" rid={request_id} " in line:
                    return line.rsplit(" up=", 1)[1]
            return ""

        return await _eventually(logged)


async def _eventually(look: Callable[[], _T], within: float = 3.0) -> _T:
    """``look()`` once it finds something: a log line is written when a request ends,
    which may be just after its answer reached the client. Its last result otherwise."""
    deadline = time.monotonic() + within
    while True:
        found = look()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


def _logged_request_ids(instance: ServerProcess) -> set[str]:
    found = set()
    for line in instance.log_text().splitlines():
        try:
            entry: Any = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == "http.request":
            found.add(str(entry.get("request_id")))
    return found


async def _run_init(init: Path, env: dict[str, str]) -> None:
    """``sh init.sh`` as compose's ``init`` runs it, with this venv's ``aiguillage`` and
    ``python`` first on the PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AIGUILLAGE_")}
    process = await asyncio.create_subprocess_exec(
        "sh",
        str(init),
        env={**clean, **env, "PATH": path},
        cwd=init.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"init.sh failed ({process.returncode}):\n{output.decode()}")


def _stop_all(processes: list[ServerProcess]) -> None:
    for process in reversed(processes):
        process.stop()


def _nginx_prefix() -> Path:
    # Not under pytest's tmp_path: its parents are root-only (0700), and nginx's workers
    # run as an unprivileged user when the suite runs as root, as CI does.
    prefix = Path(tempfile.mkdtemp(prefix="aiguillage-nginx-"))
    prefix.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return prefix


@asynccontextmanager
async def running_topology(tmp_path: Path) -> AsyncIterator[Topology]:
    """nginx, ``broker-a`` and ``broker-b`` on a fresh PostgreSQL database, the Enedis
    simulator and the coach, all ready. ``broker-a`` trusts nginx's X-Forwarded-For
    (compose's setting, for loopback); ``broker-b`` is deliberately started without
    ``AIGUILLAGE_TRUSTED_PROXIES``, the contrast the X-Forwarded-For test needs."""
    ports = {name: free_port() for name in (*BROKERS, "nginx", "simulator", "coach")}
    url = f"http://127.0.0.1:{ports['nginx']}"
    coach_url = f"http://127.0.0.1:{ports['coach']}"
    prefix = _nginx_prefix()
    async with AsyncExitStack() as stack:
        stack.callback(shutil.rmtree, prefix, ignore_errors=True)
        database_url = await stack.enter_async_context(fresh_database("postgresql", tmp_path))
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        env = compose_broker_env(
            {
                "AIGUILLAGE_ISSUER": url,
                "AIGUILLAGE_DATABASE_URL": database_url,
                "AIGUILLAGE_ENCRYPTION_KEY": key,
                "AIGUILLAGE_SIGNING_KEY_PATH": str(tmp_path / "keys" / "signing-key.json"),
                "AIGUILLAGE_HOST": "127.0.0.1",
                "AIGUILLAGE_TRUSTED_PROXIES": LOOPBACK_PROXY,
            }
        )
        (tmp_path / "keys").mkdir()
        started: list[ServerProcess] = []
        stack.callback(_stop_all, started)
        simulator = spawn_module(
            "enedis-sim",
            ["providers.enedis.simulator", "--port", str(ports["simulator"]), "--broker", url],
            ports["simulator"],
            tmp_path,
        )
        started.append(simulator)
        service = json.loads((DEPLOY / "compose" / "service-carbon-coach.json").read_text())
        coach_args = ["clients.carbon_coach", "--port", str(ports["coach"]), "--issuer", url]
        coach_args += ["--client-id", service["registration"]["client_id"]]
        coach_args += ["--client-secret", service["client_secret"]]
        coach = spawn_module("coach", coach_args, ports["coach"], tmp_path)
        started.append(coach)
        simulator_url = f"http://127.0.0.1:{ports['simulator']}"
        setup = tmp_path / "etc-aiguillage"
        await _run_init(render_init(setup, simulator_url, coach_url), env)

        engine = make_engine(database_url)
        stack.push_async_callback(engine.dispose)
        cluster = Cluster(
            settings=Settings(
                issuer=url,
                database_url=database_url,
                encryption_key=key,
                signing_key_path=Path(env["AIGUILLAGE_SIGNING_KEY_PATH"]),
                cookie_secure=False,
            ),
            engine=engine,
            env=env,
            log_dir=tmp_path,
            simulator_url=simulator_url,
            coach_redirect_uri=f"{coach_url}/callback",
            ports={name: ports[name] for name in BROKERS},
        )
        stack.callback(cluster.stop_all)
        untrusting = {k: v for k, v in env.items() if k != "AIGUILLAGE_TRUSTED_PROXIES"}
        await asyncio.gather(cluster.start("broker-a"), cluster.start("broker-b", untrusting))

        conf = render_nginx(prefix, ports["nginx"], {name: ports[name] for name in BROKERS})
        (prefix / "nginx.conf").write_text(conf)
        argv = [str(NGINX), "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf")]
        nginx = spawn("nginx", [*argv, "-e", "stderr", "-g", "daemon off;"], url, tmp_path)
        started.append(nginx)
        await asyncio.gather(
            wait_ready(nginx, "/healthz"),
            wait_ready(simulator, "/_simulator/stats"),
            wait_ready(coach, "/"),
        )
        yield Topology(url, cluster, nginx, simulator, coach, conf, setup, service["client_secret"])
