"""The ``aiguillage`` command.

aiguillage serve [--host H] [--port P]     run the broker (settings from AIGUILLAGE_*)
aiguillage migrate                         bring the database to the current schema
aiguillage demo                            broker + four holder simulators + carbon coach
aiguillage ledger verify                   replay the hash chain; exit 1 on a break
aiguillage ledger head                     print the signed head of the ledger
aiguillage holders add FILE                register a holder from its JSON manifest
aiguillage holders update FILE             replace a registered holder's manifest
aiguillage holders staff-add HOLDER LOGIN  a holder console account (password from stdin)
aiguillage holders list                    registered holders and their resources
aiguillage services add FILE [--approve]   register a service (prints a minted secret)
aiguillage services approve CLIENT_ID
aiguillage residents add LOGIN NAME        create a resident (password from stdin)
aiguillage consents revoke ID --reason R   end a live consent as the operator
aiguillage keys rotate | rotate-signing    rotate the encryption or the signing key
aiguillage receipts verify FILE [--jwks X] check a consent receipt's signature offline
aiguillage bench [--quick] [--only FIGURE]  measure the broker against going direct
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from broker import cli_bench, cli_consents, cli_holders, cli_keys, cli_receipts
from broker.app import create_app
from broker.crypto import SecretBox, Signer
from broker.event_loop import loop_name, new_event_loop
from broker.ledger_check import check_ledger
from broker.operator import add_resident, approve_service, register_holder, register_service
from broker.settings import Settings
from broker.storage.engine import make_engine
from broker.storage.migrate import upgrade


def _with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[int]]) -> int:
    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _read_json(path: str) -> dict[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: expected a JSON object")
    return data


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    settings = settings.model_copy(
        update={"host": args.host or settings.host, "port": args.port or settings.port}
    )
    app = create_app(settings)  # configures the logs too
    loop = new_event_loop(settings.event_loop)
    structlog.get_logger(__name__).info(
        "broker.serving", host=settings.host, port=settings.port, event_loop=loop_name(loop)
    )
    web.run_app(app, host=settings.host, port=settings.port, access_log=None, loop=loop)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    upgrade(settings.database_url)
    print("database is at the current schema")
    return 0


def cmd_ledger_verify(settings: Settings, args: argparse.Namespace) -> int:
    async def work(engine: AsyncEngine) -> int:
        report = await check_ledger(engine)
        print(f"{report.describe()} ({report.per_second:,.0f} entries/s)")
        return 0 if report.ok else 1

    return _with_engine(settings, work)


def cmd_ledger_head(settings: Settings, args: argparse.Namespace) -> int:
    async def work(engine: AsyncEngine) -> int:
        report = await check_ledger(engine)
        signer = Signer.load_or_create(settings.signing_key_path)
        print(
            signer.sign(
                {"seq": report.head_seq, "hash": report.head_hash, "iss": settings.issuer},
                "ledger-head+jws",
            )
        )
        return 0 if report.ok else 1

    return _with_engine(settings, work)


def cmd_holders_add(settings: Settings, args: argparse.Namespace) -> int:
    box = SecretBox(settings.encryption_key_bytes())

    async def work(engine: AsyncEngine) -> int:
        manifest = await register_holder(engine, box, _read_json(args.file))
        print(f"holder {manifest.id} registered ({len(manifest.resources)} resources)")
        return 0

    return _with_engine(settings, work)


def cmd_services_add(settings: Settings, args: argparse.Namespace) -> int:
    async def work(engine: AsyncEngine) -> int:
        registration, secret = await register_service(
            engine, _read_json(args.file), approve=args.approve
        )
        print(f"service {registration.client_id} registered ({registration.status})")
        if secret and "client_secret" not in _read_json(args.file):
            print(f"client secret (shown once): {secret}")
        return 0

    return _with_engine(settings, work)


def cmd_services_approve(settings: Settings, args: argparse.Namespace) -> int:
    async def work(engine: AsyncEngine) -> int:
        if not await approve_service(engine, args.client_id):
            print(f"no service {args.client_id}", file=sys.stderr)
            return 1
        print(f"service {args.client_id} approved")
        return 0

    return _with_engine(settings, work)


def cmd_residents_add(settings: Settings, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass()
    if len(password) < 8:
        print("a password needs at least 8 characters", file=sys.stderr)
        return 1

    async def work(engine: AsyncEngine) -> int:
        resident = await add_resident(
            engine, login=args.login, password=password, display_name=args.name
        )
        print(f"resident {resident.id} created")
        return 0

    return _with_engine(settings, work)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from broker.demo import run_demo

    return run_demo()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiguillage", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the broker")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="migrate the database").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="run the whole demo on loopback").set_defaults(func=cmd_demo)
    ledger = sub.add_parser("ledger", help="the tamper-evident ledger").add_subparsers(
        dest="ledger_command", required=True
    )
    ledger.add_parser("verify").set_defaults(func=cmd_ledger_verify)
    ledger.add_parser("head").set_defaults(func=cmd_ledger_head)
    holders = sub.add_parser("holders").add_subparsers(dest="holders_command", required=True)
    add_holder = holders.add_parser("add")
    add_holder.add_argument("file")
    add_holder.set_defaults(func=cmd_holders_add)
    cli_holders.register(holders)
    services = sub.add_parser("services").add_subparsers(dest="services_command", required=True)
    add_service = services.add_parser("add")
    add_service.add_argument("file")
    add_service.add_argument("--approve", action="store_true")
    add_service.set_defaults(func=cmd_services_add)
    approve = services.add_parser("approve")
    approve.add_argument("client_id")
    approve.set_defaults(func=cmd_services_approve)
    residents = sub.add_parser("residents").add_subparsers(dest="residents_command", required=True)
    add_res = residents.add_parser("add")
    add_res.add_argument("login")
    add_res.add_argument("name")
    add_res.set_defaults(func=cmd_residents_add)
    cli_consents.register(sub)
    cli_keys.register(sub)
    cli_receipts.register(sub)
    cli_bench.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler: Callable[[Settings, argparse.Namespace], int] = args.func
    try:
        return int(handler(Settings(), args))
    except ValidationError as exc:
        # Name every faulty field, as the operator wrote it, without a traceback.
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            print(f"invalid: {where}: {error['msg']}", file=sys.stderr)
        return 2
    except (OSError, json.JSONDecodeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except IntegrityError:
        print("error: already registered (same id)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
