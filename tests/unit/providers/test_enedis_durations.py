"""Consent durations as the simulated Enedis consent page checks them."""

from __future__ import annotations

from datetime import date

import pytest

from providers.enedis.simulator.durations import (
    ConsentDuration,
    DurationError,
    months_before,
)

TODAY = date(2024, 6, 15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P1Y", ConsentDuration(years=1)),
        ("P1Y4M", ConsentDuration(years=1, months=4)),
        ("P36M", ConsentDuration(months=36)),
        ("P2W", ConsentDuration(days=14)),
        ("P30D", ConsentDuration(days=30)),
        ("P3Y", ConsentDuration(years=3)),
    ],
)
def test_parses_iso_8601_date_durations(text: str, expected: ConsentDuration) -> None:
    assert ConsentDuration.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "P", "1Y", "PY", "P1.5Y", "PT1H", "P1Y2", "p1y", "P0D", "P0Y"]
)
def test_rejects_what_is_not_a_positive_date_duration(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        ConsentDuration.parse(text)
    assert caught.value.reason == "invalid_duration_format"


def test_rejects_negative_durations() -> None:
    with pytest.raises(DurationError, match="negative"):
        ConsentDuration.parse("-P1Y")


@pytest.mark.parametrize(
    ("text", "too_long"),
    [
        ("P3Y", False),
        ("P36M", False),
        ("P2Y12M", False),
        ("P3Y1D", True),
        ("P37M", True),
        ("P1095D", False),
        ("P1096D", True),
        ("P9999Y", True),
        ("P999999D", True),
    ],
)
def test_three_years_is_the_maximum(text: str, too_long: bool) -> None:
    # From 2024-06-15, three calendar years end on 2027-06-15: 1095 days, no 29 February.
    assert ConsentDuration.parse(text).exceeds_maximum(TODAY) is too_long


def test_applies_months_on_the_calendar() -> None:
    assert ConsentDuration(months=1).after(date(2024, 1, 31)) == date(2024, 2, 29)
    assert ConsentDuration(years=1).after(date(2024, 2, 29)) == date(2025, 2, 28)
    assert ConsentDuration(years=1, days=1).after(date(2023, 12, 31)) == date(2025, 1, 1)


def test_history_horizons_count_months_then_days() -> None:
    assert months_before(TODAY, 36, extra_days=15) == date(2021, 5, 31)
    assert months_before(TODAY, 24, extra_days=15) == date(2022, 5, 31)
    assert months_before(date(2024, 5, 31), 3) == date(2024, 2, 29)
