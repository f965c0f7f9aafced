"""Consent durations as Enedis's consent page takes them: ISO 8601, dates only, ≤ 3 years.

A year is not 365 days, so a duration keeps its calendar parts and is applied with
calendar arithmetic (31 January + 1 month = end of February).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_PATTERN = re.compile(r"^(-)?P(?:(\d{1,4})Y)?(?:(\d{1,5})M)?(?:(\d{1,5})W)?(?:(\d{1,6})D)?$")
MAXIMUM_YEARS = 3


class DurationError(ValueError):
    """Carries the Enedis ``error_description`` keyword as its ``reason``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class ConsentDuration:
    years: int = 0
    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> ConsentDuration:
        """Parse and check a consent duration; raise DurationError with Enedis's reason."""
        match = _PATTERN.match(text)
        if match is None or text.lstrip("-") == "P":
            raise DurationError("invalid_duration_format", "expected an ISO 8601 duration like P1Y")
        negative, years, months, weeks, days = match.groups()
        duration = cls(
            years=int(years or 0),
            months=int(months or 0),
            days=int(days or 0) + 7 * int(weeks or 0),
        )
        if negative:
            raise DurationError("invalid_duration_format", "a duration cannot be negative")
        if duration.years == duration.months == duration.days == 0:
            raise DurationError("invalid_duration_format", "a duration cannot be zero")
        return duration

    def after(self, day: date) -> date:
        month_index = day.year * 12 + day.month - 1 + self.years * 12 + self.months
        year, month0 = divmod(month_index, 12)
        if year > date.max.year - 1:
            return date.max
        last_day = calendar.monthrange(year, month0 + 1)[1]
        try:
            return date(year, month0 + 1, min(day.day, last_day)) + timedelta(days=self.days)
        except OverflowError:
            return date.max  # absurd durations such as P999999D: far past any cap anyway

    def exceeds_maximum(self, since: date) -> bool:
        """True past Enedis's cap of three years, measured on the calendar from ``since``."""
        return self.after(since) > ConsentDuration(years=MAXIMUM_YEARS).after(since)


def months_before(day: date, months: int, extra_days: int = 0) -> date:
    """``day`` minus whole calendar months, then minus ``extra_days`` (history horizons)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month0 = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last_day)) - timedelta(days=extra_days)
