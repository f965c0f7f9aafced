"""The one way handlers and tasks open a unit of work: on the app's engine and clock.

``read_only_unit_of_work`` is for paths that only read (introspection, a
``client_secret_basic`` check): on a SQLite file it runs on one of the read-only
connections (``broker.storage.engine.reading_engine``), beside the writer, and any write
there fails (``query_only``); on PostgreSQL it runs in autocommit (each statement its own
transaction: no BEGIN or ROLLBACK to send).
"""

from __future__ import annotations

from aiohttp import web

from broker.keys import CLOCK, ENGINE
from broker.storage.engine import reading_engine
from broker.storage.uow import SqlUnitOfWork


def unit_of_work(app: web.Application) -> SqlUnitOfWork:
    return SqlUnitOfWork(app[ENGINE], app[CLOCK])


def read_only_unit_of_work(app: web.Application) -> SqlUnitOfWork:
    return SqlUnitOfWork(reading_engine(app[ENGINE]), app[CLOCK], read_only=True)
