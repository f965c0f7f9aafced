"""Replacing a holder's manifest: ``PUT /v1/holders/{id}`` (operator, problem JSON naming the
faulty field) and ``aiguillage holders update FILE``; a resource dropped from the manifest is
no longer served, not even to the consents that named it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.data.support import data_url, days_ago, grant
from tests.support.cli import operator_env, run_cli
from tests.support.stack import EXAMPLES, OPERATOR_TOKEN, Stack

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


async def _manifest(stack: Stack, http: aiohttp.ClientSession, holder: str) -> dict[str, Any]:
    async with http.get(f"{stack.broker_url}/v1/holders") as response:
        listed = {h["id"]: h for h in (await response.json())["holders"]}
    return dict(listed[holder])


async def _put(
    stack: Stack,
    http: aiohttp.ClientSession,
    holder: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> tuple[int, str, dict[str, Any]]:
    async with http.put(
        f"{stack.broker_url}/v1/holders/{holder}",
        json=body,
        headers=OPERATOR if headers is None else headers,
    ) as response:
        return response.status, response.content_type, await response.json(content_type=None)


async def _fetch(
    stack: Stack, http: aiohttp.ClientSession, resource: str, auth: dict[str, str]
) -> tuple[int, bytes, str]:
    async with http.get(
        data_url(stack, resource),
        params={"start": days_ago(3), "end": days_ago(1)},
        headers=auth,
    ) as response:
        return response.status, await response.read(), response.content_type


async def test_a_resource_dropped_from_the_manifest_is_no_longer_served(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)  # daily_consumption and consumption_load_curve
    assert (await _fetch(stack, http, "consumption_load_curve", live.auth))[0] == 200
    manifest = await _manifest(stack, http, "enedis")
    manifest["resources"] = [
        r for r in manifest["resources"] if r["name"] != "consumption_load_curve"
    ]
    manifest["name"] = "Enedis (sans courbe de charge)"
    status, kind, body = await _put(stack, http, "enedis", {"manifest": manifest})
    assert status == 200, body
    assert kind == "application/json"
    assert "consumption_load_curve" not in [r["name"] for r in body["resources"]]
    listed = await _manifest(stack, http, "enedis")
    assert listed["name"] == "Enedis (sans courbe de charge)"
    assert "consumption_load_curve" not in [r["name"] for r in listed["resources"]]

    status, raw, kind = await _fetch(stack, http, "consumption_load_curve", live.auth)
    assert status == 404
    assert kind == "application/problem+json"
    problem = json.loads(raw)
    assert problem["reason"] == "not_found"
    assert "consumption_load_curve" in problem["detail"]
    # What the manifest still lists is served as before, with the same consent.
    status, raw, _ = await _fetch(stack, http, "daily_consumption", live.auth)
    assert status == 200 and b"interval_reading" in raw


async def test_an_update_is_checked_like_a_registration(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    manifest = await _manifest(stack, http, "enedis")
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        status, kind, _ = await _put(stack, http, "enedis", {"manifest": manifest}, headers)
        assert (status, kind) == (401, "application/problem+json")

    broken = copy.deepcopy(manifest)
    broken["resources"][1]["path"] = "no-leading-slash"
    status, kind, problem = await _put(stack, http, "enedis", {"manifest": broken})
    assert (status, kind) == (422, "application/problem+json")
    assert problem["reason"] == "invalid_manifest"
    assert problem["field"] == "manifest.resources.1.path"

    status, _, problem = await _put(stack, http, "enedis", {"manifest": manifest, "extra": 1})
    assert status == 422 and problem["field"] == "extra"

    renamed = {**manifest, "id": "enedis-bis"}
    status, _, problem = await _put(stack, http, "enedis", {"manifest": renamed})
    assert status == 422
    assert problem["field"] == "manifest.id"

    status, kind, problem = await _put(stack, http, "enedis-bis", {"manifest": renamed})
    assert (status, kind) == (404, "application/problem+json")
    assert problem["reason"] == "not_found"

    async with http.put(
        f"{stack.broker_url}/v1/holders/enedis", data=b"[1, 2", headers=OPERATOR
    ) as response:
        assert response.status == 415  # not application/json
    # Nothing was changed by any of these.
    assert await _manifest(stack, http, "enedis") == manifest


def test_holders_update_from_the_command_line(tmp_path: Path) -> None:
    env = operator_env(tmp_path)
    assert run_cli(["migrate"], env).returncode == 0
    example = EXAMPLES / "holder-grdf-simulator.json"
    assert run_cli(["holders", "add", str(example)], env).returncode == 0

    payload = json.loads(example.read_text())
    update = {"manifest": copy.deepcopy(payload["manifest"])}  # credentials left out: kept
    update["manifest"]["resources"] = update["manifest"]["resources"][:1]
    changed = tmp_path / "grdf.json"
    changed.write_text(json.dumps(update))
    done = run_cli(["holders", "update", str(changed)], env)
    assert done.returncode == 0, done.stderr
    assert "1 resources: daily_consumption" in done.stdout
    listed = run_cli(["holders", "list"], env).stdout.splitlines()
    assert [line.split("\t")[3] for line in listed] == ["daily_consumption"]

    update["manifest"]["resources"][0]["max_days_per_call"] = 0
    changed.write_text(json.dumps(update))
    refused = run_cli(["holders", "update", str(changed)], env)
    assert refused.returncode == 1
    assert "manifest.resources.0.max_days_per_call" in refused.stderr

    update["manifest"] = {**payload["manifest"], "id": "nobody"}
    changed.write_text(json.dumps(update))
    unknown = run_cli(["holders", "update", str(changed)], env)
    assert unknown.returncode == 1 and "no holder nobody" in unknown.stderr
