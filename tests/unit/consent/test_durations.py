"""ISO 8601 calendar durations: strict parsing, calendar (not 24-hour) arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent.durations import CalendarDuration
from consent.errors import InvalidDuration


@pytest.mark.parametrize(
    ("text", "years", "months", "days"),
    [
        ("P1Y", 1, 0, 0),
        ("P12M", 0, 12, 0),
        ("P2W", 0, 0, 14),
        ("P30D", 0, 0, 30),
        ("P1Y6M", 1, 6, 0),
        ("P1W2D", 0, 0, 9),
        ("P3Y", 3, 0, 0),
        ("P0Y1D", 0, 0, 1),
        ("P999Y", 999, 0, 0),
    ],
)
def test_calendar_durations_parse_into_years_months_and_days(
    text: str, years: int, months: int, days: int
) -> None:
    assert CalendarDuration.parse(text) == CalendarDuration(years, months, days)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "P",
        "1Y",
        "P-1Y",
        "P+1Y",
        "PT1H",
        "P1DT1H",
        "P1.5Y",
        "p1y",
        "P1y",
        " P1Y",
        "P1Y ",
        "P1Y\n",
        "P1D1Y",
        "P1M1Y",
        "P0D",
        "P0Y0M",
        "P1000Y",
        "P99999M",
        "P999999D",
        "P99999W",
        "P" + "9" * 400 + "Y",
        "P\u0661Y",  # an Arabic-Indic digit one
        "P１Y",  # a fullwidth digit one
    ],
)
def test_anything_but_a_plain_calendar_duration_is_invalid(text: str) -> None:
    with pytest.raises(InvalidDuration):
        CalendarDuration.parse(text)


@pytest.mark.parametrize("value", [None, 1, 1.0, b"P1Y", ["P1Y"], {"P": "1Y"}])
def test_a_non_string_is_an_invalid_duration(value: Any) -> None:
    with pytest.raises(InvalidDuration):
        CalendarDuration.parse(value)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("P1Y", "P1Y"), ("P2W", "P14D"), ("P1Y6M", "P1Y6M"), ("P0Y3M", "P3M"), ("P30D", "P30D")],
)
def test_a_duration_prints_in_canonical_form(text: str, canonical: str) -> None:
    assert str(CalendarDuration.parse(text)) == canonical


def test_approximate_lengths_compare_years_and_months_alike() -> None:
    assert (
        CalendarDuration.parse("P36M").approx_days() == CalendarDuration.parse("P3Y").approx_days()
    )
    assert (
        CalendarDuration.parse("P3Y1D").approx_days() > CalendarDuration.parse("P36M").approx_days()
    )


@pytest.mark.parametrize(
    ("start", "text", "end"),
    [
        (datetime(2025, 1, 31), "P1M", datetime(2025, 2, 28)),
        (datetime(2024, 1, 31), "P1M", datetime(2024, 2, 29)),
        (datetime(2025, 3, 31), "P1M", datetime(2025, 4, 30)),
        (datetime(2024, 12, 31), "P1M", datetime(2025, 1, 31)),
        (datetime(2024, 2, 29), "P1Y", datetime(2025, 2, 28)),
        (datetime(2024, 2, 29), "P4Y", datetime(2028, 2, 29)),
        (datetime(2023, 3, 1), "P1Y", datetime(2024, 3, 1)),
        (datetime(2024, 3, 1), "P1Y", datetime(2025, 3, 1)),
        (datetime(2025, 1, 31), "P1M2D", datetime(2025, 3, 2)),
        (datetime(2025, 12, 25), "P2W", datetime(2026, 1, 8)),
        (datetime(2024, 8, 31), "P1Y6M", datetime(2026, 2, 28)),
    ],
)
def test_after_adds_months_on_the_calendar_clamping_the_day(
    start: datetime, text: str, end: datetime
) -> None:
    assert CalendarDuration.parse(text).after(start) == end


@pytest.mark.parametrize(
    ("start", "text", "end"),
    [
        (datetime(2024, 3, 31), "P1M", datetime(2024, 2, 29)),
        (datetime(2025, 3, 31), "P1M", datetime(2025, 2, 28)),
        (datetime(2025, 1, 15), "P1M", datetime(2024, 12, 15)),
        (datetime(2025, 2, 28), "P1Y", datetime(2024, 2, 28)),
        (datetime(2028, 2, 29), "P1Y", datetime(2027, 2, 28)),
        (datetime(2025, 3, 10), "P12M", datetime(2024, 3, 10)),
        (datetime(2025, 3, 1), "P1D", datetime(2025, 2, 28)),
    ],
)
def test_before_subtracts_months_on_the_calendar_clamping_the_day(
    start: datetime, text: str, end: datetime
) -> None:
    assert CalendarDuration.parse(text).before(start) == end


def test_before_date_works_on_plain_dates() -> None:
    assert CalendarDuration.parse("P1M").before_date(date(2024, 3, 31)) == date(2024, 2, 29)


def test_arithmetic_keeps_the_time_of_day_and_the_timezone() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2025, 1, 31, 23, 45, 12, 345, tzinfo=paris)
    later = CalendarDuration.parse("P1M").after(moment)
    assert later == datetime(2025, 2, 28, 23, 45, 12, 345, tzinfo=paris)
    assert later.tzinfo is paris


@given(st.text())
def test_any_text_parses_or_is_an_invalid_duration_never_anything_else(text: str) -> None:
    try:
        duration = CalendarDuration.parse(text)
    except InvalidDuration:
        return
    assert text.isascii() and text == text.strip()
    assert duration.total_months > 0 or duration.days > 0
    reparsed = CalendarDuration.parse(str(duration))
    assert (reparsed.total_months, reparsed.days) == (duration.total_months, duration.days)


durations = st.builds(
    CalendarDuration,
    years=st.integers(0, 5),
    months=st.integers(0, 40),
    days=st.integers(0, 400),
).filter(lambda d: d.total_months or d.days)
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
)


@given(durations, moments)
def test_after_is_later_and_before_is_earlier(duration: CalendarDuration, moment: datetime) -> None:
    assert duration.before(moment) < moment < duration.after(moment)


@given(durations, moments)
def test_printing_then_parsing_keeps_the_meaning(
    duration: CalendarDuration, moment: datetime
) -> None:
    assert CalendarDuration.parse(str(duration)).after(moment) == duration.after(moment)
