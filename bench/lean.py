"""A lean HTTP/1.1 load client for small form posts, and the CPU a process spends.

Figure 2's targets are the *broker's*. On the two-core development machine the bench's own
client shares the cores with the broker: aiohttp's client costs about as much CPU per
request as the broker's whole answer, so a loop driven by it measures the two together.
This client writes requests as prepared bytes on keep-alive connections and reads each
answer by its ``Content-Length``: a few tens of microseconds per request, so the broker,
not the client, is what the figure shows. Every answer is still checked, by the
conversation that sent it (``Conversation.answered``).

``cpu_seconds`` reads a process's user and system time from ``/proc`` (Linux), so that a
figure can be given per second of the broker's CPU as well as per second of wall time.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from bench.load import Run

_HEADER_END = b"\r\n\r\n"


def post_form(url: str, form: bytes, headers: dict[str, str]) -> bytes:
    """The bytes of a keep-alive ``POST`` of an url-encoded ``form`` to ``url``."""
    parts = urlsplit(url)
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(form)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + form


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(_HEADER_END)
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
            break
    else:
        raise ValueError("the bench's lean client reads only answers with a Content-Length")
    return status, await reader.readexactly(length)


class Conversation(Protocol):
    """What one keep-alive connection sends, one request at a time."""

    def next_request(self) -> bytes: ...

    def answered(self, status: int, body: bytes) -> bool:
        """Whether this answer is the expected one (a refresh chain moves on here)."""
        ...


class Repeating:
    """The same request every time, each answer judged by ``check``."""

    def __init__(self, request: bytes, check: Callable[[int, bytes], bool]) -> None:
        self._request = request
        self._check = check

    def next_request(self) -> bytes:
        return self._request

    def answered(self, status: int, body: bytes) -> bool:
        return self._check(status, body)


async def closed_loop(
    url: str,
    conversation: Callable[[], Conversation],
    *,
    concurrency: int,
    requests: int,
    seconds: float,
) -> Run:
    """``bench.load.closed_loop`` with this client: ``concurrency`` connections, each with
    its own ``conversation()``, sending its next request when the previous answer has been
    read whole."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    run = Run()
    sent = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal sent
        talk = conversation()
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while sent < requests and time.perf_counter() < deadline:
                sent += 1
                started = time.perf_counter()
                writer.write(talk.next_request())
                status, body = await _answer(reader)
                if talk.answered(status, body):
                    run.latencies.append(time.perf_counter() - started)
                else:
                    run.failures += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.elapsed = time.perf_counter() - started
    return run


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
