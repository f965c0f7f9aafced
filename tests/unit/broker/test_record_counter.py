"""The streaming record counter: readings counted wherever the chunks are cut."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker.data.records import TokenCounter


def _body(readings: int) -> bytes:
    return json.dumps(
        {
            "meter_reading": {
                "usage_point_id": "12345678901234",
                "interval_reading": [
                    {"value": str(500 + i), "date": f"2024-01-{1 + i % 28:02d}"}
                    for i in range(readings)
                ],
            }
        }
    ).encode()


def _count(chunks: list[bytes]) -> int:
    counter = TokenCounter()
    for chunk in chunks:
        counter.feed(chunk)
    return counter.count


def test_a_whole_body_counts_its_readings() -> None:
    assert _count([_body(7)]) == 7


def test_every_cut_of_the_token_across_two_chunks_is_counted_once() -> None:
    body = b'[{"value":"1"}]'
    for cut in range(len(body) + 1):
        assert _count([body[:cut], body[cut:]]) == 1, cut


def test_one_byte_chunks_count_the_same_as_the_whole() -> None:
    body = _body(48)
    assert _count([body[i : i + 1] for i in range(len(body))]) == 48


def test_empty_chunks_change_nothing() -> None:
    assert _count([b"", b'{"value"', b"", b':"1"}', b""]) == 1


def test_an_escaped_value_inside_a_string_is_not_a_reading() -> None:
    assert _count([json.dumps({"note": 'a "value" here'}).encode()]) == 0


def test_an_empty_token_is_refused() -> None:
    with pytest.raises(ValueError):
        TokenCounter(b"")


@given(
    readings=st.integers(min_value=0, max_value=60),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=40),
)
def test_any_chunking_counts_every_reading_once(readings: int, cuts: list[int]) -> None:
    body = _body(readings)
    points = sorted({c % (len(body) + 1) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    assert b"".join(chunks) == body
    assert _count(chunks) == readings
