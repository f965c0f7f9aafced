"""The five v5 metering APIs: daily and half-hourly consumption, daily max power, production.

Shapes follow Enedis's Swagger: every value is a string; a daily reading is dated
``YYYY-MM-DD``; a load-curve reading is dated ``YYYY-MM-DD HH:MM:SS`` at the END of its
``PT30M`` interval; the range asked is ``[start; end[``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from providers.enedis.simulator import synthetic
from providers.enedis.simulator.config import DemoCustomer
from providers.enedis.simulator.data_access import (
    admitted_client,
    consented_customer,
    usage_point_param,
)
from providers.enedis.simulator.durations import months_before
from providers.enedis.simulator.errors import (
    BeforeActivation,
    BeforeHistoryHorizon,
    InvalidRequest,
    PeriodTooLong,
)
from providers.enedis.simulator.state import state_of

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TIMESTAMP = "%Y-%m-%d %H:%M:%S"

Reading = dict[str, str]
Readings = Callable[[synthetic.Household, date], list[Reading]]


@dataclass(frozen=True)
class MeteringApi:
    path: str
    reading_type: dict[str, str]
    readings: Readings
    max_days: int  # per call
    history_months: int  # plus 15 days, before today
    too_long: type[InvalidRequest | PeriodTooLong]


def _daily(value: Callable[[synthetic.Household, date], int]) -> Readings:
    def readings(home: synthetic.Household, day: date) -> list[Reading]:
        return [{"value": str(value(home, day)), "date": day.isoformat()}]

    return readings


def _curve(values: Callable[[synthetic.Household, date], list[int]]) -> Readings:
    def readings(home: synthetic.Household, day: date) -> list[Reading]:
        return [
            {
                "value": str(watts),
                "date": synthetic.interval_end(day, slot).strftime(_TIMESTAMP),
                "interval_length": "PT30M",
                "measure_type": "B",
            }
            for slot, watts in enumerate(values(home, day))
        ]

    return readings


def _max_power(home: synthetic.Household, day: date) -> list[Reading]:
    va, moment = synthetic.daily_max_power(home, day)
    return [{"value": str(va), "date": moment.strftime(_TIMESTAMP)}]


_ENERGY = {
    "measurement_kind": "energy",
    "measuring_period": "P1D",
    "unit": "Wh",
    "aggregate": "sum",
}
_POWER = {"measurement_kind": "power", "unit": "W", "aggregate": "average"}
_MAX_POWER = {
    "measurement_kind": "power",
    "measuring_period": "P1D",
    "unit": "VA",
    "aggregate": "maximum",
}


def _per_day(path: str, reading_type: dict[str, str], readings: Readings) -> MeteringApi:
    # Neither the Swagger nor the error catalogue names a code for a daily range over
    # 365 days, so it is reported as the generic invalid_request.
    return MeteringApi(path, reading_type, readings, 365, 36, InvalidRequest)


def _per_half_hour(path: str, readings: Readings) -> MeteringApi:
    return MeteringApi(path, _POWER, readings, 7, 24, PeriodTooLong)


METERING_APIS = (
    _per_day(
        "/metering_data_dc/v5/daily_consumption",
        _ENERGY,
        _daily(synthetic.daily_consumption_wh),
    ),
    _per_half_hour(
        "/metering_data_clc/v5/consumption_load_curve",
        _curve(synthetic.consumption_load_curve_w),
    ),
    _per_day("/metering_data_dcmp/v5/daily_consumption_max_power", _MAX_POWER, _max_power),
    _per_day(
        "/metering_data_dp/v5/daily_production",
        _ENERGY,
        _daily(synthetic.daily_production_wh),
    ),
    _per_half_hour(
        "/metering_data_plc/v5/production_load_curve",
        _curve(synthetic.production_load_curve_w),
    ),
)


def metering_handler(api: MeteringApi) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        client_id = admitted_client(request, api.path)
        usage_point_id = usage_point_param(request)
        today = state_of(request).config.current_date()
        start, end = _period(request, today)
        customer = consented_customer(request, client_id, usage_point_id)
        _check_limits(api, customer, start, end, today)
        return web.json_response(_body(api, customer, start, end))

    return handle


def _period(request: web.Request, today: date) -> tuple[date, date]:
    start = _date_param(request, "start", "Start")
    end = _date_param(request, "end", "End")
    if end > today:
        raise InvalidRequest("The end date parameter must be earlier than the current date")
    if start >= end:
        raise InvalidRequest("Start date should be before end date")
    return start, end


def _date_param(request: web.Request, name: str, label: str) -> date:
    raw = request.query.get(name)
    if not raw:
        raise InvalidRequest(f"{label} date parameter is required")
    try:
        if not _DATE.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"{label} date parameter must be in the format YYYY-MM-DD") from None


def _check_limits(
    api: MeteringApi, customer: DemoCustomer, start: date, end: date, today: date
) -> None:
    if (end - start).days > api.max_days:
        raise api.too_long(f"The requested period cannot be longer than {api.max_days} days")
    if start < customer.activation_date:
        raise BeforeActivation(
            "The requested period cannot be anterior to the meter's last activation date"
        )
    if start < months_before(today, api.history_months, extra_days=15):
        raise BeforeHistoryHorizon("The start date must be greater than the history deadline")


def _body(api: MeteringApi, customer: DemoCustomer, start: date, end: date) -> dict[str, Any]:
    home = synthetic.household(customer.usage_point_id)
    readings: list[Reading] = []
    day = start
    while day < end:
        readings.extend(api.readings(home, day))
        day += timedelta(days=1)
    return {
        "meter_reading": {
            "usage_point_id": customer.usage_point_id,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "quality": "BRUT",
            "reading_type": dict(api.reading_type),
            "interval_reading": readings,
        }
    }
