"""``aiguillage ledger verify`` cuts the seqs into ranges: every seq (out-of-place ones
included) falls in exactly one, in order, and no range is larger than asked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from broker.ledger_check import plan_ranges


def _holder(ranges: list[tuple[int | None, int | None]], seq: int) -> list[int]:
    return [
        i
        for i, (lo, hi) in enumerate(ranges)
        if (lo is None or seq > lo) and (hi is None or seq <= hi)
    ]


@given(
    max_seq=st.integers(min_value=0, max_value=20_000),
    size=st.integers(min_value=1, max_value=30_000),
    probe=st.integers(min_value=-10, max_value=20_010),
)
def test_ranges_cover_every_seq_once_in_order(max_seq: int, size: int, probe: int) -> None:
    ranges = plan_ranges(max_seq, size)
    assert ranges[0][0] is None and ranges[-1][1] is None
    assert len(_holder(ranges, probe)) == 1
    inner = [b for lo, hi in ranges for b in (lo, hi) if b is not None]
    assert inner == sorted(inner)
    widths = [hi - lo for lo, hi in ranges[1:-1] if lo is not None and hi is not None]
    assert all(0 < w <= size for w in widths)
    if max_seq <= size:
        assert ranges == [(None, None)]


def test_forty_entries_in_sevens() -> None:
    assert plan_ranges(40, 7) == [
        (None, 7),
        (7, 14),
        (14, 21),
        (21, 28),
        (28, 35),
        (35, None),
    ]
