"""Operating the broker: probes (``/healthz``, ``/readyz``), Prometheus metrics
(``/metrics``) and housekeeping jobs. ``setup(app)`` wires all of it into ``create_app``."""

from __future__ import annotations

from aiohttp import web

from broker.ops import health, metrics


def setup(app: web.Application) -> None:
    """Call after the database context is registered: the ledger watch needs the engine."""
    # Imported here: housekeeping registers jobs (``broker.jobs``), which reads the metrics
    # of this package; a module-level import would make ``import broker.jobs`` circular.
    from broker.ops import housekeeping

    metrics.setup(app)
    health.setup(app)
    housekeeping.setup(app)
