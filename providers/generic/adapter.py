"""``generic-oauth2``: any holder with an OAuth 2 authorization code flow and REST resources
described by its manifest, with no code of its own.

Linking: the resident consents at the holder's authorization endpoint (with PKCE); the
code comes back to the broker, which exchanges it for an access and a refresh token. The
token response must name the resident's account at the holder in ``sub``. The per-consent
credential is that token set; it is renewed with the refresh token shortly before the
access token expires, or when the holder answers 401, and the new one is handed to the
broker's ``renewed`` sink before it is used.

Data calls: ``GET base_url + path`` with the range under the manifest's parameter names
(``parameters.start``/``parameters.end``), the body streamed through. A range longer than
the resource's ``max_days_per_call`` is refused before the holder is called: a generic
holder's document shape is unknown, so it cannot be stitched.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import date

import aiohttp
from yarl import URL

from consent.registry import ResourceSpec
from providers.backoff import with_backoff
from providers.base import (
    CredentialSink,
    HolderError,
    HolderLink,
    HolderStream,
    HolderUnavailable,
)
from providers.generic.tokens import OAuthClient, TokenSet, pkce_challenge, pkce_verifier
from providers.holder_http import raise_for_error_status, refuse_link_error

_DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10.0, sock_read=30.0)
_STREAMABLE = ("application/json", "application/x-ndjson", "text/csv")
# Renew this long before the announced expiry, so a token never dies in flight.
_EXPIRY_MARGIN_S = 30.0
# Renewals remembered for concurrent late-comers; the oldest are forgotten first.
_REMEMBERED = 512


class GenericOAuth2Adapter:
    """Implements :class:`providers.base.HolderAdapter` for protocol ``generic-oauth2``."""

    protocol: str = "generic-oauth2"

    def __init__(
        self,
        *,
        base_url: str,
        authorize_url: str,
        token_url: str,
        revocation_url: str | None,
        client_id: str,
        client_secret: str,
        resources: Mapping[str, ResourceSpec],
        session: aiohttp.ClientSession,
        timeout: aiohttp.ClientTimeout = _DEFAULT_TIMEOUT,
        chunk_size: int = 64 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._authorize_url = URL(authorize_url)
        self._client_id = client_id
        self._client_secret = client_secret
        self._resources = dict(resources)
        self._session = session
        self._timeout = timeout
        self._chunk_size = chunk_size
        self._clock = clock
        self._oauth = OAuthClient(
            session=session,
            token_url=token_url,
            revocation_url=revocation_url,
            client_id=client_id,
            client_secret=client_secret,
            timeout=timeout,
            clock=clock,
        )
        # One refresh at a time per consent (keyed by a hash of its refresh token), and the
        # result kept for late-comers holding the old credential: with rotating refresh
        # tokens, a second refresh with the old one would be refused by the holder.
        self._locks: dict[str, asyncio.Lock] = {}
        self._renewed: dict[str, TokenSet] = {}

    def authorization_url(self, *, state: str, redirect_uri: str, duration: str) -> str:
        verifier = pkce_verifier(self._client_secret, state)
        return str(
            self._authorize_url.extend_query(
                response_type="code",
                client_id=self._client_id,
                redirect_uri=redirect_uri,
                state=state,
                scope=" ".join(self._resources),
                code_challenge=pkce_challenge(verifier),
                code_challenge_method="S256",
            )
        )

    async def complete_link(self, *, query: Mapping[str, str], redirect_uri: str) -> HolderLink:
        refuse_link_error(query)
        code, state = query.get("code", ""), query.get("state", "")
        if not code or not state:
            raise HolderError(status=400, code="invalid_request", description="no code")
        tokens = await self._oauth.exchange(
            code, redirect_uri, pkce_verifier(self._client_secret, state)
        )
        return HolderLink(holder_subject=tokens.subject, credential=tokens.credential())

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
        url, params = self._request_for(resource, start, end)
        tokens = await self._fresh(TokenSet.from_credential(credential), renewed, force=False)
        response = await with_backoff(lambda: self._get(url, params, tokens.access_token))
        if response.status == 401:
            response.close()
            tokens = await self._fresh(tokens, renewed, force=True)
            response = await with_backoff(lambda: self._get(url, params, tokens.access_token))
        try:
            await raise_for_error_status(response)
            if response.content_type not in _STREAMABLE:
                raise HolderUnavailable(f"holder answered {response.content_type} for {resource}")
            yield HolderStream(
                status=response.status,
                content_type=response.content_type,
                chunks=_chunks(response, self._chunk_size),
                content_length=response.content_length,
            )
        finally:
            if response.content.at_eof():
                response.release()
            else:
                response.close()

    async def revoke(self, *, credential: Mapping[str, str]) -> bool:
        """RFC 7009 at the holder's revocation endpoint, with the refresh token."""
        return await self._oauth.revoke(credential.get("refresh_token", ""))

    def _request_for(self, resource: str, start: date, end: date) -> tuple[str, dict[str, str]]:
        spec = self._resources.get(resource)
        if spec is None:
            raise ValueError(f"resource {resource!r} is not in this holder's manifest")
        if not spec.dated:
            return self._base_url + spec.path, {}
        if (end - start).days > spec.max_days_per_call:
            raise HolderError(
                status=400,
                code="period_too_long",
                description=f"this holder serves at most {spec.max_days_per_call} days per call",
            )
        names = spec.parameters
        return self._base_url + spec.path, {
            names.start: start.isoformat(),
            names.end: end.isoformat(),
        }

    async def _fresh(
        self, tokens: TokenSet, renewed: CredentialSink | None, *, force: bool
    ) -> TokenSet:
        if not force and self._clock() < tokens.expires_at - _EXPIRY_MARGIN_S:
            return tokens
        key = hashlib.sha256(tokens.refresh_token.encode()).hexdigest()
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            known = self._renewed.get(key)
            if known is None:
                known = await self._oauth.refresh(tokens)
                if renewed is not None:
                    await renewed(known.credential())
                self._renewed[key] = known
                while len(self._renewed) > _REMEMBERED:
                    self._renewed.pop(next(iter(self._renewed)))
        self._locks.pop(key, None)
        return known

    async def _get(self, url: str, params: Mapping[str, str], token: str) -> aiohttp.ClientResponse:
        try:
            response = await self._session.get(
                url,
                params=params,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HolderUnavailable(f"holder unreachable: {type(exc).__name__}") from exc
        if response.status == 429:
            try:
                await raise_for_error_status(response)
            finally:
                response.close()
        return response


async def _chunks(response: aiohttp.ClientResponse, size: int) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.content.iter_chunked(size):
            yield chunk
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise HolderUnavailable(f"holder stream broke: {type(exc).__name__}") from exc
