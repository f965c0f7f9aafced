"""In-memory fakes of the ports in ``consent/ports.py``.

One ``Store`` plays the database. A ``FakeUnitOfWork`` stages everything done through it
and applies it to the store only on ``commit()``; leaving the ``async with`` block without
committing discards the staged changes, as a rolled-back transaction would. Consents are
copied on the way in and out, so a use case that mutates a consent and then fails cannot
leak the mutation into the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from consent.ledger import LedgerEntry, LedgerEvent, chain
from consent.model import Consent
from consent.notices import ServiceNotice
from consent.ports import ConsentRepository, GrantTokens, LedgerWriter, Outbox


def _copy(consent: Consent) -> Consent:
    return consent.model_copy(deep=True)


@dataclass
class Store:
    """What has been committed."""

    consents: dict[str, Consent] = field(default_factory=dict)
    revisions: list[Consent] = field(default_factory=list)  # superseded revisions, kept
    ledger: list[LedgerEntry] = field(default_factory=list)
    live_tokens: dict[str, int] = field(default_factory=dict)  # grant_id -> live tokens
    token_revocations: list[tuple[str, datetime]] = field(default_factory=list)
    notices: list[ServiceNotice] = field(default_factory=list)  # the outbox, committed
    holder_revocations: list[str] = field(default_factory=list)  # grant ids, committed
    erased: list[str] = field(default_factory=list)  # subjects forgotten
    commits: int = 0

    def issue_tokens(self, grant_id: str, count: int = 1) -> None:
        self.live_tokens[grant_id] = self.live_tokens.get(grant_id, 0) + count

    def put(self, *consents: Consent) -> Store:
        """Seed committed consents, as if earlier transactions had stored them."""
        for consent in consents:
            self.consents[consent.id] = _copy(consent)
        return self

    def consent(self, consent_id: str) -> Consent:
        return _copy(self.consents[consent_id])

    def snapshot(self) -> dict[str, Any]:
        """Everything committed, as plain data, to compare before and after."""
        return {
            "consents": {k: v.model_dump() for k, v in self.consents.items()},
            "revisions": [c.model_dump() for c in self.revisions],
            "ledger": [e.model_dump() for e in self.ledger],
            "live_tokens": dict(self.live_tokens),
            "token_revocations": list(self.token_revocations),
            "notices": [n.model_dump() for n in self.notices],
            "holder_revocations": list(self.holder_revocations),
            "erased": list(self.erased),
        }


class FakeConsentRepository:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._staged: dict[str, Consent] = {}
        self._superseded: list[Consent] = []

    def _current(self, consent_id: str) -> Consent | None:
        if consent_id in self._staged:
            return self._staged[consent_id]
        return self._store.consents.get(consent_id)

    async def get(self, consent_id: str) -> Consent | None:
        found = self._current(consent_id)
        return None if found is None else _copy(found)

    async def add(self, consent: Consent) -> None:
        if self._current(consent.id) is not None:
            raise ValueError(f"duplicate consent id {consent.id}")  # a unique-key violation
        self._staged[consent.id] = _copy(consent)

    async def save(self, consent: Consent) -> None:
        previous = self._current(consent.id)
        if previous is None:
            raise ValueError(f"save of unknown consent {consent.id}")
        if previous.revision != consent.revision:
            self._superseded.append(_copy(previous))
        self._staged[consent.id] = _copy(consent)

    def _view(self) -> list[Consent]:
        return [_copy(c) for c in {**self._store.consents, **self._staged}.values()]

    async def list_for_subject(self, subject: str) -> list[Consent]:
        return [c for c in self._view() if c.subject == subject]

    async def list_due_to_expire(self, now: datetime, limit: int) -> list[Consent]:
        due = [
            c
            for c in self._view()
            if c.state.is_live and c.expires_at is not None and c.expires_at <= now
        ]
        due.sort(key=lambda c: (c.expires_at, c.id))
        return due[:limit]

    def _commit(self) -> None:
        self._store.consents.update(self._staged)
        self._store.revisions.extend(self._superseded)
        self._rollback()

    def _rollback(self) -> None:
        self._staged, self._superseded = {}, []


class FakeLedger:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[LedgerEntry] = []

    async def append(self, event: LedgerEvent, at: datetime) -> LedgerEntry:
        head = self._pending or self._store.ledger
        entry = chain(head[-1] if head else None, event, at)
        self._pending.append(entry)
        return entry

    def _commit(self) -> None:
        self._store.ledger.extend(self._pending)
        self._rollback()

    def _rollback(self) -> None:
        self._pending = []


class FakeGrantTokens:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[tuple[str, datetime]] = []

    async def revoke_for_grant(self, grant_id: str, now: datetime) -> int:
        already = any(g == grant_id for g, _ in self._pending)
        self._pending.append((grant_id, now))
        return 0 if already else self._store.live_tokens.get(grant_id, 0)

    def _commit(self) -> None:
        for grant_id, at in self._pending:
            self._store.live_tokens[grant_id] = 0
            self._store.token_revocations.append((grant_id, at))
        self._rollback()

    def _rollback(self) -> None:
        self._pending = []


class FakeOutbox:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._notices: list[ServiceNotice] = []
        self._holder: list[str] = []

    async def notify_service(self, notice: ServiceNotice) -> None:
        self._notices.append(notice)

    async def revoke_at_holder(self, consent: Consent, now: datetime) -> None:
        self._holder.append(consent.id)

    def _commit(self) -> None:
        self._store.notices.extend(self._notices)
        self._store.holder_revocations.extend(self._holder)
        self._rollback()

    def _rollback(self) -> None:
        self._notices, self._holder = [], []


class FakeEraser:
    """``SubjectEraser``: forgets the subject's consents in the same (staged) transaction."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def forget(self, subject: str) -> None:
        self._uow.pending_erasures.append(subject)


class FakeUnitOfWork:
    consents: ConsentRepository
    ledger: LedgerWriter
    tokens: GrantTokens
    outbox: Outbox

    def __init__(self, store: Store | None = None) -> None:
        self.store = store if store is not None else Store()
        self._repository = FakeConsentRepository(self.store)
        self._ledger = FakeLedger(self.store)
        self._tokens = FakeGrantTokens(self.store)
        self._outbox = FakeOutbox(self.store)
        self.consents, self.ledger, self.tokens = self._repository, self._ledger, self._tokens
        self.outbox = self._outbox
        self.pending_erasures: list[str] = []
        self.committed = 0
        self.rolled_back = 0

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        self._repository._commit()
        self._ledger._commit()
        self._tokens._commit()
        self._outbox._commit()
        for subject in self.pending_erasures:
            self.store.erased.append(subject)
            for consent_id in [c.id for c in self.store.consents.values() if c.subject == subject]:
                del self.store.consents[consent_id]
        self.pending_erasures = []
        self.committed += 1
        self.store.commits += 1

    async def rollback(self) -> None:
        """Discard what was not committed; after a commit there is nothing left to discard."""
        self._repository._rollback()
        self._ledger._rollback()
        self._tokens._rollback()
        self._outbox._rollback()
        self.pending_erasures = []
        self.rolled_back += 1
