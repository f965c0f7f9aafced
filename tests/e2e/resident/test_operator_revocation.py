"""The operator ends a consent, over the admin API or from a shell, with a reason: the
ledger keeps who (``operator:api``, ``operator:cli``) and why, the service's notice says
``by: operator`` and carries the reason. Everything else is refused as problem JSON and
leaves the consent as it was."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.e2e.data.support import Grant, fetch_data, grant, ledger_of
from tests.e2e.resident.support import consent_state, notice_for, receiver, run_cli
from tests.support.stack import OPERATOR_TOKEN, Stack

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
REASON = "ordonnance du tribunal judiciaire de Lyon, 12 mai"


def _url(stack: Stack, grant_id: str) -> str:
    return f"{stack.broker_url}/v1/consents/{grant_id}/revoke"


async def _post(
    stack: Stack,
    http: aiohttp.ClientSession,
    grant_id: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    data: str | None = None,
) -> tuple[int, str, dict[str, Any]]:
    async with http.post(
        _url(stack, grant_id),
        json=body if data is None else None,
        data=data,
        headers=OPERATOR if headers is None else headers,
    ) as answer:
        return answer.status, answer.content_type, await answer.json(content_type=None)


async def _revoked_entry(stack: Stack, live: Grant) -> dict[str, Any]:
    [entry] = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "consent.revoked"]
    return {"actor": entry.actor, **entry.details}


async def test_the_operator_api_revokes_with_a_reason_and_refuses_a_second_time(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with receiver(stack) as inbox:
        live = await grant(stack, http)
        status, kind, body = await _post(stack, http, live.grant_id, {"reason": f"  {REASON} "})
        assert (status, kind) == (200, "application/json")
        assert body["grant_id"] == live.grant_id and body["state"] == "revoked_by_holder"
        assert (body["ended_by"], body["reason"]) == ("operator:api", REASON)
        assert await fetch_data(stack, http, live) == 403
        entry = await _revoked_entry(stack, live)
        assert (entry["actor"], entry["reason"]) == ("operator:api", REASON)
        notice = await notice_for(stack, inbox, live.grant_id, "consent-revoked")
        assert (notice.by, notice.reason) == ("operator", REASON)

        status, kind, body = await _post(stack, http, live.grant_id, {"reason": "again"})
        assert (status, kind) == (409, "application/problem+json")
        assert body["reason"] == "consent_not_live" and body["state"] == "revoked_by_holder"
        assert len([e for e in await ledger_of(stack, live.grant_id) if "revoked" in e.kind]) == 1

    status, kind, body = await _post(stack, http, "grant_does_not_exist", {"reason": "x"})
    assert (status, kind, body["reason"]) == (404, "application/problem+json", "not_found")


async def test_the_operator_api_refuses_strangers_and_bad_bodies(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    for headers in ({}, {"Authorization": "Bearer not-the-operator"}, {"Authorization": "x"}):
        status, kind, body = await _post(
            stack, http, live.grant_id, {"reason": "x"}, headers=headers
        )
        assert (status, kind, body["reason"]) == (401, "application/problem+json", "unauthorized")
    cases: list[tuple[Any, int, str]] = [
        ({}, 422, "invalid_request"),
        ({"reason": ""}, 422, "invalid_request"),
        ({"reason": "   "}, 422, "invalid_request"),
        ({"reason": "x" * 301}, 422, "invalid_request"),
        ({"reason": "line\nbreak"}, 422, "invalid_request"),
        ({"reason": ["court_order"]}, 422, "invalid_request"),
        ({"reason": "ok", "state": "active"}, 422, "invalid_request"),
        (["reason"], 400, "invalid_json"),
    ]
    for sent, expected, reason in cases:
        status, kind, body = await _post(stack, http, live.grant_id, sent)
        assert (status, kind, body["reason"]) == (expected, "application/problem+json", reason)
    headers = {**OPERATOR, "Content-Type": "application/json"}
    status, _, body = await _post(stack, http, live.grant_id, data="{not json", headers=headers)
    assert (status, body["reason"]) == (400, "invalid_json")
    headers = {**OPERATOR, "Content-Type": "text/plain"}
    status, _, body = await _post(stack, http, live.grant_id, data="court_order", headers=headers)
    assert (status, body["reason"]) == (415, "unsupported_media_type")
    assert await consent_state(stack, live.grant_id) == "active"
    assert await fetch_data(stack, http, live) == 200


async def test_the_cli_revokes_through_the_same_path_and_says_when_it_cannot(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    code, output = await run_cli(stack, "consents", "revoke", live.grant_id, "--reason", "")
    assert code == 2 and "--reason" in output
    assert await consent_state(stack, live.grant_id) == "active"
    code, output = await run_cli(stack, "consents", "revoke", live.grant_id, "--reason", REASON)
    assert code == 0, output
    assert "revoked_by_holder by operator:cli" in output
    assert await fetch_data(stack, http, live) == 403
    entry = await _revoked_entry(stack, live)
    assert (entry["actor"], entry["reason"]) == ("operator:cli", REASON)
    code, output = await run_cli(stack, "consents", "revoke", live.grant_id, "--reason", "again")
    assert code == 1 and "revoked_by_holder" in output
    code, output = await run_cli(stack, "consents", "revoke", "grant_nope", "--reason", "x")
    assert code == 1 and "no consent grant_nope" in output
