"""A service's public keys fetched from its ``jwks_uri`` (RFC 7591 §2, RFC 7517 §5), for
verifying its ``private_key_jwt`` assertions (``assertion.py``).

* Only ``https``; plain ``http`` to a loopback address only when
  ``AIGUILLAGE_JWKS_ALLOW_HTTP_LOOPBACK`` is on (tests and the demo). Redirects are not
  followed: the registered URI is the one trusted.
* Each fetch has a total timeout and a size cap, and must give ``{"keys": [...]}``.
* A fetched set is kept ``CACHE_SECONDS``; concurrent misses for one URI make one fetch.
* A key id the cached set does not know (the service rotated its keys) triggers one early
  refetch; such refetches are spaced ``REFETCH_COOLDOWN`` apart per URI, so assertions
  with made-up key ids cannot turn the broker into a fetch loop against the service.

The cache belongs to one broker app (two apps in one process never share it): it is
``app[SERVICE_KEYS]``, made with the app's HTTP client session and dropped with the app.

A fetch can take up to ``FETCH_TIMEOUT``: callers must not hold a database connection
while awaiting ``jwks`` / ``jwks_with`` (``client_auth.py`` reads the registration, lets the
connection go, obtains the keys, then records the ``jti`` in a new unit of work).
``known`` answers from the cache alone, for the common case where no fetch is needed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import structlog
from aiohttp import web

from broker.settings import Settings

log = structlog.get_logger(__name__)

FETCH_TIMEOUT = 5.0
MAX_JWKS_BYTES = 64 * 1024
CACHE_SECONDS = 300.0
REFETCH_COOLDOWN = 10.0


class JwksUnavailable(Exception):
    """The JWKS could not be fetched, or what came back is not a JWKS."""


@dataclass
class _Cached:
    jwks: dict[str, Any]
    fetched_at: float
    refetched_at: float | None = None


def kids(jwks: dict[str, Any]) -> set[str]:
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        return set()
    return {k["kid"] for k in keys if isinstance(k, dict) and isinstance(k.get("kid"), str)}


def check_uri(uri: str, *, allow_http_loopback: bool) -> None:
    parts = urlsplit(uri)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and allow_http_loopback and _is_loopback(parts.hostname):
        return
    raise JwksUnavailable("jwks_uri must be https (plain http only to loopback in tests)")


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ServiceKeys:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._settings = settings  # read at each fetch (``jwks_allow_http_loopback``)
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def jwks(self, uri: str) -> dict[str, Any]:
        """The service's key set, from the cache while it is fresh."""
        cached = self._cache.get(uri)
        if cached is not None and self._clock() - cached.fetched_at < CACHE_SECONDS:
            return cached.jwks
        async with self._locks.setdefault(uri, asyncio.Lock()):
            cached = self._cache.get(uri)
            if cached is not None and self._clock() - cached.fetched_at < CACHE_SECONDS:
                return cached.jwks
            return await self._refresh(uri, cached)

    def known(self, uri: str, kid: str | None) -> dict[str, Any] | None:
        """The cached key set if it is fresh and (given a ``kid``) knows that key id; None
        when ``jwks`` / ``jwks_with`` might have to fetch. Never touches the network."""
        cached = self._cache.get(uri)
        if cached is None or self._clock() - cached.fetched_at >= CACHE_SECONDS:
            return None
        if kid is not None and kid not in kids(cached.jwks):
            return None
        return cached.jwks

    async def jwks_with(self, uri: str, kid: str) -> dict[str, Any]:
        """The key set, refetched once first if it does not know ``kid`` (a rotation), unless
        a refetch for that URI happened less than ``REFETCH_COOLDOWN`` ago."""
        known = await self.jwks(uri)
        if kid in kids(known):
            return known
        async with self._locks.setdefault(uri, asyncio.Lock()):
            cached = self._cache.get(uri)
            if cached is not None and kid in kids(cached.jwks):
                return cached.jwks  # another request refetched meanwhile
            if cached is None:
                return await self._refresh(uri, None)
            now = self._clock()
            if cached.refetched_at is not None and now - cached.refetched_at < REFETCH_COOLDOWN:
                return cached.jwks
            cached.refetched_at = now  # before fetching: a failing fetch is spaced out too
            return await self._refresh(uri, cached)

    async def _refresh(self, uri: str, previous: _Cached | None) -> dict[str, Any]:
        jwks = await self._fetch(uri)
        entry = _Cached(jwks, self._clock())
        if previous is not None:
            entry.refetched_at = previous.refetched_at
        self._cache[uri] = entry
        return jwks

    async def _fetch(self, uri: str) -> dict[str, Any]:
        check_uri(uri, allow_http_loopback=self._settings.jwks_allow_http_loopback)
        try:
            async with self._session.get(
                uri,
                timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT),
                allow_redirects=False,
                headers={"Accept": "application/jwk-set+json, application/json"},
            ) as response:
                if response.status != 200:
                    raise JwksUnavailable(f"jwks_uri answered {response.status}")
                raw = await response.content.read(MAX_JWKS_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("service_keys.unreachable", uri=uri, error=type(exc).__name__)
            raise JwksUnavailable(f"jwks_uri unreachable: {type(exc).__name__}") from exc
        if len(raw) > MAX_JWKS_BYTES:
            raise JwksUnavailable("the JWKS is larger than allowed")
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise JwksUnavailable("the JWKS is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise JwksUnavailable("the JWKS has no keys array")
        log.info("service_keys.fetched", uri=uri, keys=len(document["keys"]))
        return document


SERVICE_KEYS = web.AppKey("service_keys", ServiceKeys)
