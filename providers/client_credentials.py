"""What the meter holders that link by identifier share (Enedis Data Connect, GRDF ADICT).

The resident consents on the holder's own page and comes back with their meter's
identifier (PRM, PCE), which is the whole per-consent credential; every data call carries
the broker's own client-credentials token, one for all consents of that holder. Subclasses
say how a resource becomes a URL and how the answer is streamed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import structlog
from yarl import URL

from providers.base import HolderError, HolderUnavailable
from providers.enedis.access_token import ClientCredentialsToken
from providers.holder_http import raise_for_error_status

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10.0, sock_read=30.0)

log = structlog.get_logger(__name__)


class ClientCredentialsAdapter:
    """Construction, the shared token and the authorised GET of such holders."""

    # What the holder's answers are; the names of the members of its error bodies.
    accept: str = "application/json"
    error_keys: tuple[str, str] = ("error", "error_description")

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
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        chunk_size: int = 64 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        # Per-call limits: the manifest's, else what the holder publishes for the path.
        self._max_days = {
            name: (max_days or {}).get(name) or self.default_max_days(path)
            for name, path in resources.items()
        }
        self._authorize_url = URL(authorize_url)
        self._client_id = client_id
        self._resources = dict(resources)
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

    def default_max_days(self, path: str) -> int:
        return 365

    async def _get_authorised(
        self, url: str, params: Mapping[str, str], resource: str
    ) -> aiohttp.ClientResponse:
        """A successful answer, or the holder's refusal mapped (the response is closed)."""
        return await self._authorised("GET", url, resource, params=params)

    async def _authorised(
        self,
        method: str,
        url: str,
        resource: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        error_keys: tuple[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        token = await self._token.get()
        response = await self._send(method, url, token, params, body)
        if response.status == 401:
            # Revoked or expired earlier than announced: one fresh token, one more try.
            response.close()
            token = await self._token.refresh(token)
            response = await self._send(method, url, token, params, body)
        code_key, description_key = error_keys or self.error_keys
        try:
            await raise_for_error_status(
                response, code_key=code_key, description_key=description_key
            )
        except HolderError as exc:
            response.close()
            log.info("holder.refused", resource=resource, status=exc.status, code=exc.code)
            raise
        except BaseException:
            response.close()
            raise
        return response

    async def _send(
        self,
        method: str,
        url: str,
        token: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
    ) -> aiohttp.ClientResponse:
        try:
            return await self._session.request(
                method,
                url,
                params=params,
                json=body,
                headers={"Authorization": f"Bearer {token}", "Accept": self.accept},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HolderUnavailable(f"holder unreachable: {type(exc).__name__}") from exc
