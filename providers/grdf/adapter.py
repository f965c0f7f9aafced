"""GRDF ADICT (Gazpar) adapter: the holder port spoken in GRDF's dialect.

What follows GRDF's published API (``api.grdf.fr/adict/v2``, as its generated clients
describe it): resources under ``/adict/v2/pce/{id_pce}/…`` (``donnees_consos_informatives``,
``donnees_consos_publiees``, ``donnees_techniques``, ``donnees_contractuelles``), the range
as ``date_debut``/``date_fin``, answers in NDJSON (one JSON object per line, per gas day for
informative data) and a client-credentials token for the data calls; the access rights
(``droits d'accès``) listed by ``POST /adict/v2/droits_acces`` and ended by the authorised
third party with ``PATCH /adict/v2/droit_acces/{id_droit_acces}`` (``fin_acces``): the link
records the right's id with the PCE, and revoking a consent ends that right at GRDF.

What is assumed (docs/holders.md lists it): the consent page redirects back with ``pce``
next to ``code`` and ``state``, as Enedis does with ``usage_point_id``; errors are 4xx
with ``{"code", "message"}``; 365 days per call for daily data.

A longer range is split and the NDJSON pieces are concatenated, which is a valid NDJSON
document for the whole range: each piece is streamed through, never held.
"""

from __future__ import annotations

import json
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
from providers.client_credentials import ClientCredentialsAdapter
from providers.holder_http import refuse_link_error
from providers.ranges import split_range

PCE = re.compile(r"^(?:GI[0-9]{6}|[0-9]{14})$")
# The access-right API (``droits d'accès``), fixed by the protocol rather than the manifest.
_ACCESS_RIGHTS = "/adict/v2/droits_acces"
_ACCESS_RIGHT = "/adict/v2/droit_acces"
_RIGHT_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_OUTCOME_KEYS = ("code_statut_traitement", "message_retour_traitement")
# One PCE has a handful of rights over its life; a listing past this is not ADICT's.
_MAX_RIGHTS_LISTING = 256 * 1024
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
        right = await self._active_right(pce)
        return HolderLink(holder_subject=pce, credential={"pce": pce, "id_droit_acces": right})

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
        """``fin_acces``: end the broker's access right at GRDF, as the authorised party."""
        right = credential.get("id_droit_acces", "")
        if not _RIGHT_ID.match(right):
            return False  # linked before access rights were recorded: nothing to name
        response = await self._authorised(
            "PATCH",
            f"{self._base_url}{_ACCESS_RIGHT}/{right}",
            "droit_acces",
            error_keys=_OUTCOME_KEYS,
        )
        response.close()
        return True

    async def _active_right(self, pce: str) -> str:
        """The id of the active access right GRDF recorded when the resident accepted."""
        response = await self._authorised(
            "POST",
            self._base_url + _ACCESS_RIGHTS,
            "droits_acces",
            body={"id_pce": pce, "etat_droit_acces": "Active"},
            error_keys=_OUTCOME_KEYS,
        )
        try:
            text = await response.content.read(_MAX_RIGHTS_LISTING + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HolderUnavailable(f"holder stream broke: {type(exc).__name__}") from exc
        finally:
            response.close()
        if len(text) > _MAX_RIGHTS_LISTING:
            raise HolderUnavailable("holder's access-right listing is too large")
        found: list[tuple[str, str]] = []
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                raise HolderUnavailable("holder's access-right listing is not NDJSON") from None
            if isinstance(row, dict) and _RIGHT_ID.match(str(row.get("id_droit_acces", ""))):
                found.append((str(row.get("date_creation", "")), str(row["id_droit_acces"])))
        if not found:
            raise HolderError(
                status=409, code="no_access_right", description="GRDF holds no active right"
            )
        return max(found)[1]  # the newest, should GRDF keep an older one active

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
