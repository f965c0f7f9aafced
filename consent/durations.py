"""ISO 8601 durations of the calendar kind (``P1Y``, ``P12M``, ``P2W``, ``P30D``, ``P1Y6M``).

Consents speak in calendar durations ("for one year", "the last 12 months"), which
``timedelta`` cannot hold: a year is not 365 days. We keep the parts and apply them with
calendar arithmetic, clamping the day of month (31 January + 1 month = 28/29 February).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from consent.errors import InvalidDuration

# ASCII digits only, and fullmatch below: ``$`` alone would let "P1Y\n" through.
_PATTERN = re.compile(r"^P(?:(\d{1,3})Y)?(?:(\d{1,4})M)?(?:(\d{1,4})W)?(?:(\d{1,5})D)?$", re.ASCII)


@dataclass(frozen=True, order=True)
class CalendarDuration:
    years: int = 0
    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> CalendarDuration:
        match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
        if match is None or text == "P":
            raise InvalidDuration(f"{text!r} is not an ISO 8601 duration such as P1Y or P12M")
        years, months, weeks, days = (int(g) if g else 0 for g in match.groups())
        duration = cls(years=years, months=months, days=days + 7 * weeks)
        if duration.total_months == 0 and duration.days == 0:
            raise InvalidDuration("a duration must not be zero")
        return duration

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months

    def approx_days(self) -> float:
        """Length in days, for comparing durations of different shapes (P36M vs P3Y)."""
        return self.total_months * 30.436875 + self.days

    def __str__(self) -> str:
        text = "P"
        if self.years:
            text += f"{self.years}Y"
        if self.months:
            text += f"{self.months}M"
        if self.days:
            text += f"{self.days}D"
        return text

    def after(self, moment: datetime) -> datetime:
        return _shift(moment, self.total_months, self.days, sign=1)

    def before(self, moment: datetime) -> datetime:
        return _shift(moment, self.total_months, self.days, sign=-1)

    def before_date(self, day: date) -> date:
        shifted = _shift(datetime(day.year, day.month, day.day), self.total_months, self.days, -1)
        return shifted.date()


def _shift(moment: datetime, months: int, days: int, sign: int) -> datetime:
    month_index = moment.year * 12 + (moment.month - 1) + sign * months
    year, month = divmod(month_index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day) + timedelta(days=sign * days)
