"""Operator registration of holders and services over the admin API (problem JSON)."""

from __future__ import annotations

import copy
import json
from typing import Any

import aiohttp

from tests.support.stack import EXAMPLES, OPERATOR_TOKEN, Stack

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def _grdf_payload() -> dict[str, Any]:
    payload = json.loads((EXAMPLES / "holder-grdf-simulator.json").read_text())
    return dict(payload)


async def test_a_holder_is_registered_by_manifest_and_listed_without_secrets(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        f"{stack.broker_url}/v1/holders", json=_grdf_payload(), headers=OPERATOR
    ) as response:
        assert response.status == 201, await response.text()
        assert (await response.json())["id"] == "grdf"
    async with http.get(f"{stack.broker_url}/v1/holders") as response:
        text = await response.text()
        listed = {h["id"]: h for h in json.loads(text)["holders"]}
    assert set(listed) == {"enedis", "grdf"}
    assert [r["name"] for r in listed["grdf"]["resources"]] == [
        "daily_consumption",
        "technical_data",
        "contract_data",
    ]
    assert "grdf-demo-secret" not in text and "client_secret" not in text


async def test_registration_needs_the_operator_token(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
        async with http.post(
            f"{stack.broker_url}/v1/holders", json=_grdf_payload(), headers=headers
        ) as response:
            assert response.status == 401
            assert response.content_type == "application/problem+json"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_an_invalid_manifest_is_refused_naming_the_faulty_field(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    payload = _grdf_payload()
    payload["manifest"]["resources"][1]["path"] = "no-leading-slash"
    async with http.post(
        f"{stack.broker_url}/v1/holders", json=payload, headers=OPERATOR
    ) as response:
        assert response.status == 422
        assert response.content_type == "application/problem+json"
        body = await response.json(content_type=None)
    assert body["reason"] == "invalid_manifest"
    assert body["field"] == "manifest.resources.1.path"
    assert body["errors"][0]["field"] == "manifest.resources.1.path"


async def test_an_unknown_protocol_and_a_duplicate_id_are_refused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    payload = _grdf_payload()
    bad = copy.deepcopy(payload)
    bad["manifest"]["protocol"] = "carrier-pigeon"
    async with http.post(f"{stack.broker_url}/v1/holders", json=bad, headers=OPERATOR) as r:
        assert r.status == 422
        assert (await r.json(content_type=None))["field"] == "manifest"
    payload["manifest"]["id"] = "enedis"
    async with http.post(f"{stack.broker_url}/v1/holders", json=payload, headers=OPERATOR) as r:
        assert r.status == 409
        assert (await r.json(content_type=None))["reason"] == "conflict"


async def test_hostile_bodies_get_a_4xx_problem(stack: Stack, http: aiohttp.ClientSession) -> None:
    url = f"{stack.broker_url}/v1/holders"
    cases: list[tuple[dict[str, str], bytes, int]] = [
        ({"Content-Type": "application/json"}, b"[1, 2]", 400),
        ({"Content-Type": "application/json"}, b"{not json", 400),
        ({"Content-Type": "text/plain"}, b"{}", 415),
        ({"Content-Type": "application/json"}, b'{"a": "' + b"x" * 200_000 + b'"}', 413),
        ({"Content-Type": "application/json"}, b"{}", 422),
    ]
    for headers, body, status in cases:
        async with http.post(url, data=body, headers={**OPERATOR, **headers}) as response:
            assert response.status == status, (body[:20], await response.text())
            assert response.content_type == "application/problem+json"


async def test_the_manifest_schema_is_published(stack: Stack, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{stack.broker_url}/v1/schemas/holder-manifest.json") as response:
        assert response.status == 200
        schema = await response.json()
    assert schema["title"] == "HolderManifest"
    assert {"id", "protocol", "resources", "contract"} <= set(schema["properties"])


async def test_a_service_registered_by_api_starts_pending_until_approved(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    registration = {
        "registration": {
            "client_id": "budget-app",
            "name": "Budget",
            "redirect_uris": ["https://budget.example/callback"],
            "purposes": [{"code": "budget", "sentence_fr": "Suivre vos factures."}],
            "privacy_policy_url": "https://budget.example/privacy",
            "retention": "P6M",
            "notification_endpoint": "https://budget.example/notices",
            "status": "approved",
        }
    }
    async with http.post(
        f"{stack.broker_url}/v1/services", json=registration, headers=OPERATOR
    ) as response:
        assert response.status == 201, await response.text()
        body = await response.json()
    assert body["status"] == "pending"
    assert len(body["client_secret"]) >= 32
    bad = copy.deepcopy(registration)
    bad["registration"]["redirect_uris"] = ["http://evil.example/cb"]
    async with http.post(f"{stack.broker_url}/v1/services", json=bad, headers=OPERATOR) as r:
        assert r.status == 422
        assert (await r.json(content_type=None))["field"] == "registration.redirect_uris"
    approve = f"{stack.broker_url}/v1/services/budget-app/approve"
    async with http.post(approve, headers=OPERATOR) as response:
        assert response.status == 200
    async with http.get(f"{stack.broker_url}/v1/services", headers=OPERATOR) as response:
        services = {s["client_id"]: s for s in (await response.json())["services"]}
    assert services["budget-app"]["status"] == "approved"
