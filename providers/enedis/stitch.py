"""One Enedis metering answer made of several holder calls.

Enedis serves at most 7 days of load curve (365 of daily data) per call. A longer request
is cut into pieces (``providers.ranges``); each piece's answer is read whole, which is
small and bounded (7 days of half-hours is 336 readings), and its ``interval_reading``
items are written out at once, so the broker never holds more than one sub-response.

The stitched document is the answer Enedis would give for the whole range: the first
piece's ``meter_reading`` envelope with the asked ``start`` and ``end``, and every
reading of every piece, in order, in one ``interval_reading`` list.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

from providers.base import HolderUnavailable

Piece = Callable[[date, date], Awaitable[dict[str, Any]]]


def meter_reading(document: dict[str, Any]) -> dict[str, Any]:
    """The ``meter_reading`` object of an answer, checked enough to stitch it."""
    reading = document.get("meter_reading")
    if not isinstance(reading, dict) or not isinstance(reading.get("interval_reading"), list):
        raise HolderUnavailable("holder answered a metering document without interval_reading")
    return reading


def _prefix(envelope: dict[str, Any], start: date, end: date) -> bytes:
    head = {k: v for k, v in envelope.items() if k != "interval_reading"}
    head["start"], head["end"] = start.isoformat(), end.isoformat()
    inner = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[1:-1]
    return ('{"meter_reading":{' + inner + ',"interval_reading":[').encode()


def _items(readings: list[Any], first: bool) -> bytes:
    text = ",".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in readings)
    return (text if first or not text else "," + text).encode()


async def stitched(
    first: dict[str, Any],
    rest: list[tuple[date, date]],
    fetch_piece: Piece,
    *,
    start: date,
    end: date,
) -> AsyncIterator[bytes]:
    """Yield the combined document; ``first`` is the first piece's already-read answer."""
    envelope = meter_reading(first)
    yield _prefix(envelope, start, end)
    readings: list[Any] = envelope["interval_reading"]
    written = bool(readings)
    yield _items(readings, True)
    for piece_start, piece_end in rest:
        readings = meter_reading(await fetch_piece(piece_start, piece_end))["interval_reading"]
        chunk = _items(readings, not written)
        written = written or bool(readings)
        if chunk:
            yield chunk
    yield b"]}}"
