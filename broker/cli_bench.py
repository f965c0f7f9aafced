"""``aiguillage bench [--quick] [--only FIGURE ...] [--store STORE]``: the benchmark of
issue #6.

The ``bench`` package is imported only when this command runs: the broker never needs it
to serve, and a deployment without it still has every other command.
"""

from __future__ import annotations

import argparse
from typing import Any

from broker.settings import Settings

FIGURES = ("proxy", "oauth", "revocation", "streaming", "scale")


def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    from bench.run import main as run_bench

    argv = ["--quick"] if args.quick else []
    if args.only:
        argv += ["--only", *args.only]
    if args.output:
        argv += ["--output", args.output]
    if args.store:
        argv += ["--store", args.store]
    return run_bench(argv)


def register(sub: Any) -> None:
    bench = sub.add_parser("bench", help="measure the broker against going direct")
    bench.add_argument("--quick", action="store_true", help="a run under a minute")
    bench.add_argument("--only", nargs="+", choices=FIGURES)
    bench.add_argument("--output")
    bench.add_argument(
        "--store",
        choices=("sqlite", "postgresql"),
        help="database of the proxy and oauth figures (default sqlite)",
    )
    bench.set_defaults(func=cmd_bench)
