from datetime import date
from decimal import Decimal

import pytest

from clients.carbon_coach.chart import bar_chart
from clients.carbon_coach.footprint import MonthFootprint
from clients.carbon_coach.formatting import fr_number
from clients.carbon_coach.period import history_start, request_period

TODAY = date(2025, 3, 15)


def test_default_period_is_the_last_365_days_ending_today_exclusive() -> None:
    assert request_period(TODAY) == (date(2024, 3, 15), TODAY)


def test_a_narrower_granted_history_clips_the_start() -> None:
    start, end = request_period(TODAY, consented_on=date(2025, 3, 1), history="P3M") or (None, None)
    assert start == date(2024, 12, 1)  # 1 March - 3 months
    assert end == TODAY


def test_a_wider_history_does_not_extend_past_365_days() -> None:
    assert request_period(TODAY, consented_on=TODAY, history="P3Y") == (date(2024, 3, 15), TODAY)


def test_no_future_data_ends_at_the_consent_day() -> None:
    period = request_period(TODAY, date(2025, 3, 1), "P12M", include_future=False)
    assert period == (date(2024, 3, 1), date(2025, 3, 1))


def test_a_one_day_window_asks_for_exactly_that_day() -> None:
    period = request_period(TODAY, consented_on=TODAY, history="P1D", include_future=False)
    assert period == (date(2025, 3, 14), TODAY)


@pytest.mark.parametrize(
    ("day", "history", "expected"),
    [
        (date(2025, 3, 31), "P1M", date(2025, 2, 28)),
        (date(2024, 3, 31), "P1M", date(2024, 2, 29)),
        (date(2025, 3, 15), "P1Y2W", date(2024, 3, 1)),
        (date(2025, 1, 10), "P12M", date(2024, 1, 10)),
    ],
)
def test_history_start_uses_calendar_arithmetic(day: date, history: str, expected: date) -> None:
    assert history_start(day, history) == expected


def test_history_start_refuses_non_durations() -> None:
    with pytest.raises(ValueError):
        history_start(TODAY, "P")


def test_fr_number_uses_comma_and_grouping() -> None:
    assert fr_number(Decimal("1234.56"), 1) == "1\u202f234,6"
    assert fr_number(3, 0) == "3"


def test_chart_scales_bars_to_the_highest_month() -> None:
    months = [
        MonthFootprint(date(2025, 1, 1), 31, Decimal(400), Decimal("20.8")),
        MonthFootprint(date(2025, 2, 1), 28, Decimal(200), Decimal("10.4")),
    ]
    chart = bar_chart(months, width=200, height=100, margin=10)
    first, second = chart.bars
    assert first.height == 80.0
    assert second.height == 40.0
    assert first.y + first.height == chart.baseline
    assert first.label == "janv."
    assert "janvier 2025" in first.title
