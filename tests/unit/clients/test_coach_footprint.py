from datetime import date, timedelta
from decimal import Decimal

import pytest

from clients.carbon_coach.footprint import (
    DailyReading,
    EmissionFactor,
    ReadingsError,
    advise,
    base_load_watts,
    compute_footprint,
    parse_daily_consumption,
)

FACTOR = EmissionFactor(Decimal("0.052"), "ADEME test")


def _body(readings: list[tuple[str, str]]) -> dict[str, object]:
    return {
        "meter_reading": {
            "usage_point_id": "12345678901234",
            "start": "2024-01-01",
            "end": "2025-01-01",
            "quality": "BRUT",
            "reading_type": {"measurement_kind": "energy", "unit": "Wh", "aggregate": "sum"},
            "interval_reading": [{"value": v, "date": d} for d, v in readings],
        }
    }


def _year(winter_wh: int, summer_wh: int, other_wh: int) -> list[DailyReading]:
    readings = []
    day = date(2024, 1, 1)
    while day < date(2025, 1, 1):
        if day.month in (12, 1, 2):
            wh = winter_wh
        else:
            wh = summer_wh if day.month in (6, 7, 8) else other_wh
        readings.append(DailyReading(day, Decimal(wh)))
        day += timedelta(days=1)
    return readings


def test_parse_reads_string_values_in_wh_and_sorts_by_day() -> None:
    readings = parse_daily_consumption(_body([("2025-01-02", "1500"), ("2025-01-01", "540")]))
    assert readings == [
        DailyReading(date(2025, 1, 1), Decimal(540)),
        DailyReading(date(2025, 1, 2), Decimal(1500)),
    ]


def test_parse_counts_a_repeated_day_once() -> None:
    readings = parse_daily_consumption(_body([("2025-01-01", "540"), ("2025-01-01", "540")]))
    assert len(readings) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"meter_reading": {"interval_reading": [{"value": "abc", "date": "2025-01-01"}]}},
        {"meter_reading": {"interval_reading": [{"value": "-5", "date": "2025-01-01"}]}},
        {"meter_reading": {"interval_reading": [{"value": "5", "date": "yesterday"}]}},
        {"meter_reading": {"interval_reading": "nope"}},
        [],
    ],
)
def test_parse_refuses_malformed_bodies(body: object) -> None:
    with pytest.raises(ReadingsError):
        parse_daily_consumption(body)


def test_monthly_aggregation_sums_kwh_and_applies_the_factor() -> None:
    readings = parse_daily_consumption(
        _body([("2025-01-30", "10000"), ("2025-01-31", "5000"), ("2025-02-01", "2500")])
    )
    footprint = compute_footprint(readings, FACTOR)
    january, february = footprint.months
    assert (january.month, january.days, january.kwh) == (date(2025, 1, 1), 2, Decimal(15))
    assert january.kg_co2e == Decimal("0.780")
    assert (february.month, february.kwh, february.kg_co2e) == (
        date(2025, 2, 1),
        Decimal("2.5"),
        Decimal("0.1300"),
    )
    assert footprint.total_kwh == Decimal("17.5")
    assert footprint.total_kg_co2e == Decimal("0.9100")
    assert footprint.days == 3
    assert footprint.factor.source == "ADEME test"


def test_a_year_of_readings_gives_twelve_months() -> None:
    footprint = compute_footprint(_year(10_000, 10_000, 10_000), FACTOR)
    assert len(footprint.months) == 12
    assert footprint.total_kwh == Decimal(3660)  # 2024 is a leap year
    assert footprint.total_kg_co2e == Decimal(3660) * Decimal("0.052")


def test_strong_winter_peak_gives_heating_advice() -> None:
    codes = [a.code for a in advise(_year(30_000, 6_000, 10_000))]
    assert "heating" in codes
    assert "cooling" not in codes


def test_summer_above_winter_gives_cooling_advice() -> None:
    codes = [a.code for a in advise(_year(5_000, 9_000, 5_000))]
    assert codes == ["cooling"]


def test_high_base_load_gives_standby_advice() -> None:
    # 8 kWh every day is a 333 W floor: something is always on.
    advice = advise(_year(8_000, 8_000, 8_000))
    assert [a.code for a in advice] == ["standby"]
    assert "333 W" in advice[0].text


def test_a_sober_steady_home_gets_the_general_advice() -> None:
    assert [a.code for a in advise(_year(4_500, 3_500, 4_000))] == ["steady"]


def test_few_days_give_no_seasonal_or_base_load_verdict() -> None:
    readings = [DailyReading(date(2025, 1, d), Decimal(50_000)) for d in range(1, 10)]
    assert base_load_watts(readings) is None
    assert [a.code for a in advise(readings)] == ["steady"]


def test_base_load_ignores_a_few_days_away() -> None:
    readings = _year(5_000, 5_000, 5_000)
    away = [DailyReading(r.day, Decimal(200)) if i < 10 else r for i, r in enumerate(readings)]
    assert base_load_watts(away) == Decimal(5_000) / 24
