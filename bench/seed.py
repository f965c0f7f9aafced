"""Figure 5's data: residents, consents and a ledger of millions of entries in PostgreSQL.

Residents and consents are made by the database itself (``INSERT … SELECT`` over
``generate_series``, in batches) from one consent built and serialised by the domain
model, so every row reads back as a valid ``Consent``.

The ledger must be a valid chain, or verifying it would mean nothing. Its hashes are
sequential by nature (each covers the previous one), so one producer process computes the
chain while this process streams its rows into ``COPY``: the two cores work side by side.
The producer writes each entry's canonical text with a template rather than through
``json.dumps``, which is what makes 10 million entries take seconds instead of minutes;
the first entries and every ``CHECK_EVERY``-th one are compared with
``consent.ledger.compute_hash``, and the bench's verification pass replays all of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from consent.details import AuthorizationDetail
from consent.ledger import LedgerEvent, compute_hash, details_text
from consent.model import Consent, ConsentState

SERVICE = "carbon-coach"
HOLDER = "enedis"
CONSENTS_PER_RESIDENT = 5
BATCH = 100_000
CHECK_EVERY = 100_000
ROWS_PER_CHUNK = 20_000
RESOURCES = ("daily_consumption", "consumption_load_curve")
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Size:
    consents: int
    entries: int

    @property
    def residents(self) -> int:
        return max(1, self.consents // CONSENTS_PER_RESIDENT)


QUICK = Size(consents=10_000, entries=100_000)
FULL = Size(consents=1_000_000, entries=10_000_000)


def consent_id(i: int) -> str:
    return f"cns_bench_{i:08d}"


def resident_id(i: int) -> str:
    return f"res_bench_{i:07d}"


def subject_of(consent_index: int, size: Size) -> str:
    return resident_id(consent_index % size.residents)


def _consent_template(now: datetime) -> str:
    detail = AuthorizationDetail.model_validate(
        {
            "type": "personal_data_transfer",
            "holder": HOLDER,
            "resources": list(RESOURCES),
            "purpose": "energy_coaching",
            "data_window": {"history": "P2Y", "include_future": True},
            "frequency": "continuous",
            "duration": "P1Y",
        }
    )
    consent = Consent(
        id="@ID@",
        subject="@SUBJECT@",
        service=SERVICE,
        holder=HOLDER,
        holder_subject="…1234",
        requested=detail,
        resources=list(RESOURCES),
        purpose=detail.purpose,
        data_window=detail.data_window,
        frequency=detail.frequency,
        duration=detail.duration,
        state=ConsentState.ACTIVE,
        created_at=now,
        decided_at=now,
        activated_at=now,
        expires_at=now + timedelta(days=365),
    )
    return consent.model_dump_json()


async def seed_rows(dsn: str, size: Size, password_hash: str) -> None:
    """Residents and consents, in batches, each batch one statement run by PostgreSQL."""
    now = datetime.now(UTC)
    template = _consent_template(now)
    conn = await asyncpg.connect(dsn)
    try:
        for first in range(0, size.residents, BATCH):
            last = min(size.residents, first + BATCH) - 1
            await conn.execute(
                "INSERT INTO residents (id, login, password_hash, display_name, locale, created_at)"
                " SELECT 'res_bench_' || lpad(i::text, 7, '0'), 'r' || i || '@bench.example',"
                " $1, 'Résident ' || i, 'fr', $2 FROM generate_series($3::int, $4::int) AS i",
                password_hash,
                now,
                first,
                last,
            )
        for first in range(0, size.consents, BATCH):
            last = min(size.consents, first + BATCH) - 1
            await conn.execute(
                "INSERT INTO consents (id, subject, service, holder, state, revision, expires_at,"
                " data, updated_at)"
                " SELECT c.id, c.subject, $1, $2, 'active', 1, $3,"
                " replace(replace($4, '@ID@', c.id), '@SUBJECT@', c.subject)::json, $5"
                " FROM (SELECT 'cns_bench_' || lpad(i::text, 8, '0') AS id,"
                " 'res_bench_' || lpad((i % $6::int)::text, 7, '0') AS subject"
                " FROM generate_series($7::int, $8::int) AS i) AS c",
                SERVICE,
                HOLDER,
                now + timedelta(days=365),
                template,
                now,
                size.residents,
                first,
                last,
            )
        await conn.execute("ANALYZE residents")
        await conn.execute("ANALYZE consents")
    finally:
        await conn.close()


def _micros(seq: int) -> int:
    """A fraction of a second for entry ``seq``: the broker's clock has microseconds."""
    return seq * 7919 % 1_000_000


def _event(seq: int, size: Size) -> tuple[LedgerEvent, datetime]:
    """Entry ``seq``'s content: transfers of the consents in turn, one per second of 2025."""
    index = seq % size.consents
    resource = RESOURCES[seq % 2]
    event = LedgerEvent(
        kind="transfer.served",
        actor=f"service:{SERVICE}",
        subject=subject_of(index, size),
        consent_id=consent_id(index),
        service=SERVICE,
        holder=HOLDER,
        details={
            "bytes": 9000 + seq % 1000,
            "end": "2025-01-08",
            "outcome": "ok",
            "records": 336,
            "resource": resource,
            "start": "2025-01-01",
        },
    )
    return event, EPOCH + timedelta(seconds=seq, microseconds=_micros(seq))


def _produce(size: Size, first_seq: int, head_hash: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The chain, as COPY text chunks, put on ``out``; then the final head, then None."""
    prev = head_hash
    rows: list[str] = []
    epoch_s = EPOCH.timestamp()
    for seq in range(first_seq, first_seq + size.entries):
        index = seq % size.consents
        subject, cid = subject_of(index, size), consent_id(index)
        resource = RESOURCES[seq % 2]
        at = datetime.fromtimestamp(epoch_s + seq, UTC).isoformat(timespec="microseconds")
        at = f"{at[:20]}{_micros(seq):06d}{at[26:]}"
        # Stored as the broker stores it: the canonical text the hash covers
        # (``consent.ledger.details_text``).
        details = (
            f'{{"bytes":{9000 + seq % 1000},"end":"2025-01-08","outcome":"ok",'
            f'"records":336,"resource":"{resource}","start":"2025-01-01"}}'
        )
        canonical = (
            f'{{"actor":"service:{SERVICE}","at":"{at}","consent_id":"{cid}",'
            f'"details":{details},"holder":"{HOLDER}","kind":"transfer.served",'
            f'"prev_hash":"{prev}","seq":{seq},"service":"{SERVICE}","subject":"{subject}"}}'
        )
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        if seq - first_seq < 100 or seq % CHECK_EVERY == 0:
            event, moment = _event(seq, size)
            if compute_hash(seq, moment, event, prev) != digest:
                raise AssertionError(f"the seeding template diverges from the ledger at {seq}")
            if details != details_text(event.details) or at != moment.isoformat(
                timespec="microseconds"
            ):
                raise AssertionError(f"the stored entry diverges from the ledger's at {seq}")
        rows.append(
            f"{seq}\t{at}\ttransfer.served\tservice:{SERVICE}\t{subject}\t{cid}\t{SERVICE}"
            f"\t{HOLDER}\t{details}\t{prev}\t{digest}\n"
        )
        prev = digest
        if len(rows) >= ROWS_PER_CHUNK:
            out.put("".join(rows).encode())
            rows = []
    if rows:
        out.put("".join(rows).encode())
    out.put(json.dumps([first_seq + size.entries - 1, prev]).encode())
    out.put(None)


async def _chunks(queue: multiprocessing.Queue, head: list[str]) -> AsyncIterator[bytes]:  # type: ignore[type-arg]
    loop = asyncio.get_running_loop()
    while True:
        item = await loop.run_in_executor(None, queue.get)
        if item is None:
            return
        if item.startswith(b"["):
            head.append(item.decode())
            continue
        yield item


LEDGER_COLUMNS = [
    "seq", "at", "kind", "actor", "subject", "consent_id", "service", "holder", "details",
    "prev_hash", "hash",
]  # fmt: skip
LEDGER_INDEXES = ("ix_ledger_subject", "ix_ledger_consent_id")


async def seed_ledger(dsn: str, size: Size) -> tuple[int, str]:
    """Append ``size.entries`` chained entries after the current head; move the head."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT seq, hash FROM ledger_head WHERE id = 1")
        assert row is not None
        # Indexes are cheaper built once at the end than kept up row by row.
        definitions = [
            await conn.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname = $1", name)
            for name in LEDGER_INDEXES
        ]
        for name in LEDGER_INDEXES:
            await conn.execute(f"DROP INDEX IF EXISTS {name}")
        await conn.execute("SET synchronous_commit = off")
        queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue(maxsize=16)  # type: ignore[type-arg]
        producer = multiprocessing.get_context("fork").Process(
            target=_produce, args=(size, int(row["seq"]) + 1, str(row["hash"]), queue)
        )
        producer.start()
        head: list[str] = []
        try:
            await conn.copy_to_table(
                "ledger", source=_chunks(queue, head), columns=LEDGER_COLUMNS, format="text"
            )
        finally:
            producer.join()
        if producer.exitcode != 0:
            raise RuntimeError(f"the ledger producer failed (exit {producer.exitcode})")
        seq, digest = json.loads(head[0])
        await conn.execute("UPDATE ledger_head SET seq = $1, hash = $2 WHERE id = 1", seq, digest)
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for definition in definitions:
            if definition:
                await conn.execute(definition)
        await conn.execute("ANALYZE ledger")
        return int(seq), str(digest)
    finally:
        await conn.close()
