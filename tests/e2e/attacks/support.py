"""What several attack modules need: a second service (the attacker's client) and a
second resident (the attacker's own account), registered the way the operator does."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from broker.operator import add_resident, register_service
from tests.support.flow import basic_auth
from tests.support.stack import EXAMPLES, Stack

ATTACKER_ID = "rogue-app"
ATTACKER_SECRET = "rogue-app-secret-0123456789abcdef"
ATTACKER_REDIRECT = "https://rogue.example/callback"
MALLORY_LOGIN = "mallory@example.fr"
MALLORY_PASSWORD = "mallory-password-1"  # a test account's password, not a secret


def service_payload(client_id: str, redirect_uri: str, secret: str) -> dict[str, Any]:
    payload = json.loads((EXAMPLES / "service-carbon-coach.json").read_text())
    payload["registration"]["client_id"] = client_id
    payload["registration"]["redirect_uris"] = [redirect_uri]
    payload["client_secret"] = secret
    return dict(payload)


async def register_attacker(stack: Stack) -> dict[str, str]:
    """An approved service that is not the coach; its Basic credentials."""
    await register_service(
        stack.engine,
        service_payload(ATTACKER_ID, ATTACKER_REDIRECT, ATTACKER_SECRET),
        approve=True,
    )
    return basic_auth(ATTACKER_ID, ATTACKER_SECRET)


async def add_mallory(stack: Stack) -> None:
    await add_resident(
        stack.engine, login=MALLORY_LOGIN, password=MALLORY_PASSWORD, display_name="Mallory"
    )


async def post_form(
    http: aiohttp.ClientSession, url: str, form: dict[str, str], headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.post(url, data=form, headers=headers) as response:
        return response.status, await response.json(content_type=None)
