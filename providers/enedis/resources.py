"""The Enedis Data Connect v5 resources: their names in a holder manifest and their paths.

The simulator serves exactly these paths, and a manifest pointing at real Enedis can use
this table as it is. Only metering resources take a date range; customer resources are
about the usage point itself.
"""

from __future__ import annotations

from types import MappingProxyType

ENEDIS_RESOURCES = MappingProxyType(
    {
        "daily_consumption": "/metering_data_dc/v5/daily_consumption",
        "consumption_load_curve": "/metering_data_clc/v5/consumption_load_curve",
        "daily_consumption_max_power": "/metering_data_dcmp/v5/daily_consumption_max_power",
        "daily_production": "/metering_data_dp/v5/daily_production",
        "production_load_curve": "/metering_data_plc/v5/production_load_curve",
        "contracts": "/customers_upc/v5/usage_points/contracts",
        "addresses": "/customers_upa/v5/usage_points/addresses",
        "identity": "/customers_i/v5/identity",
        "contact_data": "/customers_cd/v5/contact_data",
    }
)

_METERING_PREFIX = "/metering_data"


def takes_date_range(path: str) -> bool:
    """Metering paths take ``start``/``end``; customer paths refuse nothing but ignore them."""
    return path.startswith(_METERING_PREFIX)


_LOAD_CURVE_SUFFIX = "_load_curve"


def max_days_per_call(path: str) -> int:
    """Enedis's published limits: 7 days per load-curve call, 365 for daily data."""
    return 7 if path.endswith(_LOAD_CURVE_SUFFIX) else 365
