"""Which days to ask for: the last 365 days, inside the window the resident granted.

The resident may have granted less history than asked ("oui, mais moins"), or no future
data. Asking outside the granted window earns a 403 ``outside_data_window``, so the coach
clips its request to the window instead.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

__all__ = ["WINDOW_MARGIN", "history_start", "request_period"]

LOOKBACK = timedelta(days=365)
# The broker may measure the window from the instant of consent rather than its day; then
# the first day starts just before the window, and asking again one day later is enough.
WINDOW_MARGIN = timedelta(days=1)
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


def history_start(consented_on: date, history: str) -> date:
    """``consented_on`` minus an ISO 8601 calendar duration (31 March - P1M = 28/29 Feb)."""
    match = _DURATION.match(history)
    if match is None or history == "P":
        raise ValueError(f"not a calendar duration: {history!r}")
    years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
    index = consented_on.year * 12 + consented_on.month - 1 - (years * 12 + months)
    year, month0 = divmod(index, 12)
    day = min(consented_on.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day) - timedelta(days=7 * weeks + days)


def request_period(
    today: date,
    consented_on: date | None = None,
    history: str | None = None,
    include_future: bool = True,
) -> tuple[date, date] | None:
    """``(start, end)`` for ``[start; end[``, or None when the window holds no full day.

    ``end`` is today: the holder publishes up to yesterday and the range excludes ``end``.
    """
    end = today
    if consented_on is not None and not include_future:
        end = min(end, consented_on)
    start = end - LOOKBACK
    if consented_on is not None and history is not None:
        start = max(start, history_start(consented_on, history))
    return (start, end) if start < end else None
