"""The simulator's synthetic Linky data: deterministic, and shaped like a real household."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from providers.enedis.simulator import synthetic

PRMS = [f"{n:014d}" for n in range(1, 41)] + ["12345678901234", "16401220101758"]
YEAR = [date(2023, 1, 1) + timedelta(days=d) for d in range(365)]


def _annual_kwh(prm: str) -> float:
    home = synthetic.household(prm)
    return sum(synthetic.daily_consumption_wh(home, day) for day in YEAR) / 1000


def test_same_inputs_give_the_same_outputs() -> None:
    for prm in PRMS[:5]:
        assert synthetic.household(prm) == synthetic.household(prm)
        home = synthetic.household(prm)
        day = date(2024, 2, 29)
        assert synthetic.consumption_load_curve_w(home, day) == synthetic.consumption_load_curve_w(
            synthetic.household(prm), day
        )
        assert synthetic.daily_max_power(home, day) == synthetic.daily_max_power(home, day)


def test_different_usage_points_get_different_data() -> None:
    day = date(2023, 3, 3)
    values = {synthetic.daily_consumption_wh(synthetic.household(p), day) for p in PRMS}
    assert len(values) > len(PRMS) * 0.9


def test_both_kinds_of_household_exist_among_usage_points() -> None:
    kinds = {synthetic.household(p).electric_heating for p in PRMS}
    pv = {synthetic.household(p).pv_peak_kw > 0 for p in PRMS}
    assert kinds == {True, False}
    assert pv == {True, False}


@pytest.mark.parametrize("prm", PRMS)
def test_yearly_consumption_is_that_of_a_household(prm: str) -> None:
    annual = _annual_kwh(prm)
    if synthetic.household(prm).electric_heating:
        assert 6000 * 0.95 <= annual <= 12000 * 1.05
    else:
        assert 3000 * 0.95 <= annual <= 4000 * 1.05


@pytest.mark.parametrize("prm", PRMS[:10])
def test_winter_consumes_more_than_summer(prm: str) -> None:
    home = synthetic.household(prm)
    january = sum(synthetic.daily_consumption_wh(home, d) for d in YEAR[:31])
    july = sum(synthetic.daily_consumption_wh(home, d) for d in YEAR[181:212])
    assert january > july * (1.5 if home.electric_heating else 1.1)


def test_weekends_consume_a_little_more_than_weekdays() -> None:
    home = synthetic.household("12345678901234")
    weekend = [synthetic.daily_consumption_wh(home, d) for d in YEAR if d.weekday() >= 5]
    weekday = [synthetic.daily_consumption_wh(home, d) for d in YEAR if d.weekday() < 5]
    ratio = (sum(weekend) / len(weekend)) / (sum(weekday) / len(weekday))
    assert 1.03 < ratio < 1.2


@pytest.mark.parametrize("prm", PRMS[:10])
def test_load_curve_adds_up_to_the_daily_value(prm: str) -> None:
    home = synthetic.household(prm)
    for day in YEAR[::17]:
        curve = synthetic.consumption_load_curve_w(home, day)
        assert len(curve) == synthetic.SLOTS_PER_DAY
        # Each value is an average power over half an hour: W × 0.5 h = Wh.
        assert sum(curve) / 2 == pytest.approx(synthetic.daily_consumption_wh(home, day), abs=12)


def test_load_curve_peaks_in_the_morning_and_evening_not_at_night() -> None:
    home = synthetic.household("12345678901234")
    day = date(2023, 11, 14)
    curve = synthetic.consumption_load_curve_w(home, day)
    night = sum(curve[4:8]) / 4  # 02:00–04:00
    assert sum(curve[13:17]) / 4 > night * 1.5  # 06:30–08:30
    assert sum(curve[37:42]) / 5 > night * 2  # 18:30–21:00


def test_max_power_is_above_the_half_hour_average_and_within_the_subscription() -> None:
    home = synthetic.household("16401220101758")
    for day in YEAR[::11]:
        va, moment = synthetic.daily_max_power(home, day)
        assert max(synthetic.consumption_load_curve_w(home, day)) <= va
        assert va <= home.subscribed_kva * 1000
        assert moment.date() == day


def test_production_is_zero_without_panels() -> None:
    home = next(h for h in map(synthetic.household, PRMS) if h.pv_peak_kw == 0)
    assert all(synthetic.daily_production_wh(home, d) == 0 for d in YEAR)
    assert set(synthetic.production_load_curve_w(home, YEAR[170])) == {0}


def test_solar_production_is_higher_in_summer_and_only_by_day() -> None:
    home = next(h for h in map(synthetic.household, PRMS) if h.pv_peak_kw > 0)
    june = sum(synthetic.daily_production_wh(home, d) for d in YEAR[151:181])
    december = sum(synthetic.daily_production_wh(home, d) for d in YEAR[334:365])
    assert june > 2.5 * december
    annual_per_kw = sum(synthetic.daily_production_wh(home, d) for d in YEAR) / home.pv_peak_kw
    assert 600_000 < annual_per_kw < 1_400_000  # Wh per kWc in France
    curve = synthetic.production_load_curve_w(home, date(2023, 6, 21))
    assert curve[:8] == [0] * 8 and curve[-6:] == [0] * 6  # nothing before 04:00, after 21:00
    assert max(range(48), key=curve.__getitem__) in range(22, 30)  # peak 11:00–15:00
    assert sum(curve) / 2 == pytest.approx(
        synthetic.daily_production_wh(home, date(2023, 6, 21)), abs=12
    )


def test_load_curve_readings_are_dated_at_the_end_of_their_interval() -> None:
    assert str(synthetic.interval_end(date(2024, 1, 1), 0)) == "2024-01-01 00:30:00"
    assert str(synthetic.interval_end(date(2024, 1, 1), 47)) == "2024-01-02 00:00:00"
