"""The figures against the issue's targets: a table on stdout and ``bench/results.json``."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.yardstick import NOISY

RESULTS = Path(__file__).resolve().parent / "results.json"


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    unit: str
    limit: float
    passes: Callable[[float, float], bool]
    pick: Callable[[dict[str, Any]], float | None]


def _proxy(level: str, field: str, worst: Callable[[list[float]], float]) -> Callable[..., Any]:
    def pick(figures: dict[str, Any]) -> float | None:
        proxy = figures.get("proxy")
        if not proxy:
            return None
        return float(worst([per_level[level][field] for per_level in proxy["resources"].values()]))

    return pick


def _get(*path: str) -> Callable[[dict[str, Any]], float | None]:
    def pick(figures: dict[str, Any]) -> float | None:
        value: Any = figures
        for part in path:
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return None if value is None else float(value)

    return pick


def _streaming(figures: dict[str, Any]) -> float | None:
    stream = figures.get("streaming")
    if not stream:
        return None
    return float(max(v for v in (stream["growth_mb"], stream["hwm_growth_mb"]) if v is not None))


def _other_instance(figures: dict[str, Any]) -> float | None:
    revocation = figures.get("revocation")
    if not revocation:
        return None
    if not revocation["all_refused"]:
        return float("inf")
    return float(revocation["other_instance_first_refusal_ms_max"])


TARGETS = (
    Target("proxy_throughput_ratio", "proxied / direct throughput (worst resource, loaded)",
           "x", 0.5, operator.ge, _proxy("loaded", "throughput_ratio", min)),
    Target("added_latency_p50_ms", "added latency p50 (worst resource, concurrency 1)",
           "ms", 2.0, operator.le, _proxy("c1", "added_p50_ms", max)),
    Target("introspections_per_second_per_core",
           "introspections per second per core (per second of broker CPU)",
           "/s", 5000, operator.ge, _get("oauth", "introspections", "per_broker_cpu_second")),
    Target("token_responses_per_second", "token responses per second (exchange + refresh)",
           "/s", 500, operator.ge, _get("oauth", "token_responses_per_second")),
    Target("revocation_served_after_same_instance", "served after revocation, same instance",
           "", 0, operator.le, _get("revocation", "same_instance_served_after")),
    Target("revocation_other_instance_ms", "revocation to first refusal, other instance (worst)",
           "ms", 100, operator.lt, _other_instance),
    Target("streaming_growth_mb", "broker memory growth streaming to a slow reader",
           "MB", 50, operator.lt, _streaming),
    Target("dashboard_p95_ms", "dashboard p95 at scale",
           "ms", 50, operator.lt, _get("scale", "dashboard", "p95_ms")),
    Target("verify_entries_per_second", "ledger verify, entries per second",
           "/s", 200_000, operator.gt, _get("scale", "verify", "entries_per_second")),
)  # fmt: skip


def judge(figures: dict[str, Any]) -> list[dict[str, Any]]:
    verdicts = []
    for target in TARGETS:
        value = target.pick(figures)
        verdict = None if value is None else bool(target.passes(value, target.limit))
        verdicts.append(
            {
                "key": target.key,
                "label": target.label,
                "value": None if value is None or value == float("inf") else value,
                "target": f"{target.passes.__name__} {target.limit:g}{target.unit}",
                "pass": verdict,
            }
        )
    return verdicts


def _format(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def table(document: dict[str, Any]) -> str:
    rows = [("figure", "value", "target", "")]
    for v in document["targets"]:
        mark = {True: "PASS", False: "FAIL", None: "not run"}[v["pass"]]
        rows.append((v["label"], _format(v["value"]), v["target"], mark))
    extra = document["figures"]
    for line in _details(extra):
        rows.append((line[0], line[1], "", "info"))
    for line in _yardstick(document.get("yardstick") or {}):
        rows.append((line[0], line[1], "", "machine"))
    for line in _yardstick(document.get("yardstick_at_end") or {}, "at end"):
        rows.append((line[0], line[1], "", "machine"))
    rows.extend(_drift(document.get("yardstick_drift")))
    settings = document.get("broker_settings", {})
    store = settings.get("store", "sqlite")
    rows.append(("store of the proxy and oauth figures", store, "", "setting"))
    synchronous = settings.get("sqlite_synchronous", "full")
    rows.append(("SQLite brokers: PRAGMA synchronous", synchronous, "", "setting"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _details(figures: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for resource, levels in (figures.get("proxy") or {}).get("resources", {}).items():
        for level, r in levels.items():
            out.append(
                (
                    f"{resource} {level}: direct / proxied req/s",
                    f"{r['direct']['per_second']:,.0f} / {r['proxied']['per_second']:,.0f}",
                )
            )
            out.append((f"{resource} {level}: added p50 / p99 ms",
                        f"{r['added_p50_ms']:.2f} / {r['added_p99_ms']:.2f}"))  # fmt: skip
    oauth = figures.get("oauth")
    if oauth:
        out.append(("code exchanges / refreshes per second",
                    f"{oauth['code_exchanges']['per_second']:,.0f} / "
                    f"{oauth['refreshes']['per_second']:,.0f}"))  # fmt: skip
        seen = oauth["introspections"]
        out.append(("introspections per second of wall time (one broker process)",
                    f"{seen['per_second']:,.0f}"))  # fmt: skip
        out.append(("broker CPU per introspection",
                    f"{_format(seen.get('broker_cpu_us_per_request'))} us"))  # fmt: skip
        out.append(("broker CPU per token response",
                    f"{_format(oauth.get('token_broker_cpu_us_per_response'))} us"))  # fmt: skip
    revocation = figures.get("revocation")
    if revocation:
        out.append(("revocation to first refusal, same instance (worst)",
                    f"{_format(revocation['same_instance_first_refusal_ms_max'])} ms"))  # fmt: skip
    scale = figures.get("scale")
    if scale:
        p = scale["policy_check"]
        out.append((f"policy check p50 / p95 ({scale['consents']:,} consents)",
                    f"{p['p50_ms']:.2f} / {p['p95_ms']:.2f} ms"))  # fmt: skip
        out.append(("dashboard p50", f"{scale['dashboard']['p50_ms']:.2f} ms"))
    return out


def _yardstick(yardstick: dict[str, Any], when: str = "") -> list[tuple[str, str]]:
    """The machine's speed (``bench.yardstick``): compare figures across machines by it."""
    out: list[tuple[str, str]] = []
    name = f"yardstick {when}" if when else "yardstick"
    floor = yardstick.get("aiohttp_form_post") or {}
    if floor.get("cpu_us_per_request") is not None:
        out.append((f"{name}: aiohttp bare form post, CPU per request",
                    f"{_format(floor['cpu_us_per_request'])} us"))  # fmt: skip
    sync = yardstick.get("fsync_4k") or {}
    if sync.get("p50_us") is not None:
        out.append((f"{name}: 4 KiB write + fsync, p50", f"{_format(sync['p50_us'])} us"))
    return out


def _drift(change: float | None) -> list[tuple[str, str, str, str]]:
    """The floor's change during the run, marked ``noisy`` beyond ``yardstick.NOISY``."""
    if change is None:
        return []
    mark = "noisy" if abs(change) > NOISY else "machine"
    return [("machine speed change during the run (aiohttp floor)", f"{change:+.0%}", "", mark)]


def write(document: dict[str, Any], path: Path = RESULTS) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
