"""The Enedis Data Connect simulator as one aiohttp application.

Same paths, parameters, JSON shapes, errors and quotas as Enedis (see
``shared/holders/enedis``), deterministic synthetic data, plus a few simulator-only hooks
under ``/_simulator``. All state lives in the application, so each app is independent.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from providers.enedis.simulator import consent_page, faults, operator, token
from providers.enedis.simulator.config import SimulatorConfig
from providers.enedis.simulator.customers import CUSTOMER_APIS, customer_handler
from providers.enedis.simulator.errors import json_errors
from providers.enedis.simulator.metering import METERING_APIS, metering_handler
from providers.enedis.simulator.state import STATE, SimulatorState


@web.middleware
async def count_calls(request: web.Request, handler: Handler) -> web.StreamResponse:
    # Count by route template, never by raw path, so unknown URLs cannot grow the table.
    resource = request.match_info.route.resource
    if resource is not None:
        request.app[STATE].calls[resource.canonical] += 1
    return await handler(request)


def create_simulator_app(config: SimulatorConfig) -> web.Application:
    app = web.Application(middlewares=[json_errors, count_calls, faults.misbehave])
    app[STATE] = SimulatorState.create(config)
    app[faults.FAULT] = []  # off until a test switches a fault on (faults.py)
    routes = app.router
    routes.add_get(consent_page.PATH, consent_page.show)
    routes.add_post(consent_page.PATH, consent_page.answer)
    routes.add_post("/oauth2/v3/token", token.token)
    routes.add_post("/oauth2/v3/revoke", token.revoke)
    for api in METERING_APIS:
        routes.add_get(api.path, metering_handler(api))
    for path, document in CUSTOMER_APIS.items():
        routes.add_get(path, customer_handler(path, document))
    routes.add_post(f"{operator.PREFIX}/consents/revoke", operator.revoke_consent)
    routes.add_get(f"{operator.PREFIX}/stats", operator.stats)
    routes.add_get(f"{operator.PREFIX}/big", operator.big)
    routes.add_get(f"{operator.PREFIX}/big/{{size_mb}}", operator.big)
    routes.add_post(f"{operator.PREFIX}/faults", faults.set_fault)
    return app
