"""Seeing ledger entries as they are committed, without touching the code that writes them.

Every grant, transfer, denial and revocation goes through one ``INSERT INTO ledger``
(``broker.storage.ledger``), whichever surface caused it. Listening to the engine for that
insert gives metrics one source that cannot miss a new code path. Entries are held per
connection and handed on when its transaction commits; a rollback drops them, so a
counter never counts what did not happen. (SQLAlchemy signals a commit as it is issued: a
commit failing at that very moment is counted; the database going away then is rare and
shows in the error metrics anyway.)

Only metadata is read from the entry: its kind, the kind of actor, the holder and a few
detail fields with values from a fixed vocabulary. Subjects and ids never leave here.

The one writer that goes around SQLAlchemy, the data plane's ledger batch on SQLite
(``broker.data.sqlite_batch``), hands its committed entries to ``ledger_committed``, which
passes them to the same watchers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import structlog
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import Insert

from broker.storage.engine import forgetting, listen_all
from broker.storage.tables import ledger
from consent.ledger import LedgerEntry

log = structlog.get_logger(__name__)

_PENDING = "aiguillage.ledger_pending"
# The watchers of each engine, for writers that report their commits themselves.
_WATCHERS: WeakKeyDictionary[Engine, list[Callable[[list[Observed]], None]]] = WeakKeyDictionary()


@dataclass(frozen=True)
class Observed:
    """The metadata of one committed ledger entry."""

    kind: str
    actor_kind: str  # "resident", "service", "holder", "system", "operator"
    holder: str
    outcome: str  # transfers: "ok" or what went wrong; "" otherwise
    reason: str  # denials and revocations; "" otherwise
    bytes: int


def _observed(values: dict[str, Any]) -> Observed:
    details = values.get("details") or {}
    return Observed(
        kind=str(values.get("kind", "")),
        actor_kind=str(values.get("actor", "")).split(":", 1)[0],
        holder=str(values.get("holder") or ""),
        outcome=str(details.get("outcome") or ""),
        reason=str(details.get("reason") or ""),
        bytes=int(details.get("bytes") or 0),
    )


def watch_ledger(
    engine: AsyncEngine, on_commit: Callable[[list[Observed]], None]
) -> Callable[[], None]:
    """Call ``on_commit`` with the entries of each committed transaction; return ``stop``."""

    def after_cursor_execute(conn: Connection, *args: Any) -> None:
        # The parameters the insert was executed with, as the statement compiled them
        # (``context.compiled_parameters``): reading them costs nothing, where compiling
        # the statement again to see its values cost 0.2 ms per entry (docs/performance.md).
        context = args[3]
        compiled = getattr(context, "compiled", None)
        statement = getattr(compiled, "statement", None)
        if isinstance(statement, Insert) and statement.table is ledger:
            try:
                pending = conn.info.setdefault(_PENDING, [])
                pending.extend(_observed(values) for values in context.compiled_parameters)
            except Exception:  # observing must never break the write it observes
                log.exception("ledger_watch.unreadable_entry")

    def commit(conn: Connection) -> None:
        pending = conn.info.pop(_PENDING, None)
        if pending:
            on_commit(pending)

    forget = forgetting(_PENDING)
    watchers = _WATCHERS.setdefault(engine.sync_engine, [])
    watchers.append(on_commit)
    listeners: list[tuple[str, Callable[..., None]]] = [
        ("after_cursor_execute", after_cursor_execute),
        ("commit", commit),
        ("rollback", forget),
        ("engine_connect", forget),  # a fresh checkout never inherits a stale list
    ]
    detach = listen_all(engine, listeners)

    def stop() -> None:
        detach()
        if on_commit in watchers:
            watchers.remove(on_commit)

    return stop


def ledger_committed(engine: AsyncEngine, entries: list[LedgerEntry]) -> None:
    """Hand ``entries``, just committed on ``engine`` by a writer that went around
    SQLAlchemy (``broker.data.sqlite_batch``), to the watchers of that engine."""
    if not entries:
        return
    for on_commit in list(_WATCHERS.get(engine.sync_engine, ())):
        try:
            on_commit([_observed(entry.model_dump()) for entry in entries])
        except Exception:  # observing must never break the write it observes
            log.exception("ledger_watch.unreadable_entry")
