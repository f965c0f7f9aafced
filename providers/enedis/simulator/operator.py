"""SIMULATOR-ONLY operator hooks, for tests and the demo. Real Enedis has nothing like them.

- ``POST /_simulator/consents/revoke`` ``{"usage_point_id", "client_id"}``: the customer
  withdraws their consent in their Enedis account; the next data call gets ADAM-DC-0008.
- ``GET /_simulator/stats``: how many calls each endpoint received.
- ``GET /_simulator/big?size_mb=N``: a load-curve-shaped JSON body of about N MiB, generated
  while it is sent (chunked, never built whole), for streaming tests and benchmarks. Also
  ``GET /_simulator/big/N``: a path without a query, which a holder manifest can name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

from aiohttp import web

from providers.enedis.simulator.errors import InvalidRequest
from providers.enedis.simulator.state import state_of

PREFIX = "/_simulator"
_MAX_BIG_MB = 1024
_BATCH_BYTES = 64 * 1024


async def revoke_consent(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest("the body must be JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    usage_point_id, client_id = body.get("usage_point_id"), body.get("client_id")
    if not isinstance(usage_point_id, str) or not isinstance(client_id, str):
        raise InvalidRequest("usage_point_id and client_id are required strings")
    revoked = state_of(request).withdraw_consent(client_id, usage_point_id)
    return web.json_response({"revoked": revoked})


async def stats(request: web.Request) -> web.Response:
    return web.json_response({"calls": dict(state_of(request).calls)})


async def big(request: web.Request) -> web.StreamResponse:
    raw = request.match_info.get("size_mb") or request.query.get("size_mb", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_BIG_MB:
        raise InvalidRequest(f"size_mb must be an integer from 1 to {_MAX_BIG_MB}")
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        for piece in _big_body(int(raw) * 1024 * 1024):
            await response.write(piece)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the reader hung up: nothing left to send
    return response


_BIG_HEAD = (
    b'{"meter_reading":{"usage_point_id":"00000000000000","start":"2020-01-01",'
    b'"end":"2020-01-01","quality":"BRUT","reading_type":{"measurement_kind":"power",'
    b'"unit":"W","aggregate":"average"},"interval_reading":['
)
_BIG_TAIL = b"]}}"


def _big_body(target: int) -> Iterator[bytes]:
    """About ``target`` bytes of valid JSON, in batches of ~64 KiB."""
    yield _BIG_HEAD
    written = len(_BIG_HEAD) + len(_BIG_TAIL)
    moment, index = datetime(2020, 1, 1), 0
    batch: list[str] = []
    batch_size = 0
    while written < target:
        moment += timedelta(minutes=30)
        item = ("," if index else "") + json.dumps(
            {
                "value": str(200 + (index * 7919) % 3000),
                "date": moment.strftime("%Y-%m-%d %H:%M:%S"),
                "interval_length": "PT30M",
                "measure_type": "B",
            },
            separators=(",", ":"),
        )
        batch.append(item)
        batch_size += len(item)
        written += len(item)
        index += 1
        if batch_size >= _BATCH_BYTES:
            yield "".join(batch).encode()
            batch, batch_size = [], 0
    yield "".join(batch).encode() + _BIG_TAIL
