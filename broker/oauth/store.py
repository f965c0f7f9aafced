"""The OAuth repositories, opened on a unit of work's connection so that OAuth state and
consent changes commit (or roll back) together."""

from __future__ import annotations

from dataclasses import dataclass

from broker.storage.oauth_codes import SqlAuthCodes, SqlClientAssertions
from broker.storage.oauth_par import SqlAuthorizations, SqlParRequests
from broker.storage.uow import SqlUnitOfWork


@dataclass(frozen=True)
class OAuthStore:
    par: SqlParRequests
    authorizations: SqlAuthorizations
    codes: SqlAuthCodes
    assertions: SqlClientAssertions


def oauth_store(uow: SqlUnitOfWork) -> OAuthStore:
    return OAuthStore(
        par=SqlParRequests(uow.conn),
        authorizations=SqlAuthorizations(uow.conn),
        codes=SqlAuthCodes(uow.conn),
        assertions=SqlClientAssertions(uow.conn),
    )
