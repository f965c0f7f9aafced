"""Each refusal of the data plane over HTTP, as problem JSON, with its ledger entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from broker.storage.uow import SqlUnitOfWork
from consent.usecases import narrow
from tests.e2e.data.support import Grant, data_url, days_ago, grant, ledger_of
from tests.support.stack import Stack


async def _get(
    http: aiohttp.ClientSession, url: str, live: Grant | None, **params: str
) -> tuple[aiohttp.ClientResponse, dict[str, Any]]:
    headers = live.auth if live is not None else {}
    async with http.get(url, params=params, headers=headers) as response:
        assert response.content_type == "application/problem+json"
        return response, await response.json(content_type=None)


async def _denials(stack: Stack, grant_id: str) -> list[str]:
    return [
        str(e.details["reason"])
        for e in await ledger_of(stack, grant_id)
        if e.kind == "transfer.denied"
    ]


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic Zm9vOmJhcg==", "Bearer", "Bearer not-a-token", "Bearer a b"],
)
async def test_a_request_without_a_valid_token_is_invalid_token(
    stack: Stack, http: aiohttp.ClientSession, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with http.get(
        data_url(stack), params={"start": days_ago(3), "end": days_ago(1)}, headers=headers
    ) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        body = await response.json(content_type=None)
    assert body["reason"] == "invalid_token"
    assert body["type"] == f"{stack.broker_url}/problems/invalid_token"


async def test_a_refresh_token_is_not_an_access_token(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    assert live.refresh_token is not None
    refresh = Grant(live.refresh_token, live.grant_id)
    response, body = await _get(http, data_url(stack), refresh, start=days_ago(3), end=days_ago(1))
    assert response.status == 401
    assert body["reason"] == "invalid_token"


async def test_a_resource_outside_the_consent_is_refused_and_recorded(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    response, body = await _get(
        http, data_url(stack, "daily_production"), live, start=days_ago(3), end=days_ago(1)
    )
    assert response.status == 403
    assert body["reason"] == "resource_not_granted"
    assert body["grant_id"] == live.grant_id
    assert body["title"] == "Resource not granted"
    assert await _denials(stack, live.grant_id) == ["resource_not_granted"]


async def test_dates_outside_the_data_window_are_refused_and_recorded(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    response, body = await _get(http, data_url(stack), live, start=days_ago(500), end=days_ago(490))
    assert response.status == 403
    assert body["reason"] == "outside_data_window"
    assert await _denials(stack, live.grant_id) == ["outside_data_window"]


@pytest.mark.parametrize(
    "params",
    [
        {"start": days_ago(1), "end": days_ago(3)},
        {"start": days_ago(2), "end": days_ago(2)},
        {"start": "2024-13-01", "end": days_ago(1)},
        {"start": "20240101", "end": days_ago(1)},
        {"end": days_ago(1)},
        {},
    ],
)
async def test_a_bad_range_is_invalid_range_and_recorded(
    stack: Stack, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    live = await grant(stack, http)
    response, body = await _get(http, data_url(stack), live, **params)
    assert response.status == 400
    assert body["reason"] == "invalid_range"
    assert await _denials(stack, live.grant_id) == ["invalid_range"]


@pytest.mark.parametrize(
    ("holder", "resource"), [("grdf", "daily_consumption"), ("enedis", "nothing_here")]
)
async def test_an_unknown_holder_or_resource_is_404(
    stack: Stack, http: aiohttp.ClientSession, holder: str, resource: str
) -> None:
    live = await grant(stack, http)
    response, body = await _get(
        http, data_url(stack, resource, holder), live, start=days_ago(3), end=days_ago(1)
    )
    assert response.status == 404
    assert body["reason"] == "not_found"


async def test_an_oversized_query_string_is_400(stack: Stack, http: aiohttp.ClientSession) -> None:
    live = await grant(stack, http)
    response, _ = await _get(
        http, data_url(stack), live, start=days_ago(3), end=days_ago(1), pad="x" * 400
    )
    assert response.status == 400


async def test_a_consent_past_its_end_is_consent_expired_and_recorded(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    # The resident had shortened the consent an hour ago so that it ended a minute ago.
    now = datetime.now(UTC)
    async with SqlUnitOfWork(stack.engine) as uow:
        consent = await uow.consents.get(live.grant_id)
        assert consent is not None
        await narrow(
            uow,
            consent_id=live.grant_id,
            subject=consent.subject,
            now=now - timedelta(hours=1),
            expires_at=now - timedelta(minutes=1),
        )
    response, body = await _get(http, data_url(stack), live, start=days_ago(3), end=days_ago(1))
    assert response.status == 403
    assert body["reason"] == "consent_expired"
    assert await _denials(stack, live.grant_id) == ["consent_expired"]
