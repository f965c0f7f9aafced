"""``python -m bench --quick --only oauth`` starts its servers, runs and writes valid JSON,
on either store of the figure (``--store``), with the machine's yardsticks.

Only the shape of the result is checked: timing belongs in the benchmark, never in a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_bench_quick_oauth_writes_a_results_document(tmp_path: Path, store: str) -> None:
    output = tmp_path / "results.json"
    command = [sys.executable, "-m", "bench", "--quick", "--only", "oauth", "--store", store]
    done = subprocess.run(
        [*command, "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(output.read_text())
    assert document["mode"] == "quick"
    assert document["broker_settings"]["store"] == store
    assert document["machine"]["nproc"] >= 1
    oauth = document["figures"]["oauth"]
    for figure in ("code_exchanges", "refreshes", "introspections"):
        assert oauth[figure]["requests"] > 0
        assert oauth[figure]["failures"] == 0
    # Introspection is also counted against the broker's own CPU time (the target's "per
    # core"), read from /proc while the lean client drove it.
    introspections = oauth["introspections"]
    cpu = introspections["broker_cpu_seconds"]
    assert cpu > 0
    assert introspections["per_broker_cpu_second"] == pytest.approx(
        introspections["requests"] / cpu, rel=0.01
    )
    # The token endpoint's broker CPU is read the same way, per token response.
    assert oauth["token_broker_cpu_us_per_response"] > 0
    # The machine's yardsticks, measured before the figures, to compare runs across machines.
    floor = document["yardstick"]["aiohttp_form_post"]
    assert floor["requests"] > 0
    assert floor["failures"] == 0
    assert floor["cpu_us_per_request"] > 0
    assert document["yardstick"]["fsync_4k"]["p50_us"] > 0
    # ... and again after them, with the change of the floor in between.
    end = document["yardstick_at_end"]["aiohttp_form_post"]["cpu_us_per_request"]
    assert document["yardstick_drift"] == pytest.approx(
        end / floor["cpu_us_per_request"] - 1, abs=0.001
    )
    keys = {target["key"]: target for target in document["targets"]}
    assert keys["introspections_per_second_per_core"]["pass"] in (True, False)
    assert keys["dashboard_p95_ms"]["pass"] is None  # not run
