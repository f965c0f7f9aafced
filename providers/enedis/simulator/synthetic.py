"""Believable, deterministic Linky readings for any PRM.

Everything is derived from the PRM (and the day) through SHA-256 seeds, so the same
question always gets the same answer, on any machine and in any order, and a one-day query
agrees with the same day inside a year-long query.

The household: electrically heated (6–12 MWh a year, strongly seasonal) or not (3–4 MWh,
mildly seasonal); a cosine seasonal profile peaking mid-January; weekends slightly higher;
a few per cent of daily noise. The load curve spreads each day's energy over 48
half-hours with a morning and an evening peak, so the curve and the daily value agree.
Some households also have a small PV installation producing around midday, more in summer.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

SLOTS_PER_DAY = 48
_DAYS_PER_YEAR = 365.25
_COLDEST_DAY = 15  # mid-January
_SUNNIEST_DAY = 172  # June solstice
# Weekend days are 8 % above a weekday, and the week as a whole keeps the average.
_WEEKEND = 1.08
_WEEKDAY = (7 - 2 * _WEEKEND) / 5


@dataclass(frozen=True)
class Household:
    usage_point_id: str
    electric_heating: bool
    annual_kwh: float
    seasonal_amplitude: float
    pv_peak_kw: float  # 0.0: no panels
    subscribed_kva: int


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 - not cryptographic


def household(usage_point_id: str) -> Household:
    rng = _rng(usage_point_id, "household")
    electric = rng.random() < 0.45
    has_pv = rng.random() < 0.3
    return Household(
        usage_point_id=usage_point_id,
        electric_heating=electric,
        annual_kwh=rng.uniform(6500, 11500) if electric else rng.uniform(3100, 3900),
        seasonal_amplitude=rng.uniform(0.45, 0.6) if electric else rng.uniform(0.12, 0.22),
        pv_peak_kw=round(rng.uniform(2.0, 6.0), 1) if has_pv else 0.0,
        subscribed_kva=rng.choice((9, 12)) if electric else rng.choice((6, 9)),
    )


def _year_phase(day: date, peak_day: int) -> float:
    return math.cos(2 * math.pi * (day.timetuple().tm_yday - peak_day) / _DAYS_PER_YEAR)


def daily_consumption_wh(home: Household, day: date) -> int:
    mean = home.annual_kwh * 1000 / _DAYS_PER_YEAR
    season = 1 + home.seasonal_amplitude * _year_phase(day, _COLDEST_DAY)
    week = _WEEKEND if day.weekday() >= 5 else _WEEKDAY
    noise = min(1.15, max(0.85, _rng(home.usage_point_id, day, "dc").gauss(1.0, 0.05)))
    return round(mean * season * week * noise)


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2) / 2)


def _consumption_shape(home: Household, day: date) -> list[float]:
    rng = _rng(home.usage_point_id, day, "clc")
    weekend = day.weekday() >= 5
    morning = 8.5 if weekend else 7.25
    weights = []
    for slot in range(SLOTS_PER_DAY):
        hour = (slot + 0.5) / 2
        weight = (
            0.35
            + 1.0 * _bump(hour, morning, 1.0)
            + 0.45 * _bump(hour, 12.75, 1.0)
            + 1.6 * _bump(hour, 19.75, 1.5)
        )
        if home.electric_heating and (hour >= 23 or hour < 7):
            weight += 0.5  # water heater and storage heating in off-peak hours
        weights.append(weight * rng.uniform(0.85, 1.15))
    return weights


def _spread(total_wh: int, weights: list[float]) -> list[int]:
    """Average power in W per half-hour, so that sum(W) / 2 ≈ total_wh."""
    scale = sum(weights)
    if total_wh == 0 or scale == 0:
        return [0] * len(weights)
    return [round(2 * total_wh * w / scale) for w in weights]


def consumption_load_curve_w(home: Household, day: date) -> list[int]:
    """48 half-hourly average powers (W); the first covers 00:00–00:30."""
    return _spread(daily_consumption_wh(home, day), _consumption_shape(home, day))


def daily_max_power(home: Household, day: date) -> tuple[int, datetime]:
    """The day's maximum apparent power (VA) and when it happened."""
    curve = consumption_load_curve_w(home, day)
    slot = max(range(SLOTS_PER_DAY), key=curve.__getitem__)
    rng = _rng(home.usage_point_id, day, "dcmp")
    # A half-hour average hides short peaks (kettle, oven): the instantaneous max is higher.
    va = min(round(curve[slot] * rng.uniform(1.3, 1.8)), home.subscribed_kva * 1000)
    moment = datetime.combine(day, time()) + timedelta(minutes=30 * slot + rng.randrange(30))
    return va, moment


def daily_production_wh(home: Household, day: date) -> int:
    if home.pv_peak_kw == 0:
        return 0
    kwh_per_kw = 3.0 + 2.0 * _year_phase(day, _SUNNIEST_DAY)  # ~1 in December, ~5 in June
    weather = _rng(home.usage_point_id, day, "dp").uniform(0.35, 1.15)
    return round(home.pv_peak_kw * kwh_per_kw * weather * 1000)


def production_load_curve_w(home: Household, day: date) -> list[int]:
    """48 half-hourly average PV powers (W): zero at night, a bell around solar noon."""
    daylight = 12.0 + 4.0 * _year_phase(day, _SUNNIEST_DAY)
    sunrise = 13.0 - daylight / 2  # solar noon is near 13:00 on French legal time
    weights = []
    for slot in range(SLOTS_PER_DAY):
        hour = (slot + 0.5) / 2
        elapsed = (hour - sunrise) / daylight
        weights.append(math.sin(math.pi * elapsed) ** 1.5 if 0 < elapsed < 1 else 0.0)
    return _spread(daily_production_wh(home, day), weights)


def interval_end(day: date, slot: int) -> datetime:
    """Enedis dates a load-curve reading at the END of its interval."""
    return datetime.combine(day, time()) + timedelta(minutes=30 * (slot + 1))
