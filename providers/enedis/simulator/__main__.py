"""``python -m providers.enedis.simulator --host 127.0.0.1 --port 8001``: the demo simulator."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest

from providers.enedis.simulator.app import create_simulator_app
from providers.enedis.simulator.config import DEMO_BROKER, DEMO_CLIENT_ID, demo_config


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Logs method, path, status and time, never the query: it carries the customer's PRM."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms", request.method, request.path, response.status, time * 1000
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Enedis Data Connect simulator (demo data)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument(
        "--broker", default=DEMO_BROKER, help="the broker's public URL (its OAuth issuer)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger(__name__).info(
        "demo client %r; consent page at http://%s:%s/dataconnect/v1/oauth2/authorize",
        DEMO_CLIENT_ID,
        args.host,
        args.port,
    )
    web.run_app(
        create_simulator_app(demo_config(args.broker)),
        host=args.host,
        port=args.port,
        access_log_class=PathOnlyAccessLogger,
        print=None,
    )


if __name__ == "__main__":
    main()
