"""What the domain needs from the outside world, as Protocols. ``broker/`` implements them
on SQLAlchemy; ``tests/unit`` implements them as in-memory fakes.

A ``UnitOfWork`` is one transaction: everything a use case does through it is committed
together or not at all, which is how a failure leaves the consent, the tokens and the
ledger as they were.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol

from consent.ledger import LedgerEntry, LedgerEvent
from consent.model import Consent


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


class UnitOfWork(Protocol):
    # Read-only properties, so that an implementation may hold more specific repositories.
    @property
    def consents(self) -> ConsentRepository: ...

    @property
    def ledger(self) -> LedgerWriter: ...

    @property
    def tokens(self) -> GrantTokens: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
