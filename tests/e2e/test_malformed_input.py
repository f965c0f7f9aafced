"""Every route of the broker answers hostile or malformed input with a 4xx in the format
of its surface — never a 500, never a stack trace.

The routes are read from the running app's router, so a route added later is covered
without anyone remembering to add it here.
"""

from __future__ import annotations

import json
import re

import aiohttp
import pytest

from tests.support.stack import Stack

HOSTILE_SEGMENTS = ["x", "%00", "..%2F..%2Fetc%2Fpasswd", "a" * 300, "%E9t%E9", "<script>"]
HOSTILE_QUERIES = [
    "",
    "start=2024-13-45&end=yesterday",
    "start=" + "9" * 500,
    "client_id=%00&request_uri=urn:x",
    "a=1&a=2&a=3",
    "%ZZ=%ZZ",
    "lang=../../x",
]
HOSTILE_BODIES: list[tuple[str, bytes]] = [
    ("application/x-www-form-urlencoded", b"grant_type=%ZZ&&&==&code"),
    ("application/json", b'{"unterminated": '),
    ("application/json", json.dumps({"a": [[[[[[[[[[1]]]]]]]]]]}).encode()),
    ("text/plain", b"\xff\xfe\x00garbage"),
    ("multipart/form-data; boundary=x", b"--x\r\nbroken"),
    ("application/x-www-form-urlencoded", b"a=" + b"b" * (2 * 1024 * 1024)),
]


def _concrete_paths(stack: Stack) -> list[tuple[str, str]]:
    routes = []
    for route in stack.broker_app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if not path or route.method == "HEAD":
            continue
        routes.append((route.method, str(path)))
    return sorted(set(routes))


def _fill(template: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, template)


def _is_right_format(path: str, content_type: str, body: str) -> bool:
    if path.startswith(
        ("/oauth/par", "/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/grants")
    ):
        return content_type == "application/json" and '"error"' in body
    if path.startswith("/v1/") or path.endswith(".json"):
        return content_type in ("application/problem+json", "application/json")
    return content_type in (
        "text/html",
        "application/json",
        "text/css",
        "text/plain",
        "application/problem+json",
        "application/octet-stream",
    )


@pytest.mark.parametrize("segment", HOSTILE_SEGMENTS)
async def test_hostile_paths_and_queries_never_cause_a_server_error(
    stack: Stack, http: aiohttp.ClientSession, segment: str
) -> None:
    failures = []
    for method, template in _concrete_paths(stack):
        for query in HOSTILE_QUERIES:
            url = f"{stack.broker_url}{_fill(template, segment)}"
            if template.startswith("/static"):
                url = f"{stack.broker_url}/static/{segment}"
            async with http.request(
                method,
                f"{url}?{query}",
                allow_redirects=False,
                headers={"Authorization": "Bearer %00garbage"},
            ) as response:
                body = await response.text(errors="replace")
                if response.status >= 500:
                    failures.append(f"{method} {template}?{query[:40]} → {response.status}")
                elif response.status >= 400 and not _is_right_format(
                    template, response.content_type, body
                ):
                    failures.append(f"{method} {template} → {response.content_type}")
    assert failures == []


async def test_hostile_bodies_never_cause_a_server_error(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    failures = []
    for method, template in _concrete_paths(stack):
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        for content_type, body in HOSTILE_BODIES:
            url = f"{stack.broker_url}{_fill(template, 'x')}"
            async with http.request(
                method,
                url,
                data=body,
                allow_redirects=False,
                headers={"Content-Type": content_type},
            ) as response:
                text = await response.text(errors="replace")
                if response.status >= 500 or response.status < 400:
                    failures.append(f"{method} {template} [{content_type}] → {response.status}")
                elif not _is_right_format(template, response.content_type, text):
                    failures.append(f"{method} {template} → {response.content_type}")
    assert failures == []
