"""``python -m providers.grdf.simulator --port 8004``: the demo GRDF ADICT simulator."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from providers.enedis.simulator.__main__ import PathOnlyAccessLogger
from providers.enedis.simulator.config import RegisteredClient
from providers.grdf.simulator.app import GrdfSimulatorConfig, create_grdf_simulator_app

DEMO_CLIENT_ID = "aiguillage-demo"
DEMO_SECRET = "grdf-demo-secret"  # noqa: S105 - a published demo credential


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="GRDF ADICT simulator (demo data)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8004)
    parser.add_argument("--broker", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = GrdfSimulatorConfig(
        clients={
            DEMO_CLIENT_ID: RegisteredClient(
                secret=DEMO_SECRET, redirect_uris=(f"{args.broker}/holders/grdf/callback",)
            )
        }
    )
    web.run_app(
        create_grdf_simulator_app(config),
        host=args.host,
        port=args.port,
        access_log_class=PathOnlyAccessLogger,
        print=None,
    )


if __name__ == "__main__":
    main()
