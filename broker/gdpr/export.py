"""Access and portability (GDPR articles 15 and 20): everything the broker holds about a
resident as one JSON document, and their transfers as CSV.

The broker never keeps the data that flowed; what it holds is the account, the consents
with every revision, and the ledger entries about them. The export says so, and lists
them all. The holder-side identifier (the PRM) is not in it: the broker keeps it sealed
and shows only its last digits, as everywhere else.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from broker.storage.residents import Resident
from broker.storage.uow import SqlUnitOfWork
from consent.ledger import LedgerEntry

FORMAT = "aiguillage-export/1"
TRANSFER_KINDS = ("transfer.served", "transfer.failed", "transfer.denied")
CSV_COLUMNS = (
    "at",
    "grant_id",
    "service",
    "holder",
    "resource",
    "start",
    "end",
    "outcome",
    "bytes",
    "records",
)
MAX_ENTRIES = 100_000


async def ledger_entries(uow: SqlUnitOfWork, resident_id: str) -> list[LedgerEntry]:
    """The resident's entries, oldest first."""
    entries = await uow.ledger.for_subject(resident_id, limit=MAX_ENTRIES)
    return sorted(entries, key=lambda e: e.seq)


async def export_document(
    uow: SqlUnitOfWork, resident: Resident, *, issuer: str, now: datetime
) -> dict[str, Any]:
    consents = []
    for consent in await uow.consents.list_for_subject(resident.id):
        older = await uow.consents.revisions(consent.id)
        consents.append(
            {
                **consent.model_dump(mode="json"),
                "previous_revisions": [c.model_dump(mode="json") for c in older],
            }
        )
    entries = await ledger_entries(uow, resident.id)
    return {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "controller": {"name": "Aiguillage", "issuer": issuer},
        "note": "The broker routes data from holders to services and never stores it; "
        "this is everything it holds about you.",
        "resident": {
            "id": resident.id,
            "login": resident.login,
            "display_name": resident.display_name,
            "locale": resident.locale,
        },
        "consents": consents,
        "ledger": [e.model_dump(mode="json") for e in entries],
    }


def transfers_csv(entries: list[LedgerEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        if entry.kind not in TRANSFER_KINDS:
            continue
        d = entry.details
        writer.writerow(
            [
                entry.at.isoformat(),
                entry.consent_id or "",
                entry.service or "",
                entry.holder or "",
                _cell(d.get("resource")),
                _cell(d.get("start")),
                _cell(d.get("end")),
                _cell(d.get("outcome") or d.get("reason") or entry.kind.split(".")[1]),
                _cell(d.get("bytes")),
                _cell(d.get("records")),
            ]
        )
    return out.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet must not run a cell as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
