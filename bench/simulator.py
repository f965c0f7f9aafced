"""``python -m bench.simulator``: the Enedis simulator as the benchmark needs it.

The same application as ``python -m providers.enedis.simulator`` (same paths, data and
errors), with three differences that its demo command line does not offer:

* quotas far above anything the bench sends: Enedis's 5 calls per second per client would
  measure the simulator's 429s, not the broker;
* the bench's client id, secret and broker callback URLs (one per broker instance);
* ``BIG_PATH``, a metering-shaped resource answering ``--big-mb`` MiB whatever its range,
  streamed by the simulator's own ``/_simulator/big`` generator (figure 4).

No access log: a log line per request would cost the holder, direct and proxied alike.
"""

from __future__ import annotations

import argparse

from aiohttp import web
from aiohttp.typedefs import Handler

from providers.enedis.simulator import operator
from providers.enedis.simulator.app import create_simulator_app
from providers.enedis.simulator.config import RegisteredClient, SimulatorConfig
from providers.enedis.simulator.data_access import admitted_client

# Starts with /metering_data so the adapter sends start and end, as for a real curve.
BIG_PATH = "/metering_data_big/v5/consumption_load_curve"
GENEROUS_QUOTA = 10**9


def big_handler(size_mb: int) -> Handler:
    async def big(request: web.Request) -> web.StreamResponse:
        admitted_client(request, BIG_PATH)  # the bearer check a real holder would make
        sized = request.clone(rel_url=request.rel_url.with_query(size_mb=str(size_mb)))
        return await operator.big(sized)

    return big


def create_app(
    client_id: str, client_secret: str, redirect_uris: list[str], big_mb: int
) -> web.Application:
    config = SimulatorConfig(
        clients={
            client_id: RegisteredClient(secret=client_secret, redirect_uris=tuple(redirect_uris))
        },
        quota_per_second=GENEROUS_QUOTA,
        quota_per_hour=GENEROUS_QUOTA,
    )
    app = create_simulator_app(config)
    app.router.add_get(BIG_PATH, big_handler(big_mb))
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", action="append", required=True)
    parser.add_argument("--big-mb", type=int, default=500)
    args = parser.parse_args(argv)
    app = create_app(args.client_id, args.client_secret, args.redirect_uri, args.big_mb)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
