"""How fast this machine is, in the units the figures are made of.

The targets are set "on the two-core development machine", but the machine a session gets
is not always the same one: the same code and versions measured 71 µs and 105 µs of CPU
for aiohttp's bare form post on two of them. So every run also measures two yardsticks
and records them beside the figures, and figures from different machines are compared
through them, never directly:

* **aiohttp's floor**: the CPU time, per request, of an aiohttp server that reads a small
  form post and answers ``ok`` (no middleware, no log), driven by the lean client
  (``bench.lean``) on loopback. Every broker endpoint does at least this much.
* **a durable commit's floor**: the wall time of a 4 KiB ``write`` + ``fsync`` on the
  disk of the bench's databases (SQLite's WAL commit waits for one).

``python -m bench.yardstick --port N`` is the server; ``measure`` starts it and times it.

The host is shared and its speed moves within a run (the same quick figure read 523 and 222
token responses per second minutes apart, with the floor moving as much), so a run measures
the floor again at its end and reports the change (``drift``): figures taken while it moved
by more than ``NOISY`` are to be compared with care, whatever they say.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bench import lean, processes

_FORM = b"token=ag_at_0123456789abcdef&token_type_hint=access_token"


async def _answer(request: web.Request) -> web.Response:
    await request.post()
    return web.Response(text="ok")


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/", _answer)
    return app


def _ok(status: int, body: bytes) -> bool:
    return status == 200 and body == b"ok"


async def aiohttp_floor(requests: int = 20_000, seconds: float = 3.0) -> dict[str, Any]:
    """CPU per request of aiohttp's bare form post, in microseconds."""
    run_dir = Path(tempfile.mkdtemp(prefix="aiguillage-yardstick-"))
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}/"
    server = processes.start(
        "yardstick", ["bench.yardstick", "--port", str(port)], url=url, env={}, run_dir=run_dir
    )
    try:
        await processes.wait_ready(server, "/")
        request = lean.post_form(url, _FORM, {})

        def conversation() -> lean.Conversation:
            return lean.Repeating(request, _ok)

        await lean.closed_loop(url, conversation, concurrency=2, requests=500, seconds=1.0)
        before = lean.cpu_seconds(server.pid)
        run = await lean.closed_loop(
            url, conversation, concurrency=8, requests=requests, seconds=seconds
        )
        cpu = lean.cpu_seconds(server.pid) - before
    finally:
        server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    return {
        "requests": run.count,
        "failures": run.failures,
        "cpu_us_per_request": round(cpu / run.count * 1e6, 1) if run.count else None,
    }


def fsync_floor(directory: Path, samples: int = 200) -> dict[str, Any]:
    """Wall time of a 4 KiB write and its fsync in ``directory``, in microseconds."""
    times = []
    with tempfile.NamedTemporaryFile(dir=directory) as handle:
        for _ in range(samples):
            started = time.perf_counter()
            os.write(handle.fileno(), b"\0" * 4096)
            os.fsync(handle.fileno())
            times.append(time.perf_counter() - started)
    return {"samples": samples, "p50_us": round(statistics.median(times) * 1e6, 1)}


async def measure() -> dict[str, Any]:
    return {
        "aiohttp_form_post": await aiohttp_floor(),
        "fsync_4k": fsync_floor(Path(tempfile.gettempdir())),
    }


# A change of the floor during a run beyond which the report flags the machine as noisy.
NOISY = 0.20


def drift(start: dict[str, Any], end: dict[str, Any]) -> float | None:
    """The relative change of aiohttp's floor from ``start`` to ``end`` (+0.3: the same
    request cost 30 % more CPU at the end), None when either was not measured."""
    before = (start.get("aiohttp_form_post") or {}).get("cpu_us_per_request")
    after = (end.get("aiohttp_form_post") or {}).get("cpu_us_per_request")
    if not before or after is None:
        return None
    return round(float(after) / float(before) - 1, 3)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.yardstick")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(create_app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
