"""GRDF ADICT (Gazpar) adapter: the holder port spoken in GRDF's dialect.

What follows GRDF's published API (``api.grdf.fr/adict/v2``, as its generated clients
describe it): resources under ``/adict/v2/pce/{id_pce}/…`` (``donnees_consos_informatives``,
``donnees_consos_publiees``, ``donnees_techniques``, ``donnees_contractuelles``), the range
as ``date_debut``/``date_fin``, answers in NDJSON (one JSON object per line, per gas day for
informative data) and a client-credentials token for the data calls.

What is assumed (docs/holders.md lists it): the consent page redirects back with ``pce``
next to ``code`` and ``state``, as Enedis does with ``usage_point_id``; errors are 4xx
with ``{"code", "message"}``; 365 days per call for daily data.

A longer range is split and the NDJSON pieces are concatenated, which is a valid NDJSON
document for the whole range: each piece is streamed through, never held.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import date

import aiohttp
from yarl import URL

from providers.backoff import with_backoff
from providers.base import (
    CredentialSink,
    HolderError,
    HolderLink,
    HolderStream,
    HolderUnavailable,
)
from providers.enedis.access_token import ClientCredentialsToken
from providers.holder_http import raise_for_error_status
from providers.ranges import split_range

PCE = re.compile(r"^(?:GI[0-9]{6}|[0-9]{14})$")
NDJSON = "application/x-ndjson"
_DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10.0, sock_read=30.0)


class GrdfAdictAdapter:
    """Implements :class:`providers.base.HolderAdapter` for protocol ``grdf-adict``."""

    protocol: str = "grdf-adict"

    def __init__(
        self,
        *,
        base_url: str,
        authorize_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        resources: Mapping[str, str],
        session: aiohttp.ClientSession,
        max_days: Mapping[str, int] | None = None,
        timeout: aiohttp.ClientTimeout = _DEFAULT_TIMEOUT,
        chunk_size: int = 64 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._authorize_url = URL(authorize_url)
        self._client_id = client_id
        self._resources = dict(resources)
        self._max_days = {name: (max_days or {}).get(name, 365) for name in resources}
        self._session = session
        self._timeout = timeout
        self._chunk_size = chunk_size
        self._token = ClientCredentialsToken(
            session=session,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            timeout=timeout,
            clock=clock,
        )

    def authorization_url(self, *, state: str, redirect_uri: str, duration: str) -> str:
        return str(
            self._authorize_url.extend_query(
                client_id=self._client_id,
                response_type="code",
                scope="openid",
                redirect_uri=redirect_uri,
                state=state,
                duration=duration,
            )
        )

    async def complete_link(self, *, query: Mapping[str, str], redirect_uri: str) -> HolderLink:
        error = query.get("error")
        if error is not None:
            raise HolderError(status=403 if error == "access_denied" else 400, code=error[:64])
        pce = query.get("pce", "")
        if not PCE.match(pce):
            raise HolderError(status=400, code="invalid_request", description="no valid pce")
        return HolderLink(holder_subject=pce, credential={"pce": pce})

    @asynccontextmanager
    async def fetch(
        self,
        *,
        credential: Mapping[str, str],
        resource: str,
        start: date,
        end: date,
        renewed: CredentialSink | None = None,
    ) -> AsyncIterator[HolderStream]:
        url = self._url_for(credential, resource)
        # Consumption data is dated; technical and contract data take no range.
        pieces: list[tuple[date, date] | None] = (
            list(split_range(start, end, self._max_days[resource]))
            if "/donnees_consos" in url
            else [None]
        )
        # The first piece is opened before anything is sent: its refusal is a clean error.
        first = await self._open_with_backoff(url, pieces[0])
        yield HolderStream(
            status=200,
            content_type=NDJSON,
            chunks=self._concatenated(first, url, pieces[1:]),
        )

    async def revoke(self, *, credential: Mapping[str, str]) -> bool:
        # ADICT ends an access right through its own "droits d'accès" API, per PCE; it is
        # not wired here (see docs/holders.md), so the broker simply stops using it.
        return False

    def _url_for(self, credential: Mapping[str, str], resource: str) -> str:
        path = self._resources.get(resource)
        if path is None:
            raise ValueError(f"resource {resource!r} is not in this holder's manifest")
        pce = credential.get("pce", "")
        if not PCE.match(pce):
            raise ValueError("a GRDF credential needs a PCE")
        return self._base_url + path.replace("{id_pce}", pce)

    async def _open_with_backoff(
        self, url: str, piece: tuple[date, date] | None
    ) -> aiohttp.ClientResponse:
        return await with_backoff(lambda: self._open(url, piece))

    async def _open(self, url: str, piece: tuple[date, date] | None) -> aiohttp.ClientResponse:
        params = {}
        if piece is not None:
            params = {"date_debut": piece[0].isoformat(), "date_fin": piece[1].isoformat()}
        token = await self._token.get()
        response = await self._get(url, params, token)
        if response.status == 401:
            response.close()
            response = await self._get(url, params, await self._token.refresh(token))
        try:
            await raise_for_error_status(response, code_key="code", description_key="message")
        except BaseException:
            response.close()
            raise
        if response.content_type not in (NDJSON, "application/json"):
            response.close()
            raise HolderUnavailable(f"holder answered {response.content_type}")
        return response

    async def _concatenated(
        self, first: aiohttp.ClientResponse, url: str, rest: list[tuple[date, date] | None]
    ) -> AsyncIterator[bytes]:
        response = first
        for index in range(len(rest) + 1):
            if index:
                response = await self._open_with_backoff(url, rest[index - 1])
            last = b"\n"
            try:
                async for chunk in response.content.iter_chunked(self._chunk_size):
                    if chunk:
                        last = chunk[-1:]
                    yield chunk
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise HolderUnavailable(f"holder stream broke: {type(exc).__name__}") from exc
            finally:
                response.close()
            if last != b"\n":
                yield b"\n"  # each piece ends its last line, so lines never run together

    async def _get(self, url: str, params: Mapping[str, str], token: str) -> aiohttp.ClientResponse:
        try:
            return await self._session.get(
                url,
                params=params,
                headers={"Authorization": f"Bearer {token}", "Accept": NDJSON},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HolderUnavailable(f"holder unreachable: {type(exc).__name__}") from exc
