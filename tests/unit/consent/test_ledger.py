"""The ledger is a hash chain: any edit, deletion or reordering is found and named."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from consent.ledger import GENESIS_HASH, LedgerEntry, LedgerEvent, chain, compute_hash, verify

from .builders import HOLDER, NOW, RESIDENT, SERVICE


def _event(kind: str, **details: Any) -> LedgerEvent:
    return LedgerEvent(
        kind=kind,
        actor=f"service:{SERVICE}",
        subject=RESIDENT,
        consent_id="grant-1",
        service=SERVICE,
        holder=HOLDER,
        details=details,
    )


def _ledger(length: int = 4) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    for i in range(length):
        entries.append(
            chain(
                entries[-1] if entries else None,
                _event("transfer.served", bytes=1000 + i, records=i, ok=True, ratio=0.5),
                NOW + timedelta(minutes=i),
            )
        )
    return entries


def test_the_first_entry_follows_the_genesis_hash() -> None:
    first = chain(None, _event("consent.requested"), NOW)
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert first.hash == compute_hash(1, NOW, first, GENESIS_HASH)


def test_each_entry_points_at_the_one_before() -> None:
    entries = _ledger()
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert all(b.prev_hash == a.hash for a, b in pairwise(entries))


def test_an_untouched_chain_verifies_and_reports_its_head() -> None:
    entries = _ledger()
    result = verify(entries)
    assert result.ok and result.first_bad_seq is None and result.problem is None
    assert (result.count, result.head_seq, result.head_hash) == (4, 4, entries[-1].hash)


def test_an_empty_ledger_verifies() -> None:
    result = verify([])
    assert result.ok
    assert (result.count, result.head_seq, result.head_hash) == (0, 0, GENESIS_HASH)


def test_verify_accepts_any_iterable_replayed_once() -> None:
    assert verify(iter(_ledger())).ok


@pytest.mark.parametrize(
    "change",
    [
        {"details": {"bytes": 1, "records": 1, "ok": True, "ratio": 0.5}},
        {"details": {}},
        {"kind": "transfer.denied"},
        {"actor": "service:someone-else"},
        {"subject": "bob"},
        {"consent_id": "grant-2"},
        {"service": "other"},
        {"holder": "grdf"},
    ],
    ids=repr,
)
def test_an_edited_entry_is_named_as_the_first_bad_one(change: dict[str, Any]) -> None:
    entries = _ledger()
    entries[1] = entries[1].model_copy(update=change)
    result = verify(entries)
    assert not result.ok
    assert result.first_bad_seq == 2
    assert result.problem is not None and "edited" in result.problem
    assert (result.count, result.head_seq, result.head_hash) == (1, 1, entries[0].hash)


def test_an_edited_timestamp_is_found() -> None:
    entries = _ledger()
    entries[2] = entries[2].model_copy(update={"at": entries[2].at + timedelta(seconds=1)})
    assert verify(entries).first_bad_seq == 3


def test_an_edit_whose_hash_was_recomputed_breaks_the_next_link() -> None:
    entries = _ledger()
    forged = entries[1].model_copy(update={"details": {"bytes": 0}})
    entries[1] = forged.model_copy(
        update={"hash": compute_hash(forged.seq, forged.at, forged, forged.prev_hash)}
    )
    result = verify(entries)
    assert result.first_bad_seq == 3
    assert result.problem is not None and "previous-hash" in result.problem


def test_a_deleted_entry_is_named_by_its_missing_number() -> None:
    entries = _ledger()
    del entries[1]
    result = verify(entries)
    assert not result.ok
    assert result.first_bad_seq == 2
    assert result.problem is not None and "deleted or reordered" in result.problem


def test_a_deleted_first_entry_is_found() -> None:
    assert verify(_ledger()[1:]).first_bad_seq == 1


def test_reordered_entries_are_found_at_the_first_misplaced_one() -> None:
    entries = _ledger()
    entries[1], entries[2] = entries[2], entries[1]
    result = verify(entries)
    assert not result.ok
    assert result.first_bad_seq == 2


def test_a_changed_previous_hash_is_named() -> None:
    entries = _ledger()
    entries[2] = entries[2].model_copy(update={"prev_hash": "f" * 64})
    result = verify(entries)
    assert result.first_bad_seq == 3
    assert result.problem is not None and "previous-hash" in result.problem


def test_a_renumbered_entry_is_found() -> None:
    entries = _ledger()
    entries[3] = entries[3].model_copy(update={"seq": 5})
    assert verify(entries).first_bad_seq == 4


def test_the_hash_covers_scalar_types_not_just_their_text() -> None:
    as_int = chain(None, _event("x", n=1), NOW)
    as_str = chain(None, _event("x", n="1"), NOW)
    as_bool = chain(None, _event("x", n=True), NOW)
    assert len({as_int.hash, as_str.hash, as_bool.hash}) == 3


def test_a_truncated_tail_still_verifies_so_the_signed_head_must_be_checked_too() -> None:
    entries = _ledger()
    result = verify(entries[:2])
    assert result.ok
    assert result.head_hash != entries[-1].hash  # only a comparison with the signed head tells
