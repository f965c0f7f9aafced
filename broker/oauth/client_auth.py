"""Client authentication for every OAuth endpoint (RFC 6749 §2.3).

Two methods, exactly one per request:

* ``client_secret_basic`` (RFC 6749 §2.3.1): HTTP Basic with the form-urlencoded id and
  secret; the registry keeps ``hash_token(secret)``.
* ``private_key_jwt`` (RFC 7523 §2.2, §3): a JWT signed by a key of the client's registered
  JWKS, ``iss`` = ``sub`` = client_id, ``aud`` the issuer or the endpoint URL, a near
  ``exp`` and a single-use ``jti``. On body-less requests (grant management) the assertion
  travels as ``Authorization: Bearer``, as the SDK sends it.

Every failure is the same ``invalid_client`` (401) so that nothing tells a prober which
part was wrong.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn
from urllib.parse import unquote_plus

import structlog
from aiohttp import web
from multidict import MultiDict
from sqlalchemy import Text, bindparam, cast, select
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.crypto import hash_token
from broker.keys import CLOCK, ENGINE, SETTINGS
from broker.oauth.assertion import (
    AssertionClaims,
    client_jwks,
    known_client_jwks,
    unverified_issuer,
    verify_assertion,
)
from broker.oauth.errors import InvalidClient
from broker.oauth.forms import param
from broker.oauth.store import oauth_store
from broker.storage.engine import SharedReaders
from broker.storage.pg_statements import PgStatement
from broker.storage.registry import ServiceRecord
from broker.storage.tables import consents, services, tokens
from broker.storage.tokens import (
    SqliteStatement,
    TokenRecord,
    TokenWithGrant,
    grant_of,
    sqlite_driver,
    token_record,
)
from broker.storage.uow import SqlUnitOfWork
from broker.unit import read_only_unit_of_work
from consent.registry import ServiceRegistration, ServiceStatus

log = structlog.get_logger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_MAX_ASSERTION = 8192


@dataclass(frozen=True)
class PendingClient:
    """A client whose credentials have been read. A ``private_key_jwt`` client is already
    proven (its ``jti`` committed); a ``client_secret_basic`` one is checked by ``check`` on
    the endpoint's own unit of work, read-only, so that the endpoint's work and the client's
    authentication share one transaction."""

    basic: tuple[str, str] | None
    claimed: str | None
    proven: ServiceRegistration | None

    async def check(self, uow: SqlUnitOfWork) -> ServiceRegistration:
        """The authenticated, approved service, or ``InvalidClient``."""
        if self.proven is not None:
            return self.proven
        assert self.basic is not None
        return (await _by_secret(uow, self.basic, self.claimed)).registration

    async def check_with_token(
        self, uow: SqlUnitOfWork, token_hash: str, *, lock_grant: bool = False
    ) -> tuple[ServiceRegistration, TokenWithGrant | None]:
        """``check``, then the token and its grant (``SqlTokens.find_with_grant``, or
        ``find_locking_grant`` with ``lock_grant``). A ``client_secret_basic`` client and
        the token are read in one statement (one trip to the driver on SQLite, one round
        trip on PostgreSQL, instead of two), except for a refresh on PostgreSQL, whose
        grant row is locked (SQLite has no row lock to take); the checks are the same."""
        driver = await sqlite_driver(uow.conn)
        if self.proven is not None or (lock_grant and driver is None):
            service = await self.check(uow)
            if lock_grant:
                return service, await uow.tokens.find_locking_grant(token_hash)
            return service, await uow.tokens.find_with_grant(token_hash)
        assert self.basic is not None
        client_id, secret = self.basic
        _check_claimed(client_id, self.claimed)
        row: Mapping[Any, Any] | None = None
        if len(client_id) <= 64:
            values = {"client_id": client_id, "h": token_hash}
            if driver is not None:
                rows = await _SQLITE_SERVICE_AND_TOKEN.rows(driver, **values)
                row = rows[0] if rows else None
            else:  # PostgreSQL: the same one statement, one round trip instead of two
                row = (await uow.conn.execute(_SERVICE_AND_TOKEN, values)).mappings().first()
        if row is None:
            _refuse_unknown()
        record = _approved(_service_record(row))
        _check_secret(record, client_id, secret)
        found = None if row["token_hash"] is None else (token_record(row), grant_of(row))
        return record.registration, found

    async def check_shared(self, reads: SharedReaders) -> ServiceRegistration:
        """``check`` on SQLite's shared read-only connections, for an endpoint that
        authenticates before it takes the writer connection (the code exchange): the same
        read, fresh, and the same checks."""
        if self.proven is not None:
            return self.proven
        service, _row = await self._shared_row(reads, _SQLITE_SERVICE)
        return service

    async def check_with_token_shared(
        self, reads: SharedReaders, token_hash: str
    ) -> tuple[ServiceRegistration, TokenRecord | None, str | None]:
        """``check_with_token`` for a ``client_secret_basic`` client on SQLite's shared
        read-only connections (``broker.storage.engine.SharedReaders``; introspection):
        the same statement and the same checks, read fresh, in one trip and without a unit
        of work. The grant comes back as its stored JSON text (``None`` if it is gone),
        for the caller to parse once per distinct text (``broker.oauth.introspect``)."""
        service, row = await self._shared_row(reads, _SQLITE_SERVICE_AND_TOKEN, h=token_hash)
        if row["token_hash"] is None:
            return service, None, None
        return service, token_record(row), row["grant_data"]

    async def check_with_token_pg(
        self, conn: AsyncConnection, token_hash: str
    ) -> tuple[ServiceRegistration, TokenRecord | None, str | None]:
        """``check_with_token_shared`` on PostgreSQL: the same one statement sent on asyncpg
        directly (``broker.storage.pg_statements``) on ``conn``, outside any transaction (a
        statement of its own, read fresh), the JSON columns as their stored text."""
        assert self.basic is not None
        client_id, _secret = self.basic
        _check_claimed(client_id, self.claimed)
        rows = []
        if len(client_id) <= 64:
            rows = await _PG_SERVICE_AND_TOKEN.rows(conn, client_id=client_id, h=token_hash)
        service, row = self._proven_by(rows[0] if rows else None)
        if row["token_hash"] is None:
            return service, None, None
        return service, token_record(row), row["grant_data"]

    async def _shared_row(
        self, reads: SharedReaders, statement: SqliteStatement, **values: Any
    ) -> tuple[ServiceRegistration, dict[str, Any]]:
        """The ``client_secret_basic`` client's row read by ``statement`` on the shared
        readers (its JSON columns left as stored text), once the client is proven."""
        assert self.basic is not None
        client_id, _secret = self.basic
        _check_claimed(client_id, self.claimed)
        row = None
        if len(client_id) <= 64:
            bound = statement.params({"client_id": client_id, **values})
            rows = statement.convert(await reads.fetch_point(statement.sql, bound), _RAW_JSON)
            row = rows[0] if rows else None
        return self._proven_by(row)

    def _proven_by(self, row: dict[str, Any] | None) -> tuple[ServiceRegistration, dict[str, Any]]:
        """The client of ``row`` (its registration as stored text), approved and its secret
        checked; ``InvalidClient`` otherwise."""
        assert self.basic is not None
        client_id, secret = self.basic
        if row is None:
            _refuse_unknown()
        record = _approved(_parsed_service(row["registration"], row["status"], row["secret_hash"]))
        _check_secret(record, client_id, secret)
        return record.registration, row


async def begin_authentication(request: web.Request, form: MultiDict[str]) -> PendingClient:
    """Read the client's credentials; prove a client assertion at once.

    A ``private_key_jwt`` assertion is verified and its ``jti`` committed before the
    endpoint does anything, so that a replay is refused even when the first request failed
    later on (``_by_assertion``: no database connection is held while keys are fetched).
    A ``client_secret_basic`` client writes nothing: it is checked by
    ``PendingClient.check`` on the endpoint's unit of work, before anything else reads or
    writes there.
    """
    basic = _basic_credentials(request)
    assertion = _assertion(request, form)
    if basic is not None and assertion is not None:
        raise InvalidClient("use exactly one client authentication method")
    if param(form, "client_secret") is not None:
        raise InvalidClient("client_secret_post is not supported")
    claimed = param(form, "client_id", max_length=64)
    if basic is not None:
        return PendingClient(basic=basic, claimed=claimed, proven=None)
    if assertion is None:
        raise InvalidClient("client authentication is required")
    issuer = request.app[SETTINGS].issuer
    audiences = (issuer, issuer + request.path)
    record = await _by_assertion(request.app, assertion, claimed, audiences)
    return PendingClient(basic=None, claimed=claimed, proven=record.registration)


async def authenticate(request: web.Request, form: MultiDict[str]) -> ServiceRegistration:
    """The authenticated, approved service, or ``InvalidClient``, for endpoints that
    authenticate before opening their own unit of work. ``client_secret_basic`` is checked
    in a read-only unit of work (``read_only_unit_of_work``: nothing to commit)."""
    pending = await begin_authentication(request, form)
    if pending.proven is not None:
        return pending.proven
    async with read_only_unit_of_work(request.app) as uow:
        return await pending.check(uow)


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.getall("Authorization", [])
    if not header:
        return None
    if len(header) > 1:
        raise InvalidClient("one Authorization header only")
    scheme, _, encoded = header[0].partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidClient("malformed Basic credentials") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or not secret:
        raise InvalidClient("malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def _assertion(request: web.Request, form: MultiDict[str]) -> str | None:
    kind = param(form, "client_assertion_type", max_length=128)
    value = param(form, "client_assertion", max_length=_MAX_ASSERTION)
    header = request.headers.get("Authorization", "")
    scheme, _, bearer = header.partition(" ")
    if scheme.lower() == "bearer" and request.method in ("GET", "DELETE"):
        if value is not None:
            raise InvalidClient("use exactly one client authentication method")
        if len(bearer) > _MAX_ASSERTION:
            raise InvalidClient("client assertion too long")
        return bearer.strip() or None
    if kind is None and value is None:
        return None
    if kind != ASSERTION_TYPE or value is None:
        raise InvalidClient(f"client_assertion_type must be {ASSERTION_TYPE}")
    return value


_SQLITE_SERVICE = SqliteStatement(
    select(services.c.registration, services.c.status, services.c.secret_hash).where(
        services.c.client_id == bindparam("client_id")
    )
)
_PG_SERVICE = PgStatement(
    select(
        cast(services.c.registration, Text).label("registration"),
        services.c.status,
        services.c.secret_hash,
    ).where(services.c.client_id == bindparam("client_id"))
)


# The client and a token with its grant (``SqlTokens.find_with_grant``), in one statement.
_SERVICE_AND_TOKEN = (
    select(
        services.c.registration,
        services.c.status,
        services.c.secret_hash,
        tokens,
        consents.c.data.label("grant_data"),
    )
    .select_from(
        services.outerjoin(tokens, tokens.c.token_hash == bindparam("h")).outerjoin(
            consents, consents.c.id == tokens.c.grant_id
        )
    )
    .where(services.c.client_id == bindparam("client_id"))
)
_SQLITE_SERVICE_AND_TOKEN = SqliteStatement(_SERVICE_AND_TOKEN)
# The same on PostgreSQL, its JSON columns read as their stored text (json keeps it
# verbatim), to be parsed once per distinct text as SQLite's are (_parsed_service).
_PG_SERVICE_AND_TOKEN = PgStatement(
    _SERVICE_AND_TOKEN.with_only_columns(
        cast(services.c.registration, Text).label("registration"),
        services.c.status,
        services.c.secret_hash,
        tokens,
        cast(consents.c.data, Text).label("grant_data"),
        maintain_column_froms=True,
    )
)


_RAW_JSON = frozenset({"registration", "grant_data"})


@lru_cache(maxsize=1024)
def _parsed_service(registration: str, status: str, secret_hash: str | None) -> ServiceRecord:
    """A service row parsed once per distinct stored text (the record is immutable). The
    row itself is read on every request, so a suspension or a new secret, which change
    the text, the status or the hash, counts at once."""
    return _service_record(
        {"registration": json.loads(registration), "status": status, "secret_hash": secret_hash}
    )


def _service_record(row: Mapping[str, Any]) -> ServiceRecord:
    registration = ServiceRegistration.model_validate(
        {**row["registration"], "status": row["status"]}
    )
    return ServiceRecord(registration=registration, secret_hash=row["secret_hash"])


async def _lookup(uow: SqlUnitOfWork, client_id: str) -> ServiceRecord | None:
    """``uow.services.get``, read fresh on every request (a suspension or a new secret
    counts at once); on SQLite in one trip to the driver (``broker/storage/tokens.py``), on
    PostgreSQL on asyncpg directly (``broker.storage.pg_statements``)."""
    driver = await sqlite_driver(uow.conn)
    if driver is not None:
        rows = await _SQLITE_SERVICE.rows(driver, client_id=client_id)
        return _service_record(rows[0]) if rows else None
    # PostgreSQL: one statement on asyncpg, the registration parsed once per stored text.
    found = await _PG_SERVICE.rows(uow.conn, client_id=client_id)
    if not found:
        return None
    row = found[0]
    return _parsed_service(row["registration"], row["status"], row["secret_hash"])


def _refuse_unknown() -> NoReturn:
    log.info("client_auth.refused", reason="unknown_or_unapproved")
    raise InvalidClient("client authentication failed")


def _approved(record: ServiceRecord | None) -> ServiceRecord:
    if record is None or record.registration.status is not ServiceStatus.APPROVED:
        _refuse_unknown()
    return record


async def _service(uow: SqlUnitOfWork, client_id: str) -> ServiceRecord:
    return _approved(await _lookup(uow, client_id) if len(client_id) <= 64 else None)


def _check_claimed(client_id: str, claimed: str | None) -> None:
    if claimed is not None and claimed != client_id:
        raise InvalidClient("client_id does not match the authenticated client")


def _check_secret(record: ServiceRecord, client_id: str, secret: str) -> None:
    stored = record.secret_hash or ""
    if not stored or not hmac.compare_digest(hash_token(secret), stored):
        log.info("client_auth.refused", client_id=client_id, reason="secret")
        raise InvalidClient("client authentication failed")


async def _by_secret(
    uow: SqlUnitOfWork, basic: tuple[str, str], claimed: str | None
) -> ServiceRecord:
    client_id, secret = basic
    _check_claimed(client_id, claimed)
    record = await _service(uow, client_id)
    _check_secret(record, client_id, secret)
    return record


async def _by_assertion(
    app: web.Application,
    assertion: str,
    claimed: str | None,
    audiences: tuple[str, ...],
) -> ServiceRecord:
    """The approved client proven by ``assertion``, its ``jti`` committed.

    When the keys are known without the network (inline ``jwks``, or a fresh cached set
    that knows the ``kid``), all happens in one unit of work. Otherwise the registration is
    read in a short unit of work that is closed before the ``jwks_uri`` is fetched (up to
    ``FETCH_TIMEOUT``): on SQLite the process has one connection, and holding it across
    the fetch would stall every request. The assertion is then verified with no connection
    held, and a second unit of work re-reads the client (still approved, same keys) and
    records the ``jti`` (the replay check and the insert are in that one transaction).
    """
    client_id = claimed or unverified_issuer(assertion)
    engine, clock = app[ENGINE], app[CLOCK]
    async with SqlUnitOfWork(engine, clock) as uow:
        record = await _service(uow, client_id)
        jwks = known_client_jwks(app, record.registration, assertion)
        if jwks is not None:
            claims = verify_assertion(assertion, client_id, jwks, audiences, uow.now)
            await _remember(uow, client_id, claims)
            return record
    jwks = await client_jwks(app, record.registration, assertion)
    claims = verify_assertion(assertion, client_id, jwks, audiences, clock())
    async with SqlUnitOfWork(engine, clock) as uow:
        current = await _service(uow, client_id)
        if (current.registration.jwks, current.registration.jwks_uri) != (
            record.registration.jwks,
            record.registration.jwks_uri,
        ):
            log.info("client_auth.refused", client_id=client_id, reason="keys_changed")
            raise InvalidClient("client authentication failed")
        await _remember(uow, client_id, claims)
    return current


async def _remember(uow: SqlUnitOfWork, client_id: str, claims: AssertionClaims) -> None:
    """Store the ``jti`` and commit; a replay (already stored) is ``InvalidClient``."""
    if not await oauth_store(uow).assertions.remember(
        client_id, claims.jti, claims.expires_at, uow.now
    ):
        log.info("client_auth.refused", client_id=client_id, reason="jti_replay")
        raise InvalidClient("this client assertion was already used")
    await uow.commit()
