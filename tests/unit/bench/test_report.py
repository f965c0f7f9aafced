"""The bench's report says how much the machine's speed moved during the run, and flags a
run whose floor moved beyond ``bench.yardstick.NOISY`` as noisy."""

from __future__ import annotations

from typing import Any

from bench import report, yardstick


def _floor(cpu_us: float) -> dict[str, Any]:
    return {"aiohttp_form_post": {"cpu_us_per_request": cpu_us}, "fsync_4k": {"p50_us": 200.0}}


def _document(start: float, end: float) -> dict[str, Any]:
    return {
        "figures": {},
        "targets": [],
        "yardstick": _floor(start),
        "yardstick_at_end": _floor(end),
        "yardstick_drift": yardstick.drift(_floor(start), _floor(end)),
    }


def _row(table: str, label: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(label))
    return line.split()


def test_drift_is_the_relative_change_of_the_floor() -> None:
    assert yardstick.drift(_floor(80.0), _floor(100.0)) == 0.25
    assert yardstick.drift(_floor(100.0), _floor(90.0)) == -0.1
    assert yardstick.drift({}, _floor(90.0)) is None


def test_a_steady_machine_is_reported_as_such() -> None:
    table = report.table(_document(100.0, 105.0))
    assert _row(table, "yardstick at end: aiohttp")[-3:] == ["105", "us", "machine"]
    assert _row(table, "machine speed change")[-2:] == ["+5%", "machine"]


def test_a_run_whose_floor_moved_beyond_the_threshold_is_flagged_noisy() -> None:
    table = report.table(_document(70.0, 100.0))
    assert _row(table, "machine speed change")[-2:] == ["+43%", "noisy"]
    assert _row(report.table(_document(100.0, 70.0)), "machine speed change")[-2:] == [
        "-30%",
        "noisy",
    ]


def test_an_old_document_without_an_end_yardstick_still_renders() -> None:
    document = _document(100.0, 100.0)
    del document["yardstick_at_end"], document["yardstick_drift"]
    assert "machine speed change" not in report.table(document)
