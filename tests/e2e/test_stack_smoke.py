"""The stack starts: broker, simulator and their registrations, over real HTTP."""

from __future__ import annotations

import aiohttp

from tests.support.stack import Stack


async def test_broker_serves_the_login_page_and_the_simulator_its_consent_page(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stack.broker_url}/login") as response:
        assert response.status == 200
        assert "Connexion" in await response.text()
    async with http.get(
        f"{stack.simulator_url}/dataconnect/v1/oauth2/authorize",
        params={
            "client_id": "aiguillage-test",
            "response_type": "code",
            "state": "s",
            "duration": "P1Y",
        },
    ) as response:
        assert response.status == 200
