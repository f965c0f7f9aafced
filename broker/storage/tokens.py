"""Issued tokens (implements ``consent.ports.GrantTokens``), stored only as hashes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

from broker.storage.engine import checked_writes, shared_readers
from broker.storage.pg_statements import PgStatement
from broker.storage.sqlite_driver import (
    Expectation,
    execute_many_and_commit,
    run_on_driver_thread,
)
from broker.storage.tables import consents, tokens
from consent.model import Consent

# --- SQLite: hot statements straight on the driver -------------------------------------
#
# On SQLite, SQLAlchemy's aiosqlite adapter makes four trips to aiosqlite's thread per
# statement (cursor, execute, fetch, close): about 300 µs each, idle, against about 30 µs for
# one ``execute_fetchall``. With one SQLite connection per process, that time is the OAuth
# endpoints' throughput. The few statements of their hot paths are therefore compiled
# once by SQLAlchemy (same SQL, same column types) and run on the driver connection under
# the unit of work's connection: same connection, same transaction (the driver opens it
# before the first write; the unit of work commits or rolls it back). PostgreSQL keeps
# SQLAlchemy Core (asyncpg makes no thread trips).

_SQLITE = aiosqlite_dialect()


class SqliteStatement:
    """A SQLAlchemy statement compiled for SQLite once, run in one trip to the driver,
    with SQLAlchemy's own bind and result conversions (``UtcDateTime``, ``JSON``)."""

    def __init__(self, statement: Select[Any] | UpdateBase) -> None:
        compiled = statement.compile(dialect=_SQLITE)
        self.sql = str(compiled)
        names = compiled.positiontup or []
        self._binds: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, _bind_processor(compiled.binds[name].type)) for name in names
        ]
        columns = list(statement.exported_columns)
        self.keys = tuple(str(column.key) for column in columns)
        self._results = [
            column.type.dialect_impl(_SQLITE).result_processor(_SQLITE, None) for column in columns
        ]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(
            values[name] if convert is None else convert(values[name])
            for name, convert in self._binds
        )

    async def rows(self, driver: Any, **values: Any) -> list[dict[str, Any]]:
        fetched: Sequence[Sequence[Any]] = await driver.execute_fetchall(
            self.sql, self.params(values)
        )
        return self.convert(fetched)

    def convert(
        self, fetched: Sequence[Sequence[Any]], raw: frozenset[str] = frozenset()
    ) -> list[dict[str, Any]]:
        """Rows as SQLAlchemy would return them; the columns named in ``raw`` are left as
        the driver gave them (the JSON text a caller parses once and memoises)."""
        results = [
            None if key in raw else convert
            for key, convert in zip(self.keys, self._results, strict=True)
        ]
        return [
            {
                key: value if convert is None or value is None else convert(value)
                for key, convert, value in zip(self.keys, results, row, strict=True)
            }
            for row in fetched
        ]

    async def many(self, driver: Any, rows: list[dict[str, Any]]) -> None:
        await driver.executemany(self.sql, [self.params(row) for row in rows])


def _bind_processor(kind: Any) -> Callable[[Any], Any] | None:
    processor: Callable[[Any], Any] | None = kind.dialect_impl(_SQLITE).bind_processor(_SQLITE)
    return processor


async def sqlite_driver(conn: AsyncConnection) -> Any | None:
    """The aiosqlite connection under ``conn`` (None on PostgreSQL)."""
    if conn.dialect.name != "sqlite":
        return None
    sync = conn.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        # Checked out already: no I/O, so no need for SQLAlchemy's greenlet hop.
        return sync.connection.driver_connection
    raw = await conn.get_raw_connection()
    return raw.driver_connection


_TOKEN_COLUMNS = tuple(c.name for c in tokens.columns)
_ADDED = ("token_hash", "kind", "client_id", "grant_id", "issued_at", "expires_at")
# A token and its grant in one statement (the grant may be gone: outer join).
_WITH_GRANT = select(tokens, consents.c.data.label("grant_data")).join_from(
    tokens, consents, consents.c.id == tokens.c.grant_id, isouter=True
)
# The same, taking the grant's row lock as ``lock_grant`` does (PostgreSQL). An inner
# join: PostgreSQL cannot lock the nullable side of an outer join.
_LOCKING_GRANT = (
    select(tokens, consents.c.data.label("grant_data"))
    .join_from(tokens, consents, consents.c.id == tokens.c.grant_id)
    .with_for_update(of=consents)
)
_ROTATE = (
    update(tokens)
    .where(
        tokens.c.token_hash == bindparam("h"),
        tokens.c.rotated_at.is_(None),
        tokens.c.revoked_at.is_(None),
    )
    .values(rotated_at=bindparam("now"))
)
# The same with the grant's sealed holder credential, for a data request's admission.
_FOR_TRANSFER = select(
    tokens,
    consents.c.data.label("grant_data"),
    consents.c.holder_credential_enc.label("grant_credential"),
).join_from(tokens, consents, consents.c.id == tokens.c.grant_id, isouter=True)
_SQLITE_WITH_GRANT = SqliteStatement(_WITH_GRANT.where(tokens.c.token_hash == bindparam("h")))
_SQLITE_FOR_TRANSFER = SqliteStatement(_FOR_TRANSFER.where(tokens.c.token_hash == bindparam("h")))
_PG_FOR_TRANSFER = PgStatement(_FOR_TRANSFER.where(tokens.c.token_hash == bindparam("h")))
_SQLITE_ROTATE = SqliteStatement(_ROTATE.returning(tokens.c.token_hash))
_ADD_MANY = insert(tokens).values({name: bindparam(name) for name in _ADDED})
_SQLITE_ADD = SqliteStatement(_ADD_MANY)


_SQLITE_GRANT_TEXT = SqliteStatement(
    select(consents.c.data).where(consents.c.id == bindparam("id"))
)


async def checked_write(
    engine: AsyncEngine, expectations: Sequence[Expectation], rows: Sequence[Mapping[str, Any]]
) -> bool:
    """Add the token ``rows`` (keys: those of ``SqlTokens.add``) on SQLite's writer
    connection in one transaction with ``expectations``, if each returns what is expected
    (``sqlite_driver.write_if_unchanged``), group-committed with the token responses
    written meanwhile (``broker.storage.checked_writes``); False, nothing written, if one
    does not."""
    params = [_SQLITE_ADD.params(row) for row in rows]
    return await checked_writes(engine).write(expectations, _SQLITE_ADD.sql, params)


async def rotate_and_add_tokens(
    engine: AsyncEngine,
    token_hash: str,
    now: datetime,
    grant_id: str,
    grant_text: str,
    rows: Sequence[Mapping[str, Any]],
) -> bool:
    """Retire the refresh token ``token_hash`` and add ``rows`` in one trip (SQLite), if
    the token is still neither rotated nor revoked and its grant's stored JSON is still
    ``grant_text``, the one its checks were made on; False, nothing written, otherwise."""
    rotate = _SQLITE_ROTATE.params({"h": token_hash, "now": now})
    grant = _SQLITE_GRANT_TEXT.params({"id": grant_id})
    expectations: list[Expectation] = [
        (_SQLITE_ROTATE.sql, rotate, [(token_hash,)]),
        (_SQLITE_GRANT_TEXT.sql, grant, [(grant_text,)]),
    ]
    return await checked_write(engine, expectations, rows)


# A token and its grant (None if the grant is gone).
TokenWithGrant = tuple["TokenRecord", Consent | None]
# The same and the grant's sealed holder credential (None if the grant is gone or has none).
TokenForTransfer = tuple["TokenRecord", Consent | None, str | None]


async def read_for_transfer(engine: AsyncEngine, token_hash: str) -> TokenForTransfer | None:
    """``SqlTokens.find_for_transfer`` outside any unit of work, for a data request's
    admission: the one statement, read fresh (it sees every commit made before it). On a
    SQLite file it is read on the event loop's own connection
    (``SharedReaders.fetch_point``), without waiting for the one writer connection;
    elsewhere on a connection of its own, outside any transaction."""
    reads = shared_readers(engine)
    if reads is None:
        async with engine.connect() as conn:
            return await SqlTokens(conn).find_for_transfer(token_hash)
    statement = _SQLITE_FOR_TRANSFER
    fetched = await reads.fetch_point(statement.sql, statement.params({"h": token_hash}))
    return _for_transfer(statement.convert(fetched))


def _for_transfer(rows: Sequence[Mapping[Any, Any]]) -> TokenForTransfer | None:
    if not rows:
        return None
    row = rows[0]
    return token_record(row), grant_of(row), row["grant_credential"]


def token_record(row: Mapping[Any, Any]) -> TokenRecord:
    """The token of a row that selected ``tokens`` (its columns by their names)."""
    return TokenRecord(**{name: row[name] for name in _TOKEN_COLUMNS})


def grant_of(row: Mapping[Any, Any]) -> Consent | None:
    """The grant of a row that selected ``consents.data`` as ``grant_data``."""
    data = row["grant_data"]
    return None if data is None else Consent.model_validate(data)


@dataclass(frozen=True)
class TokenRecord:
    token_hash: str
    kind: str
    client_id: str
    grant_id: str
    issued_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_at: datetime | None

    def usable(self, now: datetime) -> bool:
        if self.revoked_at is not None or self.rotated_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


class SqlTokens:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self,
        *,
        token_hash: str,
        kind: str,
        client_id: str,
        grant_id: str,
        issued_at: datetime,
        expires_at: datetime | None,
    ) -> None:
        await self._conn.execute(
            insert(tokens).values(
                token_hash=token_hash,
                kind=kind,
                client_id=client_id,
                grant_id=grant_id,
                issued_at=issued_at,
                expires_at=expires_at,
            )
        )

    async def add_many_and_commit(self, rows: list[dict[str, Any]]) -> bool:
        """On SQLite: insert the tokens and commit the transaction (with whatever it wrote
        before) in one trip to the driver's thread, and say True; the caller then closes
        its unit of work's transaction as usual (``SqlUnitOfWork.commit``, which then sends
        nothing). False elsewhere: the caller adds and commits as usual."""
        driver = await sqlite_driver(self._conn)
        if driver is None or not rows:
            return False
        params = [_SQLITE_ADD.params(row) for row in rows]
        await run_on_driver_thread(driver, execute_many_and_commit, _SQLITE_ADD.sql, params)
        return True

    async def add_many(self, rows: list[dict[str, Any]]) -> None:
        """Insert several tokens in one statement (keys: those of ``add``)."""
        if not rows:
            return
        driver = await sqlite_driver(self._conn)
        if driver is not None:
            await _SQLITE_ADD.many(driver, rows)
        else:
            # executemany: the statement is compiled once and cached; a multi-row
            # ``.values(rows)`` was compiled anew on every call (a fifth of a token
            # response's CPU on PostgreSQL).
            await self._conn.execute(_ADD_MANY, rows)

    async def find_with_grant(self, token_hash: str) -> TokenWithGrant | None:
        """The token and its grant (None if the grant is gone), in one statement."""
        driver = await sqlite_driver(self._conn)
        if driver is not None:
            rows = await _SQLITE_WITH_GRANT.rows(driver, h=token_hash)
            return (token_record(rows[0]), grant_of(rows[0])) if rows else None
        query = _WITH_GRANT.where(tokens.c.token_hash == token_hash)
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else (token_record(row), grant_of(row))

    async def find_for_transfer(self, token_hash: str) -> TokenForTransfer | None:
        """``find_with_grant`` with the grant's sealed holder credential
        (``SqlConsentRepository.holder_credential``), in the same one statement."""
        driver = await sqlite_driver(self._conn)
        if driver is not None:
            rows = await _SQLITE_FOR_TRANSFER.rows(driver, h=token_hash)
        else:  # asyncpg directly (broker.storage.pg_statements)
            rows = await _PG_FOR_TRANSFER.rows(self._conn, h=token_hash)
        return _for_transfer(rows)

    async def find_locking_grant(self, token_hash: str) -> TokenWithGrant | None:
        """The token and its grant, the grant's row locked as ``lock_grant`` does, in one
        statement; a token whose grant is gone comes back with None (nothing to lock).
        On SQLite there is no row lock (one writer at a time): the plain read."""
        if self._conn.dialect.name == "sqlite":
            return await self.find_with_grant(token_hash)
        query = _LOCKING_GRANT.where(tokens.c.token_hash == token_hash)
        row = (await self._conn.execute(query)).mappings().first()
        if row is not None:
            return token_record(row), grant_of(row)
        record = await self.find(token_hash)
        return None if record is None else (record, None)

    async def find(self, token_hash: str) -> TokenRecord | None:
        row = (
            await self._conn.execute(select(tokens).where(tokens.c.token_hash == token_hash))
        ).first()
        return None if row is None else TokenRecord(**row._asdict())

    async def lock_grant(self, grant_id: str) -> None:
        """Take the grant's consent row lock (PostgreSQL; SQLite has one writer anyway).

        Whatever changes a grant's tokens takes this lock first: a revocation does, by
        updating the consent before its tokens. A refresh that touched its token first and
        then, finding it reused, revoked the grant would lock in the other order and
        deadlock with a concurrent refresh doing just that (seen with two instances).
        """
        await self._conn.execute(
            select(consents.c.id).where(consents.c.id == grant_id).with_for_update()
        )

    async def mark_rotated(self, token_hash: str, now: datetime) -> bool:
        """Retire a refresh token; False if another request retired it first (a race)."""
        driver = await sqlite_driver(self._conn)
        if driver is not None:
            return bool(await _SQLITE_ROTATE.rows(driver, h=token_hash, now=now))
        result = await self._conn.execute(_ROTATE, {"h": token_hash, "now": now})
        return result.rowcount == 1

    async def revoke(self, token_hash: str, now: datetime) -> None:
        await self._conn.execute(
            update(tokens)
            .where(tokens.c.token_hash == token_hash, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_for_grant(self, grant_id: str, now: datetime) -> int:
        """Revoke every token of the grant, rotated ones included; return how many were
        still usable (rotated refresh tokens were not)."""
        live = await self._conn.scalar(
            select(func.count())
            .select_from(tokens)
            .where(
                tokens.c.grant_id == grant_id,
                tokens.c.revoked_at.is_(None),
                tokens.c.rotated_at.is_(None),
            )
        )
        await self._conn.execute(
            update(tokens)
            .where(tokens.c.grant_id == grant_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(live or 0)
