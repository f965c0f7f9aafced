"""``/openapi.json`` is served and stays true: every JSON route of the running app is in
it, with each of its methods, and nothing in it is a route the app does not have."""

from __future__ import annotations

import re

import aiohttp

from broker.http.middlewares import surface
from tests.support.stack import Stack

# JSON endpoints whose path does not say so (``surface`` sees them as pages).
_JSON_OUTSIDE_PREFIXES = {"/.well-known/oauth-authorization-server", "/healthz", "/readyz"}
# Not JSON at all, though outside the page surface: Prometheus text.
_NOT_JSON = {"/metrics"}


def json_routes(stack: Stack) -> set[tuple[str, str]]:
    found = set()
    for route in stack.broker_app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = str(info.get("path") or info.get("formatter") or "")
        path = re.sub(r"\{([^}:]+):[^}]+\}", r"{\1}", path)  # {name:regex} → {name}
        if not path or route.method in ("HEAD", "OPTIONS") or path in _NOT_JSON:
            continue
        if surface(path) != "page" or path in _JSON_OUTSIDE_PREFIXES:
            found.add((route.method.lower(), path))
    return found


async def _document(stack: Stack, http: aiohttp.ClientSession) -> dict[str, object]:
    async with http.get(f"{stack.broker_url}/openapi.json") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        return dict(await response.json())


async def test_every_json_route_is_described(stack: Stack, http: aiohttp.ClientSession) -> None:
    document = await _document(stack, http)
    assert document["openapi"] == "3.1.0"
    paths = document["paths"]
    assert isinstance(paths, dict)
    described = {(method, path) for path, item in paths.items() for method in item}
    missing = json_routes(stack) - described
    assert not missing, f"JSON routes missing from broker/openapi.py: {sorted(missing)}"


async def test_nothing_described_is_missing_from_the_app(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    paths = (await _document(stack, http))["paths"]
    assert isinstance(paths, dict)
    routes = json_routes(stack)
    ghosts = {(m, p) for p, item in paths.items() for m in item if (m, p) not in routes}
    assert not ghosts, f"described but not routed: {sorted(ghosts)}"
