"""From Enedis daily readings to a monthly carbon footprint and advice. Pure: no I/O.

Daily consumption arrives as Enedis sends it: ``meter_reading.interval_reading[]`` with
``value`` in Wh *as a string* and ``date`` as ``YYYY-MM-DD``. Sums stay in Decimal so that
a total equals the sum of its months to the last digit shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from clients.carbon_coach.formatting import fr_number

__all__ = [
    "Advice",
    "DailyReading",
    "EmissionFactor",
    "Footprint",
    "MonthFootprint",
    "ReadingsError",
    "advise",
    "compute_footprint",
    "parse_daily_consumption",
]

WH_PER_KWH = Decimal(1000)

# Homes without electric heating still use somewhat more in winter (light, cooking,
# circulation pumps); past about 1.8 times the summer level, heating dominates the bill.
HEATING_RATIO = Decimal("1.8")
# The reverse: summer clearly above winter points at air conditioning.
COOLING_RATIO = Decimal("1.25")
# A fridge, a box and a few standbys draw around 100-150 W round the clock; a floor of
# 250 W or more means something always on that may not need to be.
BASE_LOAD_WATTS = Decimal(250)
# Below these counts a season or a floor says more about missing days than about the home.
MIN_SEASON_DAYS = 14
MIN_BASE_LOAD_DAYS = 28
WINTER = (12, 1, 2)
SUMMER = (6, 7, 8)


class ReadingsError(ValueError):
    """The holder's body does not have the daily-consumption shape."""


@dataclass(frozen=True)
class DailyReading:
    day: date
    wh: Decimal

    @property
    def kwh(self) -> Decimal:
        return self.wh / WH_PER_KWH


@dataclass(frozen=True)
class EmissionFactor:
    kg_co2e_per_kwh: Decimal
    source: str


@dataclass(frozen=True)
class MonthFootprint:
    month: date  # the first day of the month
    days: int  # days with a reading, to show gaps honestly
    kwh: Decimal
    kg_co2e: Decimal


@dataclass(frozen=True)
class Footprint:
    months: tuple[MonthFootprint, ...]
    total_kwh: Decimal
    total_kg_co2e: Decimal
    days: int
    factor: EmissionFactor


@dataclass(frozen=True)
class Advice:
    code: str  # stable, for tests and styling
    title: str
    text: str


def parse_daily_consumption(payload: Any) -> list[DailyReading]:
    """The readings in an Enedis ``daily_consumption`` body, sorted by day, one per day."""
    try:
        intervals = payload["meter_reading"].get("interval_reading", [])
    except (TypeError, KeyError, AttributeError):
        raise ReadingsError("no meter_reading in the body") from None
    if not isinstance(intervals, list):
        raise ReadingsError("interval_reading is not a list")
    by_day: dict[date, Decimal] = {}
    for item in intervals:
        day, wh = _reading(item)
        # A day sent twice is counted once: double-counting would inflate the footprint.
        by_day[day] = wh
    return [DailyReading(day, wh) for day, wh in sorted(by_day.items())]


def _reading(item: Any) -> tuple[date, Decimal]:
    if not isinstance(item, Mapping):
        raise ReadingsError("an interval reading is not an object")
    try:
        day = date.fromisoformat(str(item["date"])[:10])
        wh = Decimal(str(item["value"]))
    except (KeyError, ValueError, InvalidOperation):
        raise ReadingsError("an interval reading lacks a valid date or value") from None
    if not wh.is_finite() or wh < 0:
        raise ReadingsError("an interval reading has a negative or infinite value")
    return day, wh


def compute_footprint(readings: Iterable[DailyReading], factor: EmissionFactor) -> Footprint:
    totals: dict[date, tuple[int, Decimal]] = {}
    for reading in readings:
        month = reading.day.replace(day=1)
        days, wh = totals.get(month, (0, Decimal(0)))
        totals[month] = (days + 1, wh + reading.wh)
    months = tuple(
        MonthFootprint(
            month=month,
            days=days,
            kwh=wh / WH_PER_KWH,
            kg_co2e=wh / WH_PER_KWH * factor.kg_co2e_per_kwh,
        )
        for month, (days, wh) in sorted(totals.items())
    )
    return Footprint(
        months=months,
        total_kwh=sum((m.kwh for m in months), Decimal(0)),
        total_kg_co2e=sum((m.kg_co2e for m in months), Decimal(0)),
        days=sum(m.days for m in months),
        factor=factor,
    )


def advise(readings: Sequence[DailyReading]) -> list[Advice]:
    """Plain advice drawn from the readings themselves; always at least one item."""
    advice: list[Advice] = []
    winter = _mean_kwh(r for r in readings if r.day.month in WINTER)
    summer = _mean_kwh(r for r in readings if r.day.month in SUMMER)
    if winter is not None and summer is not None:
        if summer > 0 and winter / summer >= HEATING_RATIO:
            advice.append(_heating_advice(winter / summer))
        elif winter > 0 and summer / winter >= COOLING_RATIO:
            advice.append(_cooling_advice(summer / winter))
    base_watts = base_load_watts(readings)
    if base_watts is not None and base_watts >= BASE_LOAD_WATTS:
        advice.append(_standby_advice(base_watts))
    if not advice:
        advice.append(
            Advice(
                code="steady",
                title="Pas de poste qui domine",
                text=(
                    "Votre consommation ne montre ni pic d'hiver marqué ni talon élevé. "
                    "Les gestes utiles restent les appareils économes (étiquette énergie) "
                    "et l'extinction complète des appareils la nuit."
                ),
            )
        )
    return advice


def base_load_watts(readings: Sequence[DailyReading]) -> Decimal | None:
    """The home's floor: the 10th-percentile day spread over 24 h, in watts.

    A percentile rather than the minimum, so that a day away (or a meter glitch) does not
    pass for the home's normal floor.
    """
    if len(readings) < MIN_BASE_LOAD_DAYS:
        return None
    ordered = sorted(r.wh for r in readings)
    tenth = ordered[len(ordered) // 10]
    return tenth / Decimal(24)


def _mean_kwh(readings: Iterable[DailyReading]) -> Decimal | None:
    values = [r.kwh for r in readings]
    if len(values) < MIN_SEASON_DAYS:
        return None
    return sum(values, Decimal(0)) / len(values)


def _heating_advice(ratio: Decimal) -> Advice:
    return Advice(
        code="heating",
        title="Le chauffage pèse lourd",
        text=(
            f"En hiver vous consommez {fr_number(ratio, 1)} fois plus par jour qu'en été : "
            "le chauffage électrique domine. Baisser la consigne de 1 °C réduit la "
            "consommation de chauffage d'environ 7 % ; 19 °C dans les pièces à vivre et "
            "16-17 °C dans les chambres suffisent, et programmer un abaissement la nuit et "
            "en journée d'absence aide encore."
        ),
    )


def _cooling_advice(ratio: Decimal) -> Advice:
    return Advice(
        code="cooling",
        title="L'été coûte plus que l'hiver",
        text=(
            f"En été vous consommez {fr_number(ratio, 1)} fois plus par jour qu'en hiver, "
            "signe probable d'une climatisation. Fermer les volets aux heures chaudes, "
            "aérer la nuit et régler la climatisation à 26 °C limitent ce poste."
        ),
    )


def _standby_advice(watts: Decimal) -> Advice:
    kwh_per_year = watts * Decimal(24 * 365) / WH_PER_KWH
    return Advice(
        code="standby",
        title="Un talon de consommation élevé",
        text=(
            f"Même les jours les plus sobres, votre logement appelle environ "
            f"{fr_number(watts)} W en continu, soit {fr_number(kwh_per_year)} kWh par an. "
            "Cherchez ce qui reste allumé : veilles (multiprise à interrupteur), vieux "
            "congélateur, box et décodeur, chauffe-eau sans heures creuses, pompe de piscine."
        ),
    )
