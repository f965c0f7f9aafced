"""``python -m providers.generic.simulator --kind water --port 8003``: a demo generic holder."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from providers.enedis.simulator.__main__ import PathOnlyAccessLogger
from providers.generic.simulator.app import create_generic_simulator_app
from providers.generic.simulator.demo import demo_generic_config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="generic OAuth 2 holder simulator (demo data)")
    parser.add_argument("--kind", choices=("water", "mobility"), required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--broker", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    web.run_app(
        create_generic_simulator_app(demo_generic_config(args.kind, args.broker)),
        host=args.host,
        port=args.port,
        access_log_class=PathOnlyAccessLogger,
        print=None,
    )


if __name__ == "__main__":
    main()
