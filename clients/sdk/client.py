"""``AiguillageClient``: the service side of the broker's OAuth and data endpoints.

It speaks HTTP only (docs/wire.md) through a ``ClientSession`` the caller owns, so that one
session per application is reused and closed by the application (aiohttp's advice).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import aiohttp
import structlog

from clients.sdk.auth import ClientAuth
from clients.sdk.callback import check_callback
from clients.sdk.data import DataStream
from clients.sdk.errors import IssuerMismatch, ProtocolViolation, TransportError
from clients.sdk.models import AuthorizationDetail, Grant, PendingAuthorization, TokenSet
from clients.sdk.notices import Notice, notice_kid, parse_notice
from clients.sdk.pkce import new_pkce_pair, new_state
from clients.sdk.responses import decode_json_object, oauth_failure, problem_failure

__all__ = ["AiguillageClient"]

log = structlog.get_logger(__name__)

# Used when the metadata does not name an endpoint; these are the broker's paths.
_DEFAULT_PATHS = {
    "pushed_authorization_request_endpoint": "/oauth/par",
    "authorization_endpoint": "/oauth/authorize",
    "token_endpoint": "/oauth/token",
    "revocation_endpoint": "/oauth/revoke",
    "introspection_endpoint": "/oauth/introspect",
    "grant_management_endpoint": "/oauth/grants",
}


def metadata_url(issuer: str) -> str:
    """RFC 8414 §3: the well-known segment goes between the host and the issuer's path."""
    parts = urlsplit(issuer)
    path = "/.well-known/oauth-authorization-server" + parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class AiguillageClient:
    def __init__(
        self,
        issuer: str,
        client_id: str,
        auth: ClientAuth,
        session: aiohttp.ClientSession,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._auth = auth
        self._session = session
        self._clock = clock or (lambda: datetime.now(UTC))
        self._metadata: dict[str, Any] | None = None
        self._discovery_lock = asyncio.Lock()
        self._jwks: dict[str, Any] | None = None

    # -- discovery ---------------------------------------------------------------------

    async def discover(self) -> dict[str, Any]:
        """Fetch and cache the RFC 8414 metadata; its ``issuer`` must be ours (§3.3)."""
        async with self._discovery_lock:
            if self._metadata is None:
                status, body = await self._send("GET", metadata_url(self.issuer))
                if status != 200:
                    raise TransportError("authorization server metadata unavailable", status)
                metadata = decode_json_object(body, status)
                if metadata.get("issuer") != self.issuer:
                    raise IssuerMismatch("the metadata issuer is not the configured issuer")
                self._metadata = metadata
            return self._metadata

    async def _endpoint(self, name: str) -> str:
        metadata = await self.discover()
        value = metadata.get(name)
        if isinstance(value, str) and value:
            return value
        return self.issuer.rstrip("/") + _DEFAULT_PATHS[name]

    # -- authorization ------------------------------------------------------------------

    async def start_authorization(
        self,
        redirect_uri: str,
        authorization_details: Sequence[AuthorizationDetail] | Sequence[Mapping[str, Any]],
    ) -> PendingAuthorization:
        """Push the request (RFC 9126) with PKCE S256 (RFC 7636) and return the browser URL."""
        details = [
            d if isinstance(d, AuthorizationDetail) else AuthorizationDetail.model_validate(d)
            for d in authorization_details
        ]
        if not details:
            raise ValueError("at least one authorization detail is required")
        pkce = new_pkce_pair()
        state = new_state()
        form = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
            "authorization_details": json.dumps([d.to_wire() for d in details]),
        }
        answer = await self._oauth_post("pushed_authorization_request_endpoint", form)
        request_uri = answer.get("request_uri")
        if not isinstance(request_uri, str) or not request_uri:
            raise ProtocolViolation("the PAR answer carries no request_uri")
        authorize = await self._endpoint("authorization_endpoint")
        query = urlencode({"client_id": self.client_id, "request_uri": request_uri})
        separator = "&" if "?" in authorize else "?"
        log.debug("aiguillage.par.pushed", client_id=self.client_id)
        return PendingAuthorization(
            url=f"{authorize}{separator}{query}",
            state=state,
            code_verifier=pkce.verifier,
            redirect_uri=redirect_uri,
        )

    def parse_callback(self, query: Mapping[str, str], pending: PendingAuthorization) -> str:
        """The code from the callback query, after the state and RFC 9207 ``iss`` checks."""
        return check_callback(query, pending, self.issuer)

    async def exchange_code(self, code: str, pending: PendingAuthorization) -> TokenSet:
        """RFC 6749 §4.1.3 with the PKCE verifier; the answer names the grant and its details."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.code_verifier,
        }
        answer = await self._oauth_post("token_endpoint", form)
        return self._token_set(answer, previous=None)

    async def refresh(self, token_set: TokenSet) -> TokenSet:
        """RFC 6749 §6. The old refresh token is dead once this returns: store the new set.

        Presenting a rotated refresh token again revokes the whole grant, so never call this
        twice with the same set; ``TokenManager`` serialises refreshes for that reason.
        """
        if token_set.refresh_token is None:
            raise ProtocolViolation("this token set has no refresh token")
        form = {"grant_type": "refresh_token", "refresh_token": token_set.refresh_token}
        answer = await self._oauth_post("token_endpoint", form)
        log.debug("aiguillage.token.refreshed")
        return self._token_set(answer, previous=token_set)

    def _token_set(self, answer: Mapping[str, Any], previous: TokenSet | None) -> TokenSet:
        try:
            return TokenSet.from_response(answer, self._clock(), previous)
        except (KeyError, ValueError, TypeError) as exc:
            raise ProtocolViolation(f"malformed token answer: {type(exc).__name__}") from None

    # -- grants and tokens --------------------------------------------------------------

    async def get_grant(self, grant_id: str) -> Grant:
        """OpenID Grant Management: the grant as the broker holds it now."""
        status, body = await self._grant_request("GET", grant_id)
        if status != 200:
            raise oauth_failure(status, body)
        try:
            return Grant.model_validate(decode_json_object(body, status))
        except ValueError as exc:
            raise ProtocolViolation(f"malformed grant: {type(exc).__name__}") from None

    async def end_grant(self, grant_id: str) -> None:
        """Ends the consent from the service's side (it becomes TERMINATED_BY_SERVICE)."""
        status, body = await self._grant_request("DELETE", grant_id)
        if status not in (200, 204):
            raise oauth_failure(status, body)

    async def revoke_token(self, token: str, hint: str | None = None) -> None:
        """RFC 7009. Succeeds for unknown tokens too (§2.2), so it is safe to repeat."""
        form = {"token": token}
        if hint is not None:
            form["token_type_hint"] = hint
        await self._oauth_post("revocation_endpoint", form, expect_json=False)

    async def _grant_request(self, method: str, grant_id: str) -> tuple[int, bytes]:
        url = f"{await self._endpoint('grant_management_endpoint')}/{quote(grant_id, safe='')}"
        headers = self._auth.for_bodiless_request(self.client_id, self.issuer)
        return await self._send(method, url, headers=headers)

    # -- notices (RFC 8417 tokens pushed per RFC 8935) ------------------------------------

    async def verify_notice(self, token: str) -> Notice:
        """Check a notice pushed to our notification endpoint; raise InvalidNotice if it
        fails. The broker's JWKS is cached, and fetched again once for an unknown key id
        (the broker rotated its key)."""
        kid = notice_kid(token)
        if self._jwks is None or (kid is not None and not _has_kid(self._jwks, kid)):
            self._jwks = await self._fetch_jwks()
        return parse_notice(
            token, self._jwks, issuer=self.issuer, client_id=self.client_id, now=self._clock()
        )

    async def _fetch_jwks(self) -> dict[str, Any]:
        metadata = await self.discover()
        url = metadata.get("jwks_uri") or self.issuer.rstrip("/") + "/jwks.json"
        status, body = await self._send("GET", str(url))
        if status != 200:
            raise TransportError("the broker's JWKS is unavailable", status)
        return decode_json_object(body, status)

    # -- data plane ---------------------------------------------------------------------

    @asynccontextmanager
    async def fetch(
        self, token_set: TokenSet, holder: str, resource: str, start: date, end: date
    ) -> AsyncIterator[DataStream]:
        """``GET /v1/data/{holder}/{resource}`` over ``[start; end[``, streamed.

        Raises InvalidToken (401), DataAccessDenied (any problem), TransportError.
        """
        path = f"/v1/data/{quote(holder, safe='')}/{quote(resource, safe='')}"
        url = self.issuer.rstrip("/") + path
        params = {"start": start.isoformat(), "end": end.isoformat()}
        headers = {"Authorization": f"Bearer {token_set.access_token}"}
        try:
            response = await self._session.get(
                url, params=params, headers=headers, allow_redirects=False
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransportError(f"data request failed: {type(exc).__name__}") from exc
        # Only the request is wrapped above: what the caller does with the stream is theirs.
        try:
            if response.status != 200:
                body = await self._read_error_body(response)
                raise problem_failure(
                    response.status, response.content_type, body, response.headers
                )
            yield DataStream(response)
        finally:
            response.release()

    @staticmethod
    async def _read_error_body(response: aiohttp.ClientResponse) -> bytes:
        try:
            return await response.content.read(64 * 1024)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransportError("error body unreadable", response.status) from exc

    # -- HTTP -----------------------------------------------------------------------------

    async def _oauth_post(
        self, endpoint: str, form: dict[str, str], *, expect_json: bool = True
    ) -> dict[str, Any]:
        url = await self._endpoint(endpoint)
        auth = self._auth.for_request(self.client_id, self.issuer)
        status, body = await self._send("POST", url, headers=auth.headers, data=form | auth.form)
        if not 200 <= status < 300:
            raise oauth_failure(status, body)
        return decode_json_object(body, status) if expect_json else {}

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        # No redirects: an OAuth endpoint that redirects is misconfigured, and following it
        # would hand our client credentials to wherever it points.
        try:
            async with self._session.request(
                method, url, headers=headers, data=data, allow_redirects=False
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            where = urlsplit(url).path
            raise TransportError(f"{method} {where} failed: {type(exc).__name__}") from exc


def _has_kid(jwks: dict[str, Any], kid: str) -> bool:
    keys = jwks.get("keys")
    return isinstance(keys, list) and any(isinstance(k, dict) and k.get("kid") == kid for k in keys)
