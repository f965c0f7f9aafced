"""Enedis Data Connect adapter: the holder port spoken in Enedis's dialect.

Linking: the resident consents on Enedis's own page (``authorization_url``) and comes back
with the 14-digit PRM (``usage_point_id``) of their meter. That PRM is the whole credential:
Data Connect authorises data calls by (our client, usage point) consent at Enedis, and the
token that goes with each call is our client-credentials token, shared by all consents.

Every URL and secret comes from the holder manifest, so pointing at the real Enedis instead
of the simulator is configuration only.

A range longer than Enedis serves per call (7 days of load curve, 365 of daily data) is
split into calls and stitched into one document (``stitch.py``). A 429 is waited out when
Enedis asks for a short pause (``providers.backoff``), else passed up with its Retry-After.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import aiohttp
import structlog

from providers.backoff import with_backoff
from providers.base import (
    CredentialSink,
    HolderError,
    HolderLink,
    HolderStream,
    HolderUnavailable,
)
from providers.client_credentials import ClientCredentialsAdapter
from providers.enedis.resources import max_days_per_call, takes_date_range
from providers.enedis.stitch import stitched
from providers.holder_http import refuse_link_error
from providers.ranges import split_range

_PRM = re.compile(r"^[0-9]{14}$")
# One piece of a stitched answer is read whole: 7 days of half-hours is ~40 kB, a year of
# days ~25 kB. Anything far larger is not an Enedis metering answer.
_MAX_PIECE = 4 * 1024 * 1024

log = structlog.get_logger(__name__)


class EnedisDataConnectAdapter(ClientCredentialsAdapter):
    """Implements :class:`providers.base.HolderAdapter` for protocol ``enedis-dataconnect``."""

    protocol: str = "enedis-dataconnect"

    def default_max_days(self, path: str) -> int:
        return max_days_per_call(path)

    def authorization_url(self, *, state: str, redirect_uri: str, duration: str) -> str:
        # Enedis registers redirect URIs per client and ignores this one; the simulator
        # checks it against its registration, which catches misconfiguration early.
        return str(
            self._authorize_url.extend_query(
                client_id=self._client_id,
                response_type="code",
                state=state,
                duration=duration,
                redirect_uri=redirect_uri,
            )
        )

    async def complete_link(self, *, query: Mapping[str, str], redirect_uri: str) -> HolderLink:
        refuse_link_error(query)
        usage_point_id = query.get("usage_point_id", "")
        if not _PRM.match(usage_point_id):
            raise HolderError(
                status=400,
                code="invalid_request",
                description="the holder's redirect carries no 14-digit usage_point_id",
            )
        # The authorization code is not kept: Data Connect v5 authorises data calls with
        # the client-credentials token plus the consent Enedis recorded for this PRM, so
        # the code has no further use and storing it would only be one more secret.
        return HolderLink(
            holder_subject=usage_point_id, credential={"usage_point_id": usage_point_id}
        )

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
        # Enedis credentials never change (the PRM), so ``renewed`` is never called.
        url, params = self._request_for(credential, resource, start, end)
        if "start" in params and (end - start).days > self._max_days[resource]:
            async with self._stitched(url, params, resource, start, end) as stream:
                yield stream
            return
        response = await with_backoff(lambda: self._get_authorised(url, params, resource))
        try:
            if not 200 <= response.status < 300 or response.content_type != "application/json":
                raise HolderUnavailable(
                    f"holder answered {response.status} {response.content_type} for {resource}"
                )
            yield HolderStream(
                status=response.status,
                content_type=response.content_type,
                chunks=_chunks(response, self._chunk_size),
                content_length=response.content_length,
            )
        finally:
            if response.content.at_eof():
                response.release()  # body fully read: the connection goes back to the pool
            else:
                response.close()  # the reader stopped early: drop the half-read connection

    @asynccontextmanager
    async def _stitched(
        self, url: str, params: Mapping[str, str], resource: str, start: date, end: date
    ) -> AsyncIterator[HolderStream]:
        pieces = split_range(start, end, self._max_days[resource])

        async def piece(first: date, stop: date, *, later: bool = True) -> dict[str, Any]:
            asked = {**params, "start": first.isoformat(), "end": stop.isoformat()}
            try:
                return await with_backoff(lambda: self._read_piece(url, asked, resource))
            except HolderError as error:
                # A later week without measures is a gap in the series, not a failure.
                if later and error.status == 404:
                    return {"meter_reading": {"interval_reading": []}}
                raise

        # The first piece is read before anything is sent: its refusal is a clean error.
        first = await piece(*pieces[0], later=False)
        yield HolderStream(
            status=200,
            content_type="application/json",
            chunks=stitched(first, pieces[1:], piece, start=start, end=end),
        )

    async def _read_piece(
        self, url: str, params: Mapping[str, str], resource: str
    ) -> dict[str, Any]:
        response = await self._get_authorised(url, params, resource)
        try:
            if response.content_type != "application/json":
                raise HolderUnavailable(f"holder answered {response.content_type} for {resource}")
            raw = await response.content.read(_MAX_PIECE + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HolderUnavailable(f"holder stream broke: {type(exc).__name__}") from exc
        finally:
            response.close()
        if len(raw) > _MAX_PIECE:
            raise HolderUnavailable("holder answered an oversized piece")
        try:
            document = json.loads(raw)
        except ValueError:
            raise HolderUnavailable("holder answered a piece that is not JSON") from None
        if not isinstance(document, dict):
            raise HolderUnavailable("holder answered a piece that is not an object")
        return document

    async def revoke(self, *, credential: Mapping[str, str]) -> bool:
        # Data Connect offers third parties no per-consent revocation: the customer withdraws
        # consent in their Enedis account. POST /oauth2/v3/revoke exists, but it revokes our
        # client-credentials token, which serves every consent at once, so calling it would
        # cut off other residents and protect this one not at all. The broker stops using
        # the credential instead; there is nothing meaningful to call here.
        return False

    def _request_for(
        self, credential: Mapping[str, str], resource: str, start: date, end: date
    ) -> tuple[str, dict[str, str]]:
        path = self._resources.get(resource)
        if path is None:
            raise ValueError(f"resource {resource!r} is not in this holder's manifest")
        usage_point_id = credential.get("usage_point_id", "")
        if not _PRM.match(usage_point_id):
            raise ValueError("an Enedis credential needs a 14-digit usage_point_id")
        params = {"usage_point_id": usage_point_id}
        if takes_date_range(path):
            params["start"] = start.isoformat()
            params["end"] = end.isoformat()
        return self._base_url + path, params


async def _chunks(response: aiohttp.ClientResponse, size: int) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.content.iter_chunked(size):
            yield chunk
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise HolderUnavailable(f"holder stream broke: {type(exc).__name__}") from exc
