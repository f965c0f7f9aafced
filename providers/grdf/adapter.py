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
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date

import aiohttp

from providers.backoff import with_backoff
from providers.base import (
    CredentialSink,
    HolderError,
    HolderLink,
    HolderStream,
    HolderUnavailable,
)
from providers.client_credentials import ClientCredentialsAdapter, refuse_link_error
from providers.ranges import split_range

PCE = re.compile(r"^(?:GI[0-9]{6}|[0-9]{14})$")
NDJSON = "application/x-ndjson"


class GrdfAdictAdapter(ClientCredentialsAdapter):
    """Implements :class:`providers.base.HolderAdapter` for protocol ``grdf-adict``."""

    protocol: str = "grdf-adict"
    accept = NDJSON
    error_keys = ("code", "message")

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
        refuse_link_error(query)
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
        # Refusals are logged under the protocol's name: the URL carries the PCE.
        response = await self._get_authorised(url, params, "grdf-adict")
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
