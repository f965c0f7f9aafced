"""The four v5 customer APIs: contracts, addresses, identity, contact data.

They take only ``usage_point_id``. Shapes follow the Swagger copies in
``shared/holders/enedis/swagger`` (08 to 11); every value is a string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from providers.enedis.simulator import synthetic
from providers.enedis.simulator.config import DemoCustomer
from providers.enedis.simulator.data_access import (
    admitted_client,
    consented_customer,
    usage_point_param,
)

Document = Callable[[DemoCustomer], dict[str, Any]]


def _customer_id(customer: DemoCustomer) -> str:
    digest = hashlib.sha256(f"{customer.usage_point_id}|customer".encode()).digest()
    return str(int.from_bytes(digest[:8], "big") % 10**10).zfill(10)


def _usage_point(customer: DemoCustomer) -> dict[str, str]:
    return {
        "usage_point_id": customer.usage_point_id,
        "usage_point_status": "com",
        "meter_type": "AMM",
    }


def contracts(customer: DemoCustomer) -> dict[str, Any]:
    home = synthetic.household(customer.usage_point_id)
    activation = customer.activation_date.isoformat() + "+01:00"
    contract = {
        "segment": "C5",
        "subscribed_power": f"{home.subscribed_kva} kVA",
        "last_activation_date": activation,
        "distribution_tariff": "BTINFMU4" if home.electric_heating else "BTINFCUST",
        "offpeak_hours": "HC (23H00-7H00)" if home.electric_heating else "",
        "contract_type": "CARD-S",
        "contract_status": "SERVC",
        "last_distribution_tariff_change_date": activation,
    }
    if not home.electric_heating:
        del contract["offpeak_hours"]  # a base tariff has no off-peak hours
    usage_points = [{"usage_point": _usage_point(customer), "contracts": contract}]
    return {"customer": {"customer_id": _customer_id(customer), "usage_points": usage_points}}


def addresses(customer: DemoCustomer) -> dict[str, Any]:
    address = customer.address
    usage_point: dict[str, Any] = {
        **_usage_point(customer),
        "usage_point_addresses": {
            "street": address.street,
            "postal_code": address.postal_code,
            "insee_code": address.insee_code,
            "city": address.city,
            "country": "France",
            "geo_points": {"latitude": address.latitude, "longitude": address.longitude},
        },
    }
    return {
        "customer": {
            "customer_id": _customer_id(customer),
            "usage_points": [{"usage_point": usage_point}],
        }
    }


def identity(customer: DemoCustomer) -> dict[str, Any]:
    person = {
        "title": customer.title,
        "firstname": customer.firstname,
        "lastname": customer.lastname,
    }
    return {"customer_id": _customer_id(customer), "identity": {"natural_person": person}}


def contact_data(customer: DemoCustomer) -> dict[str, Any]:
    contact = {"phone": customer.phone, "email": customer.email}
    return {"customer_id": _customer_id(customer), "contact": contact}


CUSTOMER_APIS: dict[str, Document] = {
    "/customers_upc/v5/usage_points/contracts": contracts,
    "/customers_upa/v5/usage_points/addresses": addresses,
    "/customers_i/v5/identity": identity,
    "/customers_cd/v5/contact_data": contact_data,
}


def customer_handler(path: str, document: Document) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        client_id = admitted_client(request, path)
        usage_point_id = usage_point_param(request)
        customer = consented_customer(request, client_id, usage_point_id)
        return web.json_response(document(customer))

    return handle
