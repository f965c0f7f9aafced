"""The holder port: what the broker needs from any data holder, whatever its protocol.

Every holder protocol (Enedis Data Connect, a generic OAuth 2 API, ...) gets one adapter
that satisfies :class:`HolderAdapter`. The broker only ever sees this module's types, so a
holder's quirks (its parameter names, its error catalogue, its token dance) stay in its
adapter.

Exceptions raised by adapters::

    Exception
     ├── HolderError        the holder answered and refused (its own code is kept)
     └── HolderUnavailable  no usable answer: network failure, timeout, 5xx, garbage

This module is deliberately free of aiohttp: a stream is just an async iterator of bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date
from typing import Protocol


@dataclass(frozen=True)
class HolderLink:
    """What the broker must keep (encrypted) to call the holder for one consent.

    ``holder_subject`` names the resident at the holder (Enedis: the 14-digit PRM);
    ``credential`` is opaque to the broker and handed back verbatim to the adapter.
    """

    holder_subject: str
    credential: dict[str, str]


# Called by an adapter that had to renew a consent's credential (an OAuth 2 refresh at the
# holder) with the whole new credential, before it uses it: the broker seals and stores it
# at once, so a rotated refresh token is never lost to a transfer that fails later.
CredentialSink = Callable[[dict[str, str]], Awaitable[None]]


class HolderError(Exception):
    """The holder's own refusal, mapped: its HTTP status and its error code are kept.

    ``retry_after`` is set (in seconds) when the holder said when to come back (429).
    The message carries the status and code only: descriptions come from the holder and
    are not ours to put in logs.
    """

    def __init__(
        self,
        *,
        status: int,
        code: str,
        description: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"holder refused: {status} {code}")
        self.status = status
        self.code = code
        self.description = description
        self.retry_after = retry_after


class HolderUnavailable(Exception):
    """The holder could not be reached or gave no usable answer; retrying later may help."""


class HolderStream:
    """A successful holder answer whose body is read chunk by chunk, never whole.

    It can be iterated once. The adapter's ``fetch`` context manager owns the underlying
    connection, so iterate inside the ``async with`` block.
    """

    def __init__(
        self,
        *,
        status: int,
        content_type: str,
        chunks: AsyncIterator[bytes],
        content_length: int | None = None,
    ) -> None:
        self.status = status
        self.content_type = content_type
        self.content_length = content_length
        self._chunks = chunks
        self._consumed = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._consumed:
            raise RuntimeError("a HolderStream can be iterated only once")
        self._consumed = True
        return self._chunks


class HolderAdapter(Protocol):
    """One holder protocol. Implementations keep no per-consent state of their own."""

    protocol: str

    def authorization_url(self, *, state: str, redirect_uri: str, duration: str) -> str:
        """Where to send the resident so that the holder asks them for their consent."""
        ...

    async def complete_link(self, *, query: Mapping[str, str], redirect_uri: str) -> HolderLink:
        """Turn the holder's redirect back into a link; raise HolderError on refusal.

        The caller has already checked ``state`` against the value it sent.
        """
        ...

    def fetch(
        self,
        *,
        credential: Mapping[str, str],
        resource: str,
        start: date,
        end: date,
        renewed: CredentialSink | None = None,
    ) -> AbstractAsyncContextManager[HolderStream]:
        """Open a stream on one resource over ``[start; end[``.

        Entering the context raises HolderError or HolderUnavailable when the holder
        answers with an error, so nothing has been sent downstream yet at that point.
        A range longer than the holder allows per call is split into several holder calls
        and stitched into one answer where the protocol knows how. ``renewed`` receives
        the consent's new credential when the adapter had to renew it.
        """
        ...

    async def revoke(self, *, credential: Mapping[str, str]) -> bool:
        """Best effort revocation at the holder; False when the holder offers no such API."""
        ...
