"""``/healthz``, ``/readyz`` and ``/metrics`` on a running broker."""

from __future__ import annotations

import json

import aiohttp
from pydantic import SecretStr
from sqlalchemy import text

from tests.e2e.data.support import data_url, days_ago, grant
from tests.support.flow import coach_auth
from tests.support.stack import Stack


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


async def test_healthz_and_readyz_answer_json_when_migrations_are_current(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stack.broker_url}/healthz") as response:
        assert (response.status, await response.json()) == (200, {"status": "alive"})
    async with http.get(f"{stack.broker_url}/readyz") as response:
        assert response.status == 200
        assert await response.json() == {
            "status": "ready",
            "database": "ok",
            "migrations": "current",
        }


async def test_readyz_refuses_a_database_behind_the_code_and_accepts_one_ahead(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with stack.engine.begin() as conn:
        await conn.execute(text("DELETE FROM alembic_version"))
        await conn.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
    async with http.get(f"{stack.broker_url}/readyz") as response:
        assert response.status == 503
        assert (await response.json())["migrations"] == "behind"
    async with stack.engine.begin() as conn:
        await conn.execute(text("DELETE FROM alembic_version"))
        await conn.execute(text("INSERT INTO alembic_version VALUES ('9999_from_a_newer_release')"))
    async with http.get(f"{stack.broker_url}/readyz") as response:
        assert response.status == 200
        assert (await response.json())["migrations"] == "ahead"


async def test_metrics_count_requests_transfers_denials_and_revocations(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    params = {"start": days_ago(3), "end": days_ago(1)}
    async with http.get(data_url(stack), params=params, headers=live.auth) as served:
        assert served.status == 200
        await served.read()
    async with http.get(data_url(stack), params={"start": "x"}, headers=live.auth) as bad:
        denial = (await bad.json(content_type=None))["reason"]
    async with http.delete(
        f"{stack.broker_url}/oauth/grants/{live.grant_id}", headers=coach_auth(stack)
    ) as ended:
        assert ended.status == 204
    status, body = await _get(http, f"{stack.broker_url}/metrics")
    assert status == 200
    assert 'aiguillage_transfers_total{holder="enedis",outcome="ok"} 1.0' in body
    assert f'aiguillage_data_denials_total{{reason="{denial}"}} 1.0' in body
    assert (
        'aiguillage_http_requests_total{method="GET",route="/v1/data/{holder}/{resource}",'
        'status="200"} 1.0' in body
    )
    assert 'aiguillage_http_request_duration_seconds_bucket{le="+Inf",method="POST",' in body
    assert 'aiguillage_revocations_total{by="service"} 1.0' in body
    assert live.access_token not in body and live.grant_id not in body


async def test_metrics_are_open_without_a_token_setting(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    assert not stack.settings.metrics_token.get_secret_value()
    status, body = await _get(http, f"{stack.broker_url}/metrics")
    assert status == 200 and "aiguillage_http_requests_total" in body


async def test_metrics_require_the_token_when_one_is_set(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    token = "metrics-test-token-0123456789"  # a test credential, not a secret
    stack.settings.metrics_token = SecretStr(token)
    url = f"{stack.broker_url}/metrics"
    refused = [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {token}x"},
        {"Authorization": f"Basic {token}"},
        {"Authorization": f"Bearer {stack.coach_secret}"},
    ]
    for headers in refused:
        async with http.get(url, headers=headers) as response:
            assert response.status == 401, headers
            assert response.content_type == "application/problem+json"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            body = await response.json()
            assert (body["status"], body["reason"]) == (401, "unauthorized")
            assert "aiguillage_" not in json.dumps(body)
    async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        assert "aiguillage_http_requests_total" in await response.text()
