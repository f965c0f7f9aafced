"""Splitting a date range ``[start; end[`` into holder calls of at most ``max_days`` each."""

from __future__ import annotations

from datetime import date, timedelta


def split_range(start: date, end: date, max_days: int) -> list[tuple[date, date]]:
    """Consecutive ``[a; b[`` pieces covering ``[start; end[`` exactly, in order."""
    if max_days < 1:
        raise ValueError("max_days must be at least 1")
    pieces = []
    cursor = start
    while cursor < end:
        stop = min(end, cursor + timedelta(days=max_days))
        pieces.append((cursor, stop))
        cursor = stop
    return pieces
