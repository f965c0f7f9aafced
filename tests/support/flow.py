"""Drive a whole authorization over real HTTP, as a resident's browser and a service would.

The flow itself (PAR, PKCE, login, consent screen, holder step, code exchange) is
``bench/flow.py``, shared with ``aiguillage bench``; this module adapts it to the test
``Stack`` (the coach as the service, the demo resident) and adds ``DEFAULT_DETAILS``.

The ``http`` session must keep cookies for 127.0.0.1 (the ``http`` fixture does).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from bench import flow
from bench.flow import (
    AuthorizationResult,
    FlowError,
    Party,
    basic_auth,
    decision_form,
    field_value,
    inputs_of,
    pkce_pair,
)
from tests.support.stack import Stack

__all__ = [
    "DEFAULT_DETAILS",
    "AuthorizationResult",
    "FlowError",
    "authorize",
    "basic_auth",
    "browse",
    "coach_auth",
    "coach_connects",
    "connect",
    "decision_form",
    "exchange",
    "field_value",
    "inputs_of",
    "open_consent_screen",
    "par_form",
    "party",
    "pkce_pair",
    "push",
    "refresh",
    "token_request",
]

DEFAULT_DETAILS: dict[str, Any] = {
    "type": "personal_data_transfer",
    "holder": "enedis",
    "resources": ["daily_consumption", "consumption_load_curve"],
    "purpose": "energy_coaching",
    "data_window": {"history": "P12M", "include_future": True},
    "frequency": "daily",
    "duration": "P1Y",
}


def party(stack: Stack) -> Party:
    """The stack's coach (the service) and demo resident, as the flow wants them."""
    return Party(
        stack.broker_url,
        stack.coach_id,
        stack.coach_secret,
        stack.coach_redirect_uri,
        stack.resident_login,
        stack.resident_password,
    )


def coach_auth(stack: Stack) -> dict[str, str]:
    return party(stack).basic_auth()


def par_form(
    stack: Stack, challenge: str, state: str, details: dict[str, Any] | list[Any]
) -> dict[str, str]:
    return flow.par_form(party(stack), challenge, state, details)


async def push(
    stack: Stack, http: aiohttp.ClientSession, form: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    return await flow.push(party(stack), http, form)


async def open_consent_screen(
    stack: Stack, http: aiohttp.ClientSession, authorize_url: str, steps: list[str]
) -> str:
    return await flow.open_consent_screen(party(stack), http, authorize_url, steps)


async def browse(stack: Stack, http: aiohttp.ClientSession, authorize_url: str, **kw: Any) -> str:
    """See ``bench.flow.browse``: the final redirect to the service, not followed."""
    return await flow.browse(party(stack), http, authorize_url, **kw)


async def authorize(
    stack: Stack,
    http: aiohttp.ClientSession,
    *,
    details: dict[str, Any] | None = None,
    **kw: Any,
) -> AuthorizationResult:
    """See ``bench.flow.authorize``; ``DEFAULT_DETAILS`` unless ``details`` are given."""
    return await flow.authorize(party(stack), http, details or DEFAULT_DETAILS, **kw)


async def token_request(
    stack: Stack, http: aiohttp.ClientSession, form: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    return await flow.token_request(party(stack), http, form)


async def exchange(
    stack: Stack, http: aiohttp.ClientSession, code: str, verifier: str
) -> dict[str, Any]:
    return await flow.exchange(party(stack), http, code, verifier)


async def refresh(stack: Stack, http: aiohttp.ClientSession, refresh_token: str) -> dict[str, Any]:
    return await flow.refresh(party(stack), http, refresh_token)


async def connect(
    stack: Stack,
    http: aiohttp.ClientSession,
    *,
    details: dict[str, Any] | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """Authorize (see ``bench.flow.authorize`` for the options) and exchange the code."""
    return await flow.connect(party(stack), http, details or DEFAULT_DETAILS, **kw)


async def coach_connects(stack: Stack, browser: aiohttp.ClientSession) -> str:
    """Click « Connecter mon compteur Linky » and walk the resident's part; return the
    coach callback URL the broker finally redirects to."""
    async with browser.get(stack.coach_url) as page:
        assert "Connecter mon compteur Linky" in await page.text()
        csrf = field_value(await page.text(), "csrf_token")
    async with browser.post(
        f"{stack.coach_url}/connecter", data={"csrf_token": csrf}, allow_redirects=False
    ) as response:
        authorize_url = response.headers["Location"]
    assert authorize_url.startswith(f"{stack.broker_url}/oauth/authorize?")
    location = await browse(stack, browser, authorize_url)
    query = dict(parse_qsl(urlsplit(location).query))
    assert query["iss"] == stack.broker_url and query["code"]
    return location
