"""Streaming a holder's answer through to the service, chunk by chunk.

The body is never buffered whole, written anywhere or logged: each chunk is counted and
passed on. A service that has read a complete answer can rely on its transfer being on
record: the answer is finished once the transfer's opening is durable (SQLite,
``broker.data.open_transfers``: the entry is then written without the answer waiting for
it) or, where transfers are not opened, once its ledger entry is committed.

If the holder's stream breaks halfway, the connection is dropped without the final empty
chunk: the service sees a broken transfer, never a short answer passed off as complete.
"""

from __future__ import annotations

import contextlib
from datetime import UTC
from typing import NoReturn

import structlog
from aiohttp import web

from broker.data.admission import Ticket
from broker.data.appender import LEDGER_APPENDER, PendingEntry
from broker.data.failures import Failure, checked_head, refused, unavailable
from broker.data.records import TokenCounter
from broker.holders import adapter_for, credential_sink
from broker.keys import CLOCK
from consent.usecases import transfer_event
from providers.base import HolderError, HolderStream, HolderUnavailable

log = structlog.get_logger(__name__)

GRANT_HEADER = "Aiguillage-Grant-Id"
COUNTED_PROTOCOLS = ("enedis-dataconnect",)
CLIENT_CLOSED = 499


class Progress:
    def __init__(self, count_records: bool) -> None:
        self.bytes = 0
        self._counter = TokenCounter() if count_records else None

    def add(self, chunk: bytes) -> None:
        self.bytes += len(chunk)
        if self._counter is not None:
            self._counter.feed(chunk)

    @property
    def records(self) -> int | None:
        return None if self._counter is None else self._counter.count


def _counts_records(ticket: Ticket) -> bool:
    return ticket.holder.manifest.protocol in COUNTED_PROTOCOLS and ticket.spec.dated


async def relay(request: web.Request, ticket: Ticket) -> web.StreamResponse:
    adapter = adapter_for(request.app, ticket.holder)
    today = request.app[CLOCK]().astimezone(UTC).date()
    progress = Progress(_counts_records(ticket))
    response: web.StreamResponse | None = None
    try:
        async with adapter.fetch(
            credential=ticket.credential,
            resource=ticket.spec.name,
            start=ticket.start or today,
            end=ticket.end or today,
            renewed=credential_sink(request.app, ticket.consent.id),
        ) as stream:
            chunks = await checked_head(stream, ticket.holder.manifest.protocol)
            response = await _prepare(request, stream, ticket.consent.id)
            async for chunk in chunks:
                progress.add(chunk)
                await response.write(chunk)
    except (HolderError, HolderUnavailable) as error:
        if response is None:
            await _fail_before_streaming(request, ticket, error)
        return await _abort(request, ticket, progress, response, "stream_broken")
    except Exception as error:
        if isinstance(error, ConnectionResetError) and (
            response is not None or _service_gone(request)
        ):
            # The service hung up, while its answer streamed or before it started (the
            # holder had been asked by then): what it got, maybe nothing, is recorded and
            # nothing more can be sent.
            return await _abort(request, ticket, progress, response, "client_disconnected")
        if response is None:
            # Nothing was sent: the error is answered as any other (a 500 problem), and
            # the transfer, whose holder may have been asked, is closed on record.
            with contextlib.suppress(Exception):  # the first error is the one to answer
                await _record(request, ticket, "broker_error", progress)
            raise
        log.exception("transfer.relay_failed", grant_id=ticket.consent.id)
        return await _abort(request, ticket, progress, response, "stream_broken")
    if ticket.synced is not None and await ticket.synced:
        # The opening is durable: the entry is written after the answer is finished.
        request.app[LEDGER_APPENDER].submit(_entry(request, ticket, "ok", progress))
    else:
        await _record(request, ticket, "ok", progress)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


async def _prepare(request: web.Request, stream: HolderStream, grant_id: str) -> web.StreamResponse:
    # Headers set by the middlewares after the handler returns come too late for a
    # streamed answer, so the ones that matter are set here, before the first byte.
    request_id = structlog.contextvars.get_contextvars().get("request_id", "")
    response = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": stream.content_type,
            GRANT_HEADER: grant_id,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Request-Id": str(request_id),
        },
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    return response


async def _fail_before_streaming(
    request: web.Request, ticket: Ticket, error: HolderError | HolderUnavailable
) -> NoReturn:
    grant_id = ticket.consent.id
    failure: Failure = (
        refused(error, grant_id) if isinstance(error, HolderError) else unavailable(error, grant_id)
    )
    log.info("transfer.failed", grant_id=grant_id, outcome=failure.outcome)
    await _record(request, ticket, failure.outcome, Progress(False), bytes_sent=0)
    raise failure.problem from None


def _service_gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


async def _abort(
    request: web.Request,
    ticket: Ticket,
    progress: Progress,
    response: web.StreamResponse | None,
    outcome: str,
) -> web.StreamResponse:
    log.info("transfer.broken", grant_id=ticket.consent.id, outcome=outcome, bytes=progress.bytes)
    await _record(request, ticket, outcome, progress)
    if request.transport is not None:
        request.transport.close()
    # No answer had started: nginx's "client closed request", which nobody receives (the
    # connection is gone) but which the access line and the metrics show.
    return response if response is not None else web.Response(status=CLIENT_CLOSED)


async def _record(
    request: web.Request,
    ticket: Ticket,
    outcome: str,
    progress: Progress,
    bytes_sent: int | None = None,
) -> None:
    """Put the transfer on record (closing its opening); return once it is committed
    (group commit, see ``broker.data.appender``)."""
    entry = _entry(request, ticket, outcome, progress, bytes_sent)
    await request.app[LEDGER_APPENDER].append(entry)


def _entry(
    request: web.Request,
    ticket: Ticket,
    outcome: str,
    progress: Progress,
    bytes_sent: int | None = None,
) -> PendingEntry:
    sent = progress.bytes if bytes_sent is None else bytes_sent
    event = transfer_event(
        ticket.consent,
        resource=ticket.spec.name,
        start=ticket.start,
        end=ticket.end,
        outcome=outcome,
        bytes_sent=sent,
        records=progress.records,
    )
    return PendingEntry(
        event=event,
        at=request.app[CLOCK](),
        holder=ticket.holder.manifest.id,
        service=ticket.consent.service,
        bytes_sent=sent,
        opened=ticket.opening,
        covered=_opening_durable(ticket),
    )


def _opening_durable(ticket: Ticket) -> bool:
    synced = ticket.synced
    return synced is not None and synced.done() and synced.result()
