"""The OAuth 2 client side of a ``generic-oauth2`` holder: code exchange with PKCE, refresh
and revocation, all client-authenticated with HTTP Basic (RFC 6749 §2.3.1).

PKCE (RFC 7636) without storing a verifier: the verifier is an HMAC of the broker's
``state`` under the broker's client secret at that holder. The broker already keeps the
state (hashed) for the callback, the holder never sees the secret, and nobody who sees the
state in a URL can derive the verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from providers.base import HolderError, HolderUnavailable
from providers.holder_http import raise_for_error_status, read_json_object

_MAX_SUBJECT = 128


def pkce_verifier(client_secret: str, state: str) -> str:
    digest = hmac.new(client_secret.encode(), b"pkce:" + state.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds
    subject: str

    def credential(self) -> dict[str, str]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": f"{self.expires_at:.0f}",
            "subject": self.subject,
        }

    @classmethod
    def from_credential(cls, credential: Mapping[str, str]) -> TokenSet:
        try:
            return cls(
                access_token=credential["access_token"],
                refresh_token=credential.get("refresh_token", ""),
                expires_at=float(credential.get("expires_at", "0")),
                subject=credential.get("subject", ""),
            )
        except (KeyError, ValueError):
            raise ValueError("a generic-oauth2 credential needs an access_token") from None


class OAuthClient:
    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        token_url: str,
        revocation_url: str | None,
        client_id: str,
        client_secret: str,
        timeout: aiohttp.ClientTimeout,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._token_url = token_url
        self._revocation_url = revocation_url
        self._basic = aiohttp.encode_basic_auth(client_id, client_secret)
        self._timeout = timeout
        self._clock = clock

    async def exchange(self, code: str, redirect_uri: str, verifier: str) -> TokenSet:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        return self._token_set(await self._post(self._token_url, form), subject=None)

    async def refresh(self, current: TokenSet) -> TokenSet:
        if not current.refresh_token:
            raise HolderError(status=401, code="invalid_grant", description="no refresh token")
        form = {"grant_type": "refresh_token", "refresh_token": current.refresh_token}
        body = await self._post(self._token_url, form)
        return self._token_set(body, subject=current.subject, old_refresh=current.refresh_token)

    async def revoke(self, refresh_token: str) -> bool:
        if self._revocation_url is None or not refresh_token:
            return False
        form = {"token": refresh_token, "token_type_hint": "refresh_token"}
        await self._post(self._revocation_url, form, expect_body=False)
        return True

    async def _post(
        self, url: str, form: dict[str, str], *, expect_body: bool = True
    ) -> dict[str, Any]:
        try:
            async with self._session.post(
                url,
                data=form,
                headers={"Authorization": self._basic, "Accept": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                await raise_for_error_status(response)
                return await read_json_object(response) if expect_body else {}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HolderUnavailable(f"token endpoint unreachable: {type(exc).__name__}") from exc

    def _token_set(
        self, body: dict[str, Any], *, subject: str | None, old_refresh: str = ""
    ) -> TokenSet:
        access = body.get("access_token")
        lifetime = body.get("expires_in", 3600)
        # RFC 6749 §6: a holder that does not rotate keeps the old refresh token valid.
        refresh = body.get("refresh_token", old_refresh)
        sub = subject if subject is not None else body.get("sub")
        if (
            not isinstance(access, str)
            or not access
            or not isinstance(refresh, str)
            or isinstance(lifetime, bool)
            or not isinstance(lifetime, int | float)
            or not isinstance(sub, str)
            or not 0 < len(sub) <= _MAX_SUBJECT
        ):
            raise HolderUnavailable("token endpoint answered without a usable token set")
        return TokenSet(access, refresh, self._clock() + float(lifetime), sub)
