"""The one way handlers and tasks open a unit of work: on the app's engine and clock."""

from __future__ import annotations

from aiohttp import web

from broker.keys import CLOCK, ENGINE
from broker.storage.uow import SqlUnitOfWork


def unit_of_work(app: web.Application) -> SqlUnitOfWork:
    return SqlUnitOfWork(app[ENGINE], app[CLOCK])
