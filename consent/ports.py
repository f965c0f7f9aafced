"""What the domain needs from the outside world, as Protocols. ``broker/`` implements them
on SQLAlchemy; ``tests/unit`` implements them as in-memory fakes.

A ``UnitOfWork`` is one transaction: everything a use case does through it is committed
together or not at all, which is how a failure leaves the consent, the tokens and the
ledger as they were.

The ``Outbox`` is how effects outside the transaction (a notice to the service, a
revocation at the holder) stay consistent with it: they are recorded as pending work in
the same transaction, and delivered afterwards, at least once, by the broker.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol

from consent.ledger import LedgerEntry, LedgerEvent
from consent.model import Consent
from consent.notices import ServiceNotice


class ConsentRepository(Protocol):
    async def get(self, consent_id: str) -> Consent | None: ...

    async def add(self, consent: Consent) -> None: ...

    async def save(self, consent: Consent) -> None:
        """Persist the consent's new state; a new revision keeps the old one on record."""
        ...

    async def list_for_subject(self, subject: str) -> list[Consent]: ...

    async def list_due_to_expire(self, now: datetime, limit: int) -> list[Consent]: ...


class LedgerWriter(Protocol):
    async def append(self, event: LedgerEvent, at: datetime) -> LedgerEntry: ...


class GrantTokens(Protocol):
    async def revoke_for_grant(self, grant_id: str, now: datetime) -> int:
        """Revoke every token issued under the grant; return how many were live."""
        ...


class Outbox(Protocol):
    async def notify_service(self, notice: ServiceNotice) -> None:
        """Record a notice to deliver to the service's notification endpoint."""
        ...

    async def revoke_at_holder(self, consent: Consent, now: datetime) -> None:
        """Record that the broker's credential for this consent must be revoked at the
        holder (where the holder offers that)."""
        ...


class SubjectEraser(Protocol):
    async def forget(self, subject: str) -> None:
        """Delete everything that names the resident: account, sessions, consents, and the
        key that links their ledger pseudonym to them. Part of the caller's transaction."""
        ...


class UnitOfWork(Protocol):
    # Read-only properties, so that an implementation may hold more specific repositories.
    @property
    def consents(self) -> ConsentRepository: ...

    @property
    def ledger(self) -> LedgerWriter: ...

    @property
    def tokens(self) -> GrantTokens: ...

    @property
    def outbox(self) -> Outbox: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
