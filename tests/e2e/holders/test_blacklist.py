"""A holder blacklists a service: its consents end as REVOKED_BY_HOLDER, new requests are
refused (data and PAR alike), and the ledger says why."""

from __future__ import annotations

import base64

import aiohttp

from tests.e2e.data.support import data_url, days_ago, grant, ledger_of
from tests.support.flow import DEFAULT_DETAILS, FlowError, authorize
from tests.support.stack import OPERATOR_TOKEN, Stack

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


async def _consent_state(stack: Stack, http: aiohttp.ClientSession, grant_id: str) -> str:
    async with http.get(
        f"{stack.broker_url}/oauth/grants/{grant_id}",
        headers={"Authorization": "Basic " + _basic(stack)},
    ) as response:
        return str((await response.json())["status"])


def _basic(stack: Stack) -> str:
    return base64.b64encode(f"{stack.coach_id}:{stack.coach_secret}".encode()).decode()


async def test_blacklisting_revokes_active_consents_and_refuses_new_requests(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    url = f"{stack.broker_url}/v1/holders/enedis/blacklist"
    body = {"service": stack.coach_id, "reason": "fuite de jetons constatée"}
    async with http.post(url, json=body, headers=OPERATOR) as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["revoked"] == 1
    params = {"start": days_ago(3), "end": days_ago(1)}
    async with http.get(data_url(stack), params=params, headers=live.auth) as response:
        assert response.status == 403
        assert (await response.json(content_type=None))["reason"] == "consent_revoked"
    assert await _consent_state(stack, http, live.grant_id) == "revoked_by_holder"
    revoked = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "consent.revoked"]
    assert revoked[0].actor == "holder:enedis"
    assert revoked[0].details["reason"] == "service_blacklisted"
    try:
        await authorize(stack, http, details=DEFAULT_DETAILS)
    except FlowError as error:
        assert "does not serve" in str(error)
    else:
        raise AssertionError("a blacklisted service could still ask for a consent")
    async with http.get(url, headers=OPERATOR) as response:
        listed = (await response.json())["blacklist"]
    assert [(e["service"], e["reason"]) for e in listed] == [(stack.coach_id, body["reason"])]


async def test_lifting_the_blacklist_lets_the_service_ask_again(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    url = f"{stack.broker_url}/v1/holders/enedis/blacklist"
    body = {"service": stack.coach_id, "reason": "audit"}
    async with http.post(url, json=body, headers=OPERATOR) as response:
        assert response.status == 200
    async with http.delete(f"{url}/{stack.coach_id}", headers=OPERATOR) as response:
        assert response.status == 204
    async with http.delete(f"{url}/{stack.coach_id}", headers=OPERATOR) as response:
        assert response.status == 404
    live = await grant(stack, http)
    assert await _consent_state(stack, http, live.grant_id) == "active"


async def test_blacklist_requests_are_checked(stack: Stack, http: aiohttp.ClientSession) -> None:
    url = f"{stack.broker_url}/v1/holders/enedis/blacklist"
    cases = [
        ({"service": stack.coach_id}, 422),
        ({"service": "../x", "reason": "r"}, 422),
        ({"service": "nobody", "reason": "r"}, 404),
    ]
    for body, status in cases:
        async with http.post(url, json=body, headers=OPERATOR) as response:
            assert response.status == status
            assert response.content_type == "application/problem+json"
    async with http.post(url, json={"service": stack.coach_id, "reason": "r"}) as response:
        assert response.status == 401
