"""Deterministic synthetic data for the generic holders: the same account and day always
give the same answer, so tests can compare what crossed the broker with the source.

* ``water`` (Téléo-like radio water meter): daily litres,
  ``GET /api/v1/meters/consumption/daily?from=YYYY-MM-DD&to=YYYY-MM-DD`` (``[from; to[``).
* ``mobility`` (TraceMob-like): trips with mode, distance and duration,
  ``GET /api/v1/trips?since=YYYY-MM-DD&until=YYYY-MM-DD``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

Producer = Callable[[str, date, date], dict[str, Any]]


def _noise(*parts: object) -> int:
    text = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "big")


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def daily_litres(subject: str, day: date) -> int:
    # ~150 L a day per person, more at weekends, a summer bump for the garden.
    base = 280 + (_noise(subject, day) % 120)
    weekend = 60 if day.weekday() >= 5 else 0
    summer = 90 if day.month in (6, 7, 8) else 0
    return base + weekend + summer


def water(subject: str, start: date, end: date) -> dict[str, Any]:
    return {
        "meter": {"id": "TEL-" + subject[-6:], "kind": "teleo"},
        "unit": "L",
        "from": start.isoformat(),
        "to": end.isoformat(),
        "readings": [
            {"date": d.isoformat(), "litres": daily_litres(subject, d)} for d in _days(start, end)
        ],
    }


_MODES = (("walk", 4_500), ("bike", 15_000), ("bus", 18_000), ("car", 40_000), ("tram", 20_000))


def trips_of(subject: str, day: date) -> list[dict[str, Any]]:
    trips = []
    for n in range(_noise(subject, day, "count") % 4):
        seed = _noise(subject, day, n)
        mode, speed_m_per_h = _MODES[seed % len(_MODES)]
        distance = 500 + seed % 12_000
        duration = max(60, distance * 3600 // speed_m_per_h)
        started = datetime.combine(day, time(7 + 3 * n, seed % 60))
        trips.append(
            {
                "id": f"{day.isoformat()}-{n}",
                "mode": mode,
                "started_at": started.isoformat(),
                "distance_m": distance,
                "duration_s": duration,
            }
        )
    return trips


def mobility(subject: str, start: date, end: date) -> dict[str, Any]:
    return {
        "since": start.isoformat(),
        "until": end.isoformat(),
        "trips": [trip for d in _days(start, end) for trip in trips_of(subject, d)],
    }


@dataclass(frozen=True)
class Resource:
    path: str
    start_param: str
    end_param: str
    max_days: int
    produce: Producer


DATASETS: dict[str, dict[str, Resource]] = {
    "water": {
        "daily_water": Resource("/api/v1/meters/consumption/daily", "from", "to", 366, water),
    },
    "mobility": {
        "trips": Resource("/api/v1/trips", "since", "until", 31, mobility),
    },
}
