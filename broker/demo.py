"""``aiguillage demo``: the whole story on one machine, on loopback.

The broker runs in this process on an embedded SQLite database; the four holder simulators
(Enedis, GRDF, water, mobility) and the carbon coach run as their own processes (the coach
speaks to the broker over HTTP only, as any service would). Everything lives under
``var/demo/`` and is reused across runs; delete that folder to start afresh.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.app import create_app
from broker.crypto import SecretBox
from broker.event_loop import new_event_loop
from broker.operator import add_resident, register_holder, register_service
from broker.settings import Settings
from broker.storage.engine import make_engine
from broker.storage.holder_staff import SqlHolderStaff
from broker.storage.migrate import upgrade
from broker.storage.uow import SqlUnitOfWork

ROOT = Path.cwd()
DEMO_DIR = ROOT / "var" / "demo"
EXAMPLES = Path(__file__).resolve().parent.parent / "deploy" / "examples"
BROKER, SIMULATOR, COACH = 8000, 8001, 8002
WATER, MOBILITY, GRDF = 8003, 8004, 8005
DEMO_LOGIN = "camille@example.fr"
DEMO_PASSWORD = "linky-lyon-2024"  # noqa: S105 - the published demo account
STAFF_LOGIN = "console@enedis.example.fr"
STAFF_PASSWORD = "console-enedis-2024"  # noqa: S105 - the published demo console account
HOLDER_FILES = (
    "holder-enedis-simulator.json",
    "holder-grdf-simulator.json",
    "holder-eau-simulator.json",
    "holder-mobilite-simulator.json",
)


def _demo_key() -> str:
    path = DEMO_DIR / "encryption.key"
    if not path.exists():
        DEMO_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


def demo_settings() -> Settings:
    return Settings(
        host="127.0.0.1",
        port=BROKER,
        issuer=f"http://127.0.0.1:{BROKER}",
        database_url=f"sqlite+aiosqlite:///{DEMO_DIR / 'aiguillage.sqlite3'}",
        encryption_key=_demo_key(),
        signing_key_path=DEMO_DIR / "signing-key.json",
        cookie_secure=False,  # plain HTTP on loopback; production sets it
        log_json=False,
    )


async def _seed_holders(engine: AsyncEngine, box: SecretBox) -> None:
    """Register each demo holder that is not there yet (older demo folders had Enedis only)."""
    for name in HOLDER_FILES:
        payload = json.loads((EXAMPLES / name).read_text())
        async with SqlUnitOfWork(engine) as uow:
            known = await uow.holders.get(payload["manifest"]["id"]) is not None
        if not known:
            await register_holder(engine, box, payload)


async def _seed(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    try:
        async with SqlUnitOfWork(engine) as uow:
            seeded = await uow.services.get("carbon-coach") is not None
        box = SecretBox(settings.encryption_key_bytes())
        await _seed_holders(engine, box)
        if not seeded:
            service = json.loads((EXAMPLES / "service-carbon-coach.json").read_text())
            await register_service(engine, service, approve=True)
            await add_resident(
                engine, login=DEMO_LOGIN, password=DEMO_PASSWORD, display_name="Camille Martin"
            )
            async with SqlUnitOfWork(engine) as uow:
                await SqlHolderStaff(uow.conn).add(
                    holder="enedis", login=STAFF_LOGIN, password=STAFF_PASSWORD, now=uow.now
                )
                await uow.commit()
        service = json.loads((EXAMPLES / "service-carbon-coach.json").read_text())
        return str(service["client_secret"])
    finally:
        await engine.dispose()


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", *args])  # noqa: S603 - our own modules


def run_demo() -> int:
    settings = demo_settings()
    upgrade(settings.database_url)
    coach_secret = asyncio.run(_seed(settings))
    broker = ["--broker", settings.issuer]
    children = [
        _spawn(["providers.enedis.simulator", "--host", "127.0.0.1", "--port", str(SIMULATOR)]),
        _spawn(["providers.grdf.simulator", "--port", str(GRDF), *broker]),
        _spawn(["providers.generic.simulator", "--kind", "water", "--port", str(WATER), *broker]),
        _spawn(
            ["providers.generic.simulator", "--kind", "mobility", "--port", str(MOBILITY), *broker]
        ),
        _spawn(
            [
                "clients.carbon_coach",
                "--host",
                "127.0.0.1",
                "--port",
                str(COACH),
                "--issuer",
                settings.issuer,
                "--client-id",
                "carbon-coach",
                "--client-secret",
                coach_secret,
            ]
        ),
    ]
    print(
        "\n  Aiguillage demo\n"
        f"  broker (resident dashboard)   http://127.0.0.1:{BROKER}/\n"
        f"  Enedis Data Connect simulator http://127.0.0.1:{SIMULATOR}/\n"
        f"  GRDF ADICT simulator          http://127.0.0.1:{GRDF}/\n"
        f"  water (Téléo) simulator       http://127.0.0.1:{WATER}/\n"
        f"  mobility (TraceMob) simulator http://127.0.0.1:{MOBILITY}/\n"
        f"  carbon coach (example)        http://127.0.0.1:{COACH}/\n"
        f"  demo resident login           {DEMO_LOGIN} / {DEMO_PASSWORD}\n"
        f"  holder console (Enedis staff) http://127.0.0.1:{BROKER}/console/\n"
        f"                                {STAFF_LOGIN} / {STAFF_PASSWORD}\n"
        "  Start at the coach: « Connecter mon compteur Linky ». Ctrl-C stops everything.\n",
        flush=True,
    )
    try:
        web.run_app(
            create_app(settings),
            host="127.0.0.1",
            port=BROKER,
            access_log=None,
            print=None,
            loop=new_event_loop(settings.event_loop),
        )
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)
    return 0
