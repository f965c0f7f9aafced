"""The tamper-evident ledger: an append-only hash chain of metadata about every event.

Each entry's hash covers its own fields and the previous entry's hash, so editing,
deleting or reordering any entry breaks every hash after it. Entries hold metadata only
(who, what, when, how many bytes and records, outcome), never the data itself.
"""

from __future__ import annotations

import hashlib
import json
import json.scanner
from collections.abc import Iterable
from dataclasses import dataclass
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


# --- Verifying from plain rows, in ranges -----------------------------------------------
#
# ``aiguillage ledger verify`` replays millions of entries. Building a ``LedgerEntry`` per
# row (pydantic) and going through ``compute_hash`` costs about as much as reading the row;
# the rows the database hands back are already typed, so the check below works on plain
# tuples and builds the same canonical text itself, taking the stored ``details`` text as
# it stands when it is the canonical one (``row_matches``). ``compute_hash`` stays the
# definition: ``tests/unit/consent/test_ledger_fast_hash.py`` checks with hypothesis that
# ``row_hash`` agrees with it for arbitrary entries, and that ``row_matches`` says what
# parsing and re-encoding says for any text in the details column.

# (seq, at, kind, actor, subject, consent_id, service, holder, details, prev_hash, hash),
# ``at`` already as ``datetime.isoformat(timespec="microseconds")`` of the UTC moment.
LedgerRow = tuple[
    int, str, str, str, str | None, str | None, str | None, str | None, dict[str, Scalar], str, str
]
# The same as the database hands it back: ``details`` as stored (its JSON text, or
# whatever else a tampered row holds there).
StoredRow = tuple[int, str, str, str, str | None, str | None, str | None, str | None, Any, str, str]

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
)
# ``JSONEncoder.encode`` builds its C encoder anew on every call; build it once (the same
# arguments ``JSONEncoder.iterencode`` passes), or fall back to ``encode`` without it.
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_c_encode: Any = (
    None
    if _c_make_encoder is None
    else _c_make_encoder(
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )
)


def _encode(body: Any) -> str:
    return _ENCODER.encode(body) if _c_encode is None else "".join(_c_encode(body, 0))


def details_text(details: dict[str, Scalar]) -> str:
    """The canonical text of an entry's ``details``: the bytes its hash covers, and how the
    broker stores them, so that verification can hash the stored text as it stands."""
    return _encode(details)


_sha256 = hashlib.sha256


_string = json.encoder.encode_basestring  # what the encoder uses with ensure_ascii=False


def _hash_with(row: StoredRow, details_json: str) -> str:
    """The hash of ``row`` with ``details_json`` written verbatim as its details' text."""
    seq, at, kind, actor, subject, consent_id, service, holder, _, prev_hash, _ = row
    # The canonical text written out in its (sorted) key order, each value encoded as the
    # encoder would.
    string = _string
    text = (
        f'{{"actor":{string(actor)},"at":{string(at)},"consent_id":'
        f"{'null' if consent_id is None else string(consent_id)},"
        f'"details":{details_json},"holder":'
        f"{'null' if holder is None else string(holder)},"
        f'"kind":{string(kind)},"prev_hash":{string(prev_hash)},"seq":{int.__repr__(seq)},'
        f'"service":{"null" if service is None else string(service)},"subject":'
        f"{'null' if subject is None else string(subject)}}}"
    )
    return _sha256(text.encode()).hexdigest()


def row_hash(row: LedgerRow) -> str:
    """``compute_hash`` of a plain row (its own ``hash`` field is ignored)."""
    seq, at, kind, actor, subject, consent_id, service, holder, details, prev_hash, _ = row
    if _c_encode is not None and type(seq) is int:
        return _hash_with(row, "".join(_c_encode(details, 0)))
    body = {
        "actor": actor,
        "at": at,
        "consent_id": consent_id,
        "details": details,
        "holder": holder,
        "kind": kind,
        "prev_hash": prev_hash,
        "seq": seq,
        "service": service,
        "subject": subject,
    }
    return _sha256(_encode(body).encode()).hexdigest()


_DECODER = json.JSONDecoder()
_scan: Any = getattr(json.scanner, "c_make_scanner", lambda _: None)(_DECODER)


def _stored_details(value: Any) -> Any:
    """``json.loads`` of a stored ``details`` (what SQLAlchemy's JSON type does), through
    the C scanner when the whole text is one JSON value without surrounding blanks; a
    value that is not text is returned as it is (and will not match its hash)."""
    if not isinstance(value, str):
        return json.loads(value) if isinstance(value, bytes) else value
    if _scan is not None:
        try:
            parsed, end = _scan(value, 0)
        except StopIteration:
            return json.loads(value)  # raises as the reference would
        if end == len(value):
            return parsed
    return json.loads(value)


def row_matches(row: StoredRow) -> bool:
    """Whether the row's stored hash is ``compute_hash`` of its content.

    The broker stores ``details`` as their canonical text (``details_text``), so the stored
    text is hashed as it stands: no parse, no re-encoding. That is sound because every
    other field is written into the hashed text as a JSON literal (string, null or
    integer) that can be read back unambiguously from either end of the text, so one
    hashed text has only one details' text between them: a match means the stored text
    is, byte for byte, the canonical text hashed when the entry was written. Anything
    else (a ledger written before the broker stored canonical text, whose details hold
    ``json.dumps``' default form, or an edited row) is parsed and re-encoded, as the
    reference does, and matches only if its content is the one hashed."""
    details, stored = row[8], row[10]
    # A non-empty default-form text always holds '": ': skip a hash that cannot match.
    if (
        type(details) is str
        and '": ' not in details
        and type(row[0]) is int
        and _hash_with(row, details) == stored
    ):
        return True
    seq, at, kind, actor, subject, consent_id, service, holder, _, prev_hash, _ = row
    try:
        parsed = _stored_details(details)
        plain = (seq, at, kind, actor, subject, consent_id, service, holder, parsed, prev_hash, "")
        return row_hash(plain) == stored
    except (ValueError, TypeError):
        return False  # not JSON, or not a value JSON can hold: the hashed details were


@dataclass(frozen=True)
class RangePart:
    """What checking one seq range of the chain found. Its first entry's ``seq`` and
    ``prev_hash`` are the joint with the range before, checked by ``join_ranges``;
    everything else in the range (the seqs follow, each previous-hash names the entry
    before, each hash matches its content) is checked by ``RangeVerifier``."""

    count: int  # entries that passed, before the first bad one if any
    first_seq: int | None = None  # None: the range held no entry
    first_prev_hash: str | None = None
    last_seq: int | None = None  # the last entry that passed
    last_hash: str | None = None
    bad_seq: int | None = None
    problem: str | None = None


class RangeVerifier:
    """``ChainVerifier`` over one range of plain rows, its joint left to ``join_ranges``."""

    def __init__(self) -> None:
        self._count = 0
        self._first: tuple[int, str] | None = None
        self._last: tuple[int, str] | None = None
        self._bad: tuple[int, str] | None = None

    def feed(self, rows: Iterable[StoredRow]) -> bool:
        """Check the next rows, in seq order; False once the range is broken."""
        if self._bad is not None:
            return False
        count, last = self._count, self._last
        for row in rows:
            seq, prev_hash, stored = row[0], row[9], row[10]
            problem = None
            if last is None:
                self._first = (seq, prev_hash)
            elif seq != last[0] + 1:
                problem = f"expected entry {last[0] + 1}, found {seq} (deleted or reordered)"
            elif prev_hash != last[1]:
                problem = "its previous-hash does not match the entry before it"
            if problem is None and not row_matches(row):
                problem = "its content does not match its hash (edited)"
            if problem is not None:
                self._bad = (seq if last is None else last[0] + 1, problem)
                break
            count += 1
            last = (seq, stored)
        self._count, self._last = count, last
        return self._bad is None

    def result(self) -> RangePart:
        first_seq, first_prev = self._first if self._first is not None else (None, None)
        last_seq, last_hash = self._last if self._last is not None else (None, None)
        bad_seq, problem = self._bad if self._bad is not None else (None, None)
        return RangePart(
            count=self._count,
            first_seq=first_seq,
            first_prev_hash=first_prev,
            last_seq=last_seq,
            last_hash=last_hash,
            bad_seq=bad_seq,
            problem=problem,
        )


def join_ranges(parts: Iterable[RangePart]) -> Verification:
    """The verification of the whole chain from its consecutive ranges, in order: the
    same answer as ``verify`` over all the entries, to the first bad seq and the count."""
    expected, prev_hash, count = 1, GENESIS_HASH, 0

    def broken(seq: int, problem: str, counted: int, head: tuple[int, str]) -> Verification:
        return Verification(
            ok=False,
            count=counted,
            head_seq=head[0],
            head_hash=head[1],
            first_bad_seq=seq,
            problem=problem,
        )

    for part in parts:
        if part.first_seq is None:
            continue
        head = (expected - 1, prev_hash)
        if part.first_seq != expected:
            problem = f"expected entry {expected}, found {part.first_seq} (deleted or reordered)"
            return broken(expected, problem, count, head)
        if part.first_prev_hash != prev_hash:
            problem = "its previous-hash does not match the entry before it"
            return broken(expected, problem, count, head)
        if part.bad_seq is not None:
            assert part.problem is not None
            if part.last_seq is not None and part.last_hash is not None:
                head = (part.last_seq, part.last_hash)
            return broken(part.bad_seq, part.problem, count + part.count, head)
        assert part.last_seq is not None and part.last_hash is not None
        count += part.count
        expected, prev_hash = part.last_seq + 1, part.last_hash
    return Verification(ok=True, count=count, head_seq=expected - 1, head_hash=prev_hash)
