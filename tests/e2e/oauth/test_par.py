"""``POST /oauth/par`` (RFC 9126): the happy path and every refusal."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from broker.operator import register_service
from tests.support.flow import (
    DEFAULT_DETAILS,
    basic_auth,
    coach_auth,
    par_form,
    pkce_pair,
    push,
)
from tests.support.stack import Stack


def _form(stack: Stack, **changes: str | None) -> dict[str, str]:
    _, challenge = pkce_pair()
    form = par_form(stack, challenge, "st-123", DEFAULT_DETAILS)
    for key, value in changes.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form


def _details(**changes: Any) -> str:
    return json.dumps([{**DEFAULT_DETAILS, **changes}])


async def test_par_answers_a_request_uri_valid_90_seconds(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, body = await push(stack, http, _form(stack))
    assert status == 201
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert body["expires_in"] == 90


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "invalid_request"),
        ({"state": "a" * 600}, "invalid_request"),
        ({"authorization_details": "{not json"}, "invalid_authorization_details"),
        ({"authorization_details": json.dumps(DEFAULT_DETAILS)}, "invalid_authorization_details"),
        ({"authorization_details": "[]"}, "invalid_authorization_details"),
        ({"authorization_details": None}, "invalid_request"),
    ],
)
async def test_par_refuses_a_malformed_request(
    stack: Stack, http: aiohttp.ClientSession, changes: dict[str, str | None], error: str
) -> None:
    status, body = await push(stack, http, _form(stack, **changes))
    assert status == 400
    assert body["error"] == error
    assert body["error_description"]


@pytest.mark.parametrize(
    "variant",
    [
        lambda uri: uri.replace(uri.split(":")[2].split("/")[0], "1"),  # other port
        lambda uri: uri + "/extra",
        lambda uri: uri + "x",
        lambda uri: uri.replace("/callback", "/Callback"),
        lambda uri: uri.replace("http://", "HTTP://"),
        lambda uri: uri + "/",
        lambda uri: uri + "?next=1",
        lambda uri: uri.replace("127.0.0.1", "localhost"),
    ],
    ids=["port", "path", "suffix", "case", "scheme-case", "slash", "query", "host"],
)
async def test_par_refuses_any_redirect_uri_not_registered_byte_for_byte(
    stack: Stack, http: aiohttp.ClientSession, variant: Any
) -> None:
    changed = variant(stack.coach_redirect_uri)
    assert changed != stack.coach_redirect_uri
    status, body = await push(stack, http, _form(stack, redirect_uri=changed))
    assert (status, body["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    ("details", "needle"),
    [
        (_details(resources=["daily_consumption", "tax_returns"]), "tax_returns"),
        (_details(holder="grdf"), "grdf"),
        (_details(purpose="advertising"), "advertising"),
        (_details(purpose="budget"), "did not declare"),
        (_details(duration="P4Y"), "caps"),
        (_details(type="other_transfer"), "type"),
        (_details(extra="x"), "extra"),
        (_details(resources=["daily_consumption", "daily_consumption"]), "repeat"),
        (json.dumps([DEFAULT_DETAILS, DEFAULT_DETAILS]), "exactly one"),
    ],
    ids=[
        "resource",
        "holder",
        "purpose",
        "undeclared-purpose",
        "duration",
        "type",
        "member",
        "dup",
        "two",
    ],
)
async def test_par_refuses_details_the_service_may_not_ask(
    stack: Stack, http: aiohttp.ClientSession, details: str, needle: str
) -> None:
    status, body = await push(stack, http, _form(stack, authorization_details=details))
    assert (status, body["error"]) == (400, "invalid_authorization_details")
    assert needle in body["error_description"]


async def test_par_refuses_a_wrong_secret_and_a_missing_authentication(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    url = f"{stack.broker_url}/oauth/par"
    for headers in (basic_auth(stack.coach_id, "wrong"), {}, basic_auth("nobody", "x")):
        async with http.post(url, data=_form(stack), headers=headers) as response:
            assert response.status == 401
            assert (await response.json())["error"] == "invalid_client"
            assert response.headers["WWW-Authenticate"].startswith("Basic")


async def test_par_refuses_a_client_id_other_than_the_authenticated_one(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, body = await push(stack, http, _form(stack, client_id="someone-else"))
    assert (status, body["error"]) == (401, "invalid_client")


async def test_par_refuses_a_service_the_operator_has_not_approved(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    payload = {
        "registration": {
            "client_id": "pending-app",
            "name": "Pending",
            "redirect_uris": [stack.coach_redirect_uri],
            "purposes": [{"code": "energy_coaching", "sentence_fr": "Conseils."}],
            "privacy_policy_url": "https://pending.example/privacy",
        },
        "client_secret": "pending-secret-0123456789",
    }
    await register_service(stack.engine, payload, approve=False)
    form = _form(stack, client_id="pending-app")
    headers = basic_auth("pending-app", "pending-secret-0123456789")
    async with http.post(f"{stack.broker_url}/oauth/par", data=form, headers=headers) as response:
        assert response.status == 401
        assert (await response.json())["error"] == "invalid_client"


async def test_par_takes_forms_only_and_bounded_bodies(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    url = f"{stack.broker_url}/oauth/par"
    async with http.post(url, json=_form(stack), headers=coach_auth(stack)) as response:
        assert response.status == 415
        assert (await response.json())["error"] == "invalid_request"
    big = _form(stack, state="s") | {"padding": "x" * 70_000}
    async with http.post(url, data=big, headers=coach_auth(stack)) as response:
        assert response.status == 413
        assert response.content_type == "application/json"
        assert (await response.json())["error"] == "invalid_request"


async def test_par_refuses_repeated_parameters(stack: Stack, http: aiohttp.ClientSession) -> None:
    pairs = [*_form(stack).items(), ("redirect_uri", stack.coach_redirect_uri)]
    async with http.post(
        f"{stack.broker_url}/oauth/par", data=pairs, headers=coach_auth(stack)
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "invalid_request"


async def test_par_survives_garbage(stack: Stack, http: aiohttp.ClientSession) -> None:
    headers = coach_auth(stack) | {"Content-Type": "application/x-www-form-urlencoded"}
    for body in (b"%ff%fe=\xff", b"a=%E9", b"&&&=&=", b"state=" + b"%00" * 10):
        async with http.post(
            f"{stack.broker_url}/oauth/par", data=body, headers=headers
        ) as response:
            assert 400 <= response.status < 500
            assert "error" in await response.json()
