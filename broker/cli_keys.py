"""``aiguillage keys …``: rotating the keys the broker holds.

aiguillage keys rotate                 re-seal every sealed value under AIGUILLAGE_ENCRYPTION_KEY
                                       (the old key listed in AIGUILLAGE_OLD_ENCRYPTION_KEYS),
                                       queued jobs' sealed payload fields included
aiguillage keys rotate-signing         make a new signing key; the previous one stays in
                                       /jwks.json so what it signed still verifies
aiguillage keys retire-signing -- KID  stop publishing an earlier signing key
                                       (the -- because a key id may start with "-")

Encryption rotation runs one transaction per batch: a crash midway leaves every row
readable (each ciphertext names its key), and running the command again finishes the job.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.crypto import SecretBox, Signer
from broker.jobs import SEALED_FIELDS, SealedField
from broker.settings import Settings
from broker.storage.engine import make_engine
from broker.storage.tables import consents, holder_webhooks, holders, jobs

BATCH = 200


@dataclass(frozen=True)
class SealedColumn:
    """A column of sealed values and the associated data each was bound to."""

    table: Table
    key_column: str
    column: str
    bound_prefix: str

    @property
    def key(self) -> Column[str]:
        return self.table.c[self.key_column]

    @property
    def value(self) -> Column[str]:
        return self.table.c[self.column]


SEALED = (
    SealedColumn(holders, "id", "client_secret_enc", "holder:"),
    SealedColumn(consents, "id", "holder_credential_enc", "consent:"),
    SealedColumn(holder_webhooks, "holder", "secret_enc", "holder-webhook:"),
)


async def reseal(engine: AsyncEngine, box: SecretBox, batch: int = BATCH) -> dict[str, int]:
    """Re-seal every value not already under the current key; counts per column.

    Columns first, then the jobs still to run: a consent ended meanwhile moves its
    credential (as it was sealed) into a ``holder.revoke`` job, which the job pass sees.
    """
    counts: dict[str, int] = {}
    for sealed in SEALED:
        name = f"{sealed.table.name}.{sealed.column}"
        counts[name] = await _reseal_column(engine, box, sealed, batch)
    counts["jobs.payload"] = await _reseal_jobs(engine, box, batch)
    return counts


async def _reseal_jobs(engine: AsyncEngine, box: SecretBox, batch: int) -> int:
    """The sealed payload fields (``broker/jobs.py`` ``SEALED_FIELDS``) of jobs not yet
    done or given up (a finished job has shed them). The update re-checks that the job is
    still pending, so a job that finished meanwhile does not get its secret back."""
    pending = (jobs.c.done_at.is_(None), jobs.c.failed_at.is_(None))
    done, after = 0, ""
    while True:
        async with engine.begin() as conn:  # one transaction per batch
            rows = (
                await conn.execute(
                    select(jobs.c.id, jobs.c.kind, jobs.c.payload)
                    .where(jobs.c.id > after, jobs.c.kind.in_(list(SEALED_FIELDS)), *pending)
                    .order_by(jobs.c.id)
                    .limit(batch)
                )
            ).all()
            for job_id, kind, payload in rows:
                fresh = _resealed_payload(box, SEALED_FIELDS[kind], dict(payload))
                if fresh is None:
                    continue
                await conn.execute(
                    update(jobs).where(jobs.c.id == job_id, *pending).values(payload=fresh)
                )
                done += 1
        if len(rows) < batch:
            return done
        after = rows[-1][0]


def _resealed_payload(
    box: SecretBox, fields: tuple[SealedField, ...], payload: dict[str, Any]
) -> dict[str, Any] | None:
    changed = False
    for field in fields:
        value = payload.get(field.name)
        if isinstance(value, str) and box.needs_rotation(value):
            bound = field.bound_to(payload)
            payload[field.name] = box.seal(box.open(value, bound_to=bound), bound_to=bound)
            changed = True
    return payload if changed else None


async def _reseal_column(
    engine: AsyncEngine, box: SecretBox, sealed: SealedColumn, batch: int
) -> int:
    done, after = 0, ""
    while True:
        async with engine.begin() as conn:  # one transaction per batch
            rows = (
                await conn.execute(
                    select(sealed.key, sealed.value)
                    .where(sealed.key > after, sealed.value.is_not(None))
                    .order_by(sealed.key)
                    .limit(batch)
                )
            ).all()
            for row_id, value in rows:
                if not box.needs_rotation(value):
                    continue
                bound = sealed.bound_prefix + row_id
                fresh = box.seal(box.open(value, bound_to=bound), bound_to=bound)
                await conn.execute(
                    update(sealed.table)
                    .where(sealed.key == row_id, sealed.value == value)
                    .values({sealed.column: fresh})
                )
                done += 1
        if len(rows) < batch:
            return done
        after = rows[-1][0]


def cmd_rotate(settings: Settings, args: argparse.Namespace) -> int:
    box = SecretBox(
        settings.encryption_key_bytes(),
        [SecretBox.decode_key(k.get_secret_value()) for k in settings.old_encryption_keys],
    )

    async def run() -> dict[str, int]:
        engine = make_engine(settings.database_url)
        try:
            return await reseal(engine, box)
        finally:
            await engine.dispose()

    for name, count in asyncio.run(run()).items():
        print(f"{name}: {count} re-sealed")
    return 0


def cmd_rotate_signing(settings: Settings, args: argparse.Namespace) -> int:
    signer = Signer.rotate(settings.signing_key_path)
    print(f"new signing key {signer.kid}; published: {', '.join(signer.published_kids)}")
    print("restart every broker instance to sign with it")
    return 0


def cmd_retire_signing(settings: Settings, args: argparse.Namespace) -> int:
    current = Signer.load_or_create(settings.signing_key_path)
    if args.kid == current.kid or not Signer.retire(settings.signing_key_path, args.kid):
        print(f"no earlier signing key {args.kid}", file=sys.stderr)
        return 1
    print(f"signing key {args.kid} retired")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="rotate encryption and signing keys").add_subparsers(
        dest="keys_command", required=True
    )
    keys.add_parser("rotate", help="re-seal under the current key").set_defaults(func=cmd_rotate)
    keys.add_parser("rotate-signing").set_defaults(func=cmd_rotate_signing)
    retire = keys.add_parser("retire-signing")
    retire.add_argument("kid")
    retire.set_defaults(func=cmd_retire_signing)
