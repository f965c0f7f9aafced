"""What every data call (metering and customer APIs) checks, in Enedis's order: the bearer
token (401), the quotas (429), the parameters (400), then the consent (403).
"""

from __future__ import annotations

import re

from aiohttp import web

from providers.enedis.simulator.config import DemoCustomer
from providers.enedis.simulator.errors import InvalidRequest, NoConsent
from providers.enedis.simulator.state import state_of
from providers.enedis.simulator.token import authenticated_client

_PRM = re.compile(r"^[0-9]{14}$")


def admitted_client(request: web.Request, api: str) -> str:
    """The calling client, once its token is valid and the call fits in its quotas."""
    client_id = authenticated_client(request)
    state_of(request).quotas.consume(client_id, api)
    return client_id


def usage_point_param(request: web.Request) -> str:
    usage_point_id = request.query.get("usage_point_id")
    if not usage_point_id:
        raise InvalidRequest("usage_point_id parameter is required")
    if not _PRM.match(usage_point_id):
        raise InvalidRequest("usage_point_id parameter must be 14 digits long")
    return usage_point_id


def consented_customer(request: web.Request, client_id: str, usage_point_id: str) -> DemoCustomer:
    """The customer behind the usage point, if they consented to this client and still do."""
    state = state_of(request)
    customer = state.config.customer(usage_point_id)
    if customer is None or not state.has_live_consent(client_id, usage_point_id):
        raise NoConsent("No consent can be found for this customer and this usage point.")
    return customer
