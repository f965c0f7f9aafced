"""Splitting a range into holder calls and stitching Enedis pieces back into one document."""

from __future__ import annotations

import json
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.base import HolderUnavailable
from providers.enedis.stitch import stitched
from providers.ranges import split_range

dates = st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 1, 1))


@given(dates, st.integers(0, 900), st.integers(1, 400))
def test_pieces_cover_the_range_exactly_in_order(start: date, days: int, max_days: int) -> None:
    end = start + timedelta(days=days)
    pieces = split_range(start, end, max_days)
    assert [p for p in pieces if p[0] >= p[1]] == []
    assert all((b - a).days <= max_days for a, b in pieces)
    if pieces:
        assert pieces[0][0] == start and pieces[-1][1] == end
        assert all(prev[1] == nxt[0] for prev, nxt in pairwise(pieces))
    else:
        assert days == 0


def _piece(readings: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "meter_reading": {
            "usage_point_id": "12345678901234",
            "start": "x",
            "end": "y",
            "quality": "BRUT",
            "reading_type": {"unit": "W"},
            "interval_reading": readings,
        }
    }


readings = st.lists(
    st.fixed_dictionaries({"value": st.integers(0, 9999).map(str), "date": st.just("d")}),
    max_size=5,
)


@given(st.lists(readings, min_size=1, max_size=6))
async def test_stitched_pieces_form_one_valid_document(pieces: list[list[dict[str, str]]]) -> None:
    later = iter(pieces[1:])

    async def fetch(start: date, end: date) -> dict[str, Any]:
        return _piece(next(later))

    rest = [(date(2024, 1, 1), date(2024, 1, 2))] * (len(pieces) - 1)
    chunks = [
        c
        async for c in stitched(
            _piece(pieces[0]), rest, fetch, start=date(2024, 1, 1), end=date(2024, 3, 1)
        )
    ]
    document = json.loads(b"".join(chunks))
    reading = document["meter_reading"]
    assert reading["interval_reading"] == [r for piece in pieces for r in piece]
    assert (reading["start"], reading["end"]) == ("2024-01-01", "2024-03-01")
    assert reading["quality"] == "BRUT"


async def test_a_piece_that_is_not_a_metering_document_breaks_the_stream() -> None:
    async def fetch(start: date, end: date) -> dict[str, Any]:
        return {"unexpected": True}

    stream = stitched(
        _piece([]),
        [(date(2024, 1, 1), date(2024, 1, 2))],
        fetch,
        start=date(2024, 1, 1),
        end=date(2024, 1, 9),
    )
    with pytest.raises(HolderUnavailable):
        async for _ in stream:
            pass
