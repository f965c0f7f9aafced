"""The contract quota's fixed windows: their keys, sizes and Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime

from broker.quota import day_window, request_windows
from consent.registry import ContractTerms

AT = datetime(2025, 3, 10, 9, 30, 15, 250_000, tzinfo=UTC)


def test_a_rate_of_five_per_second_gives_one_second_and_one_hour_windows() -> None:
    second, hour = request_windows(ContractTerms(requests_per_second=5), AT)
    epoch = int(AT.timestamp())
    assert (second.key, second.limit) == (f"s:{epoch}", 5)
    assert second.retry_after(AT.timestamp()) == 1
    assert hour.key == f"h:{epoch - epoch % 3600}"
    assert hour.limit == 1000
    assert hour.retry_after(AT.timestamp()) == 30 * 60 - 15  # 29 min 44.75 s, rounded up


def test_a_rate_below_one_per_second_widens_the_window() -> None:
    second, _ = request_windows(ContractTerms(requests_per_second=0.2), AT)
    start = int(AT.timestamp()) // 5 * 5
    assert (second.key, second.limit) == (f"s:{start}", 1)
    assert second.ends_at == start + 5


def test_the_day_window_is_the_utc_date_and_ends_at_midnight() -> None:
    key, ends = day_window(AT)
    assert key == "d:2025-03-10"
    assert ends == datetime(2025, 3, 11, tzinfo=UTC).timestamp()
