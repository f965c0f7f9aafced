"""``aiguillage holders …`` beyond ``add``: holder staff accounts for the console.

aiguillage holders staff-add HOLDER LOGIN   create a console account (password from stdin)
aiguillage holders list                     the registered holders and their resources
aiguillage holders update FILE              replace a registered holder's manifest
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from broker.admin.holders import HolderIdMismatch, UnknownHolder, update_holder
from broker.crypto import SecretBox
from broker.settings import Settings
from broker.storage.engine import make_engine
from broker.storage.holder_staff import SqlHolderStaff
from broker.storage.uow import SqlUnitOfWork

MIN_PASSWORD = 12


def _password() -> str:
    return sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass()


async def _staff_add(settings: Settings, holder: str, login: str, password: str) -> int:
    engine = make_engine(settings.database_url)
    try:
        async with SqlUnitOfWork(engine) as uow:
            if await uow.holders.get(holder) is None:
                print(f"no holder {holder}", file=sys.stderr)
                return 1
            staff = await SqlHolderStaff(uow.conn).add(
                holder=holder, login=login.strip().lower(), password=password, now=uow.now
            )
            await uow.commit()
    except IntegrityError:
        print("error: this login is already taken", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print(f"staff {staff.id} of {holder} created; console at {settings.issuer}/console/")
    return 0


def cmd_staff_add(settings: Settings, args: argparse.Namespace) -> int:
    password = _password()
    if len(password) < MIN_PASSWORD:
        print(f"a password needs at least {MIN_PASSWORD} characters", file=sys.stderr)
        return 1
    return asyncio.run(_staff_add(settings, args.holder, args.login, password))


async def _list(settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        async with SqlUnitOfWork(engine) as uow:
            manifests = await uow.holders.list()
    finally:
        await engine.dispose()
    for manifest in manifests:
        names = ", ".join(r.name for r in manifest.resources)
        print(f"{manifest.id}\t{manifest.protocol}\t{manifest.name}\t{names}")
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_list(settings))


async def _update(settings: Settings, payload: dict[str, Any]) -> int:
    box = SecretBox(settings.encryption_key_bytes())
    manifest = payload.get("manifest")
    holder_id = manifest.get("id") if isinstance(manifest, dict) else None
    if not isinstance(holder_id, str):
        print("error: the file has no manifest.id", file=sys.stderr)
        return 1
    engine = make_engine(settings.database_url)
    try:
        updated = await update_holder(engine, box, holder_id, payload)
    except ValidationError as error:
        for e in error.errors()[:20]:
            where = ".".join(str(p) for p in e["loc"])
            print(f"error: {where}: {e['msg']}", file=sys.stderr)
        return 1
    except (UnknownHolder, HolderIdMismatch):
        print(f"error: no holder {holder_id} is registered (use holders add)", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    names = ", ".join(r.name for r in updated.resources)
    print(f"holder {updated.id} updated ({len(updated.resources)} resources: {names})")
    return 0


def cmd_update(settings: Settings, args: argparse.Namespace) -> int:
    try:
        payload = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"error: {args.file}: {error}", file=sys.stderr)
        return 1
    if not isinstance(payload, dict):
        print(f"error: {args.file}: expected a JSON object", file=sys.stderr)
        return 1
    return asyncio.run(_update(settings, payload))


def register(holders: Any) -> None:
    """Add the subcommands to ``aiguillage holders`` (an argparse subparsers action)."""
    staff = holders.add_parser("staff-add", help="create a holder console account")
    staff.add_argument("holder")
    staff.add_argument("login")
    staff.set_defaults(func=cmd_staff_add)
    holders.add_parser("list", help="list registered holders").set_defaults(func=cmd_list)
    update = holders.add_parser("update", help="replace a registered holder's manifest")
    update.add_argument("file")
    update.set_defaults(func=cmd_update)
