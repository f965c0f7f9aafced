"""SIMULATOR-ONLY faults, for the broker's failure tests. Real Enedis has nothing like it.

``POST /_simulator/faults`` ``{"mode": M, "seconds": S}`` makes every later data answer
(metering and customer APIs; never the token endpoint or the consent page) misbehave until
``{"mode": null}`` switches it off:

- ``garbage``: 200 ``application/json`` whose body is not JSON;
- ``html``: 200 ``text/html``, a proxy's error page;
- ``wrong_shape``: 200 JSON that is no Enedis document (no ``meter_reading``);
- ``cut``: the real answer starts (200, chunked), then the TCP connection is dropped
  halfway through, without the final chunk;
- ``slow``: the real answer, after ``S`` seconds of silence;
- ``drip``: the real answer's first half at once (chunked), the rest ``S`` seconds later,
  so that a test can see whether whatever stands between the holder and the service
  passes bytes on as they come or holds them back.

Faults are off unless a test asks: nothing in the demo turns them on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from aiohttp.typedefs import Handler

from providers.enedis.simulator.errors import InvalidRequest
from providers.enedis.simulator.state import STATE

FaultMode = Literal["garbage", "html", "wrong_shape", "cut", "slow", "drip"]
MODES: tuple[FaultMode, ...] = ("garbage", "html", "wrong_shape", "cut", "slow", "drip")
DATA_PATHS = ("/metering_data_", "/customers_")
GARBAGE = b"\x00\x17<<<<<<< HEAD\nthis is not JSON at all"
WRONG_SHAPE = b'{"status":"ok","items":[{"v":1},{"v":2}]}'


@dataclass(frozen=True)
class Fault:
    mode: FaultMode
    seconds: float = 0.0


FAULT = web.AppKey("enedis_simulator_fault", list[Fault])  # [] or [the active fault]


async def set_fault(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest("the body must be JSON") from None
    mode = body.get("mode") if isinstance(body, dict) else None
    seconds = body.get("seconds", 0) if isinstance(body, dict) else 0
    active = request.app[FAULT]
    active.clear()
    if mode is None:
        return web.json_response({"mode": None})
    if mode not in MODES or not isinstance(seconds, int | float) or not 0 <= seconds <= 600:
        raise InvalidRequest(f"mode must be one of {', '.join(MODES)} or null")
    active.append(Fault(mode, float(seconds)))
    return web.json_response({"mode": mode})


@web.middleware
async def misbehave(request: web.Request, handler: Handler) -> web.StreamResponse:
    active = request.app[FAULT]
    if not active or not request.path.startswith(DATA_PATHS):
        return await handler(request)
    fault = active[0]
    request.app[STATE].calls["faulty"] += 1
    if fault.mode == "slow":
        await asyncio.sleep(fault.seconds)
        return await handler(request)
    if fault.mode == "garbage":
        return web.Response(body=GARBAGE, content_type="application/json")
    if fault.mode == "html":
        return web.Response(
            text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
        )
    if fault.mode == "wrong_shape":
        return web.Response(body=WRONG_SHAPE, content_type="application/json")
    return await _in_halves(request, await handler(request), fault)


async def _in_halves(
    request: web.Request, answer: web.StreamResponse, fault: Fault
) -> web.StreamResponse:
    """The real answer as a chunked stream, its first half at once; then (``cut``) the
    connection dropped, or (``drip``) the rest after ``fault.seconds``."""
    body = answer.body if isinstance(answer, web.Response) else None
    if answer.status != 200 or not isinstance(body, bytes):
        return answer  # a refusal stays a refusal
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    half = len(body) // 2
    await response.write(body[:half])
    if fault.mode == "cut":
        await asyncio.sleep(0.05)  # let the first half leave before the line goes dead
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError  # nothing more is sent, not even the last chunk
    await asyncio.sleep(fault.seconds)
    await response.write(body[half:])
    await response.write_eof()
    return response
