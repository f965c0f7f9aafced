"""The tamper-evident ledger: an append-only hash chain of metadata about every event.

Each entry's hash covers its own fields and the previous entry's hash, so editing,
deleting or reordering any entry breaks every hash after it. Entries hold metadata only
(who, what, when, how many bytes and records, outcome), never the data itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

GENESIS_HASH = "0" * 64

Scalar = str | int | float | bool | None


class LedgerEvent(BaseModel):
    """What happened, before it has a place in the chain."""

    model_config = ConfigDict(frozen=True)

    kind: str  # e.g. consent.granted, transfer.served, transfer.denied
    actor: str  # "resident:<id>", "service:<client_id>", "system:…"
    subject: str | None = None  # the resident concerned, if any
    consent_id: str | None = None
    service: str | None = None
    holder: str | None = None
    details: dict[str, Scalar] = Field(default_factory=dict)


class LedgerEntry(LedgerEvent):
    seq: int
    at: datetime
    prev_hash: str
    hash: str


def _canonical(seq: int, at: datetime, event: LedgerEvent, prev_hash: str) -> bytes:
    body: dict[str, Any] = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "kind": event.kind,
        "actor": event.actor,
        "subject": event.subject,
        "consent_id": event.consent_id,
        "service": event.service,
        "holder": event.holder,
        "details": event.details,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(seq: int, at: datetime, event: LedgerEvent, prev_hash: str) -> str:
    return hashlib.sha256(_canonical(seq, at, event, prev_hash)).hexdigest()


def chain(previous: LedgerEntry | None, event: LedgerEvent, at: datetime) -> LedgerEntry:
    if previous is None:
        return next_entry(0, GENESIS_HASH, event, at)
    return next_entry(previous.seq, previous.hash, event, at)


def next_entry(head_seq: int, head_hash: str, event: LedgerEvent, at: datetime) -> LedgerEntry:
    """The entry that follows the head ``(head_seq, head_hash)``; ``(0, GENESIS_HASH)`` starts."""
    seq, prev_hash = head_seq + 1, head_hash
    return LedgerEntry(
        **event.model_dump(),
        seq=seq,
        at=at,
        prev_hash=prev_hash,
        hash=compute_hash(seq, at, event, prev_hash),
    )


class Verification(BaseModel):
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


class ChainVerifier:
    """Checks entries one at a time, so a ledger of millions streams through in batches."""

    def __init__(self) -> None:
        self._expected_seq = 1
        self._prev_hash = GENESIS_HASH
        self._count = 0
        self._failure: Verification | None = None

    def feed(self, entry: LedgerEntry) -> bool:
        """Check the next entry; False once the chain is broken (further entries are ignored)."""
        if self._failure is not None:
            return False
        problem = None
        if entry.seq != self._expected_seq:
            problem = (
                f"expected entry {self._expected_seq}, found {entry.seq} (deleted or reordered)"
            )
        elif entry.prev_hash != self._prev_hash:
            problem = "its previous-hash does not match the entry before it"
        elif compute_hash(entry.seq, entry.at, entry, entry.prev_hash) != entry.hash:
            problem = "its content does not match its hash (edited)"
        if problem is not None:
            self._failure = Verification(
                ok=False,
                count=self._count,
                head_seq=self._expected_seq - 1,
                head_hash=self._prev_hash,
                first_bad_seq=self._expected_seq,
                problem=problem,
            )
            return False
        self._count += 1
        self._expected_seq, self._prev_hash = entry.seq + 1, entry.hash
        return True

    def result(self) -> Verification:
        if self._failure is not None:
            return self._failure
        return Verification(
            ok=True, count=self._count, head_seq=self._expected_seq - 1, head_hash=self._prev_hash
        )


def verify(entries: Iterable[LedgerEntry]) -> Verification:
    """Replay the chain in order; name the first entry that does not fit."""
    verifier = ChainVerifier()
    for entry in entries:
        if not verifier.feed(entry):
            break
    return verifier.result()
