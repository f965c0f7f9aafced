"""The other holders next to the e2e stack: the GRDF ADICT simulator and the two generic
OAuth 2 simulators (water, mobility), each a real aiohttp app on its own loopback port,
registered with the broker from the example manifests in ``deploy/examples``.

``connect_to`` runs the whole authorization over HTTP for any of them: PAR, login,
consent screen, the holder's own consent page (whatever its field names), the broker's
callback, and the code exchange.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import aiohttp
from aiohttp import web

from broker.crypto import SecretBox
from broker.operator import register_holder
from providers.enedis.simulator.config import RegisteredClient
from providers.generic.simulator.app import create_generic_simulator_app
from providers.generic.simulator.config import Account, GenericSimulatorConfig
from providers.grdf.simulator.app import GrdfSimulatorConfig, create_grdf_simulator_app
from tests.support.flow import (
    FlowError,
    decision_form,
    exchange,
    inputs_of,
    open_consent_screen,
    par_form,
    pkce_pair,
    push,
)
from tests.support.stack import (
    EXAMPLES,
    HOLDER_CLIENT_ID,
    HOLDER_CLIENT_SECRET,
    Stack,
    port_of,
    reserved_port,
    serve,
)

WEBHOOK_SECRET = "holder-webhook-test-secret-0123456789abcdef"  # a test credential
WATER_SUBJECT = "abonne-690001234"
MOBILITY_SUBJECT = "tracemob-camille-42"
PCE = "GI123456"
EXAMPLE_FILES = {
    "grdf": "holder-grdf-simulator.json",
    "eau": "holder-eau-simulator.json",
    "mobilite": "holder-mobilite-simulator.json",
}


@dataclass
class Holders:
    urls: dict[str, str]
    apps: dict[str, web.Application]
    runners: list[web.AppRunner] = field(default_factory=list)


def _payload(holder: str, url: str) -> dict[str, Any]:
    payload = json.loads((EXAMPLES / EXAMPLE_FILES[holder]).read_text())
    manifest = payload["manifest"]
    for key in ("base_url", "authorization_endpoint", "token_endpoint", "revocation_endpoint"):
        if key in manifest:
            base = urlsplit(manifest[key])
            manifest[key] = url + manifest[key][len(f"{base.scheme}://{base.netloc}") :]
    payload["client_id"] = HOLDER_CLIENT_ID
    payload["client_secret"] = HOLDER_CLIENT_SECRET
    if "webhook_secret" in payload:
        payload["webhook_secret"] = WEBHOOK_SECRET
    return dict(payload)


def _client(stack: Stack, holder: str) -> dict[str, RegisteredClient]:
    callback = f"{stack.broker_url}/holders/{holder}/callback"
    return {
        HOLDER_CLIENT_ID: RegisteredClient(secret=HOLDER_CLIENT_SECRET, redirect_uris=(callback,))
    }


def _generic(stack: Stack, holder: str, **config: Any) -> web.Application:
    kind = "water" if holder == "eau" else "mobility"
    subject = WATER_SUBJECT if holder == "eau" else MOBILITY_SUBJECT
    return create_generic_simulator_app(
        GenericSimulatorConfig(
            holder_id=holder,
            title=holder,
            kind=kind,
            clients=_client(stack, holder),
            accounts=(Account(subject=subject, name="Camille Démo"),),
            webhook_url=f"{stack.broker_url}/v1/holders/{holder}/revocations",
            webhook_secret=WEBHOOK_SECRET,
            **config,
        )
    )


@asynccontextmanager
async def running_holders(
    stack: Stack, *, generic: dict[str, Any] | None = None, grdf: dict[str, Any] | None = None
) -> AsyncIterator[Holders]:
    apps = {
        "grdf": create_grdf_simulator_app(
            GrdfSimulatorConfig(clients=_client(stack, "grdf"), pces=(PCE,), **(grdf or {}))
        ),
        "eau": _generic(stack, "eau", **(generic or {})),
        "mobilite": _generic(stack, "mobilite", **(generic or {})),
    }
    holders = Holders(urls={}, apps=apps)
    box = SecretBox(stack.settings.encryption_key_bytes())
    try:
        for name, app in apps.items():
            sock = reserved_port()
            holders.urls[name] = f"http://127.0.0.1:{port_of(sock)}"
            holders.runners.append(await serve(app, sock))
            await register_holder(stack.engine, box, _payload(name, holders.urls[name]))
        yield holders
    finally:
        for runner in reversed(holders.runners):
            await runner.cleanup()


def details_for(holder: str, resources: list[str], purpose: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "personal_data_transfer",
        "holder": holder,
        "resources": resources,
        "purpose": purpose,
        "data_window": {"history": "P6M", "include_future": True},
        "frequency": "daily",
        "duration": "P1Y",
        **extra,
    }


async def _holder_step(stack: Stack, http: aiohttp.ClientSession, holder_url: str) -> str:
    """Accept on the holder's page (first account offered); return the broker's redirect."""
    async with http.get(holder_url, allow_redirects=False) as response:
        page = await response.text()
        if response.status != 200:
            raise FlowError(f"holder page answered {response.status}: {page[:300]}")
    form = {"decision": "accept"}
    for found in inputs_of(page):
        name, value = found.get("name"), found.get("value")
        if name and value is not None and (found.get("type") != "radio" or found["checked"]):
            form[str(name)] = str(value)
    action = urljoin(holder_url, urlsplit(holder_url).path)
    async with http.post(action, data=form, allow_redirects=False) as response:
        callback = response.headers.get("Location", "")
        if response.status != 302 or not callback.startswith(stack.broker_url):
            raise FlowError(f"holder answered {response.status} to {callback!r}")
    async with http.get(callback, allow_redirects=False) as response:
        if response.status not in (302, 303):
            raise FlowError(f"broker callback answered {response.status}: {await response.text()}")
        return response.headers.get("Location", "")


async def connect_to(
    stack: Stack, http: aiohttp.ClientSession, details: dict[str, Any]
) -> dict[str, Any]:
    """The whole authorization for any holder, then the code exchange: the token response."""
    verifier, challenge = pkce_pair()
    status, pushed = await push(
        stack, http, par_form(stack, challenge, secrets.token_urlsafe(16), details)
    )
    if status != 201:
        raise FlowError(f"PAR answered {status}: {pushed}")
    authorize_url = (
        f"{stack.broker_url}/oauth/authorize?client_id={quote(stack.coach_id, safe='')}"
        f"&request_uri={quote(pushed['request_uri'], safe='')}"
    )
    page = await open_consent_screen(stack, http, authorize_url, [])
    form = decision_form(page, refuse=False, accept_resources=None, duration=None)
    async with http.post(
        f"{stack.broker_url}/oauth/authorize/decision", data=form, allow_redirects=False
    ) as response:
        holder_url = response.headers.get("Location", "")
    location = await _holder_step(stack, http, holder_url)
    query = dict(parse_qsl(urlsplit(location).query))
    if "code" not in query:
        raise FlowError(f"no code: {query}")
    return await exchange(stack, http, query["code"], verifier)
