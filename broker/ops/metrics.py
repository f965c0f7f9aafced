"""Prometheus metrics at ``GET /metrics``, with the standard client library.

Each app has its own ``CollectorRegistry`` (never the process-global one), so several
brokers in one test process keep separate counts. What is measured, and from where:

======================================  ===============================================
``aiguillage_http_requests_total``      every request: method, route template, status
``aiguillage_http_request_duration_…``  latency histogram per method and route template
``aiguillage_data_denials_total``       data-plane refusals by problem reason, as sent
``aiguillage_transfers_total``          committed transfer entries: holder, outcome
``aiguillage_transfer_bytes_total``     bytes relayed per holder
``aiguillage_revocations_total``        committed revocations by kind of actor
``aiguillage_ledger_entries_total``     every committed ledger entry by kind
``aiguillage_jobs_total``               background jobs run, by kind and outcome
``aiguillage_holder_cache_enabled``     1 while holder records are served from memory
                                        (on PostgreSQL: while the NOTIFY listener is up)
======================================  ===============================================

Labels are route templates (``/oauth/grants/{grant_id}``) and codes from the broker's own
vocabulary, never raw paths, ids or anything a client typed, so no personal data reaches
the metrics and the number of series stays bounded. Counts are per instance; Prometheus
sums them across instances.

With ``AIGUILLAGE_METRICS_TOKEN`` set, ``/metrics`` answers only a scraper that sends
``Authorization: Bearer <token>`` (401 problem JSON otherwise); unset, it is open, for a
scraper on loopback or the private network, with the public proxy refusing the path.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from broker.http.problems import Problem
from broker.keys import ENGINE, SETTINGS
from broker.ops.ledger_watch import Observed, watch_ledger

# Set by the error middleware on a problem response: the reason code it carries.
PROBLEM_REASON = web.ResponseKey("problem_reason", str)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    denials: Counter
    transfers: Counter
    transfer_bytes: Counter
    revocations: Counter
    ledger_entries: Counter
    jobs: Counter
    holder_cache: Gauge
    # The per-request children (``labels(...)``), looked up once per label set: the same
    # objects ``labels`` returns, without its lock and validation on every request. Bounded
    # like the series themselves (methods × route templates × statuses).
    _request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def request_children(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._request_children[key] = children
        return children

    @classmethod
    def create(cls) -> Metrics:
        r = CollectorRegistry(auto_describe=True)
        return cls(
            registry=r,
            requests=Counter(
                "aiguillage_http_requests",
                "HTTP requests.",
                ["method", "route", "status"],
                registry=r,
            ),
            latency=Histogram(
                "aiguillage_http_request_duration_seconds",
                "Time to answer a request.",
                ["method", "route"],
                buckets=_LATENCY_BUCKETS,
                registry=r,
            ),
            denials=Counter(
                "aiguillage_data_denials",
                "Data requests refused, by reason.",
                ["reason"],
                registry=r,
            ),
            transfers=Counter(
                "aiguillage_transfers",
                "Transfers recorded, by outcome.",
                ["holder", "outcome"],
                registry=r,
            ),
            transfer_bytes=Counter(
                "aiguillage_transfer_bytes",
                "Bytes relayed from holders.",
                ["holder"],
                registry=r,
            ),
            revocations=Counter(
                "aiguillage_revocations",
                "Consents revoked, by kind of actor.",
                ["by"],
                registry=r,
            ),
            ledger_entries=Counter(
                "aiguillage_ledger_entries", "Ledger entries committed.", ["kind"], registry=r
            ),
            jobs=Counter(
                "aiguillage_jobs", "Background jobs run.", ["kind", "outcome"], registry=r
            ),
            holder_cache=Gauge(
                "aiguillage_holder_cache_enabled",
                "1 while holder records are served from memory.",
                registry=r,
            ),
        )

    def record_ledger(self, entries: list[Observed]) -> None:
        for entry in entries:
            self.ledger_entries.labels(entry.kind).inc()
            if entry.kind in ("transfer.served", "transfer.failed"):
                self.transfers.labels(entry.holder, entry.outcome or "unknown").inc()
                self.transfer_bytes.labels(entry.holder).inc(entry.bytes)
            elif entry.kind == "consent.revoked":
                self.revocations.labels(entry.actor_kind).inc()


METRICS = web.AppKey("metrics", Metrics)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return "unmatched" if resource is None else resource.canonical


def count_request(request: web.Request, status: int, reason: str | None, seconds: float) -> None:
    """Count and time one request, once the error middleware has shaped its answer
    (called by ``broker.http.middlewares.request_context``); a problem's reason is counted
    as a denial on the data plane."""
    metrics = request.app[METRICS]
    method = request.method if request.method in _METHODS else "other"
    count, latency = metrics.request_children(method, _route(request), status)
    count.inc()
    latency.observe(seconds)
    if reason is not None and status < 500 and request.path.startswith("/v1/data/"):
        metrics.denials.labels(reason).inc()


def _require_metrics_token(request: web.Request) -> None:
    """With ``AIGUILLAGE_METRICS_TOKEN`` set, the scraper must send it as a bearer token
    (compared in constant time); unset, ``/metrics`` is open: keep it off public addresses."""
    expected = request.app[SETTINGS].metrics_token.get_secret_value()
    if not expected:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise Problem(
            401,
            "unauthorized",
            "the metrics token is required (Authorization: Bearer …)",
            headers={"WWW-Authenticate": 'Bearer realm="aiguillage-metrics"'},
        )


async def serve_metrics(request: web.Request) -> web.Response:
    _require_metrics_token(request)
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _ledger_watch(app: web.Application) -> AsyncIterator[None]:
    stop = watch_ledger(app[ENGINE], app[METRICS].record_ledger)
    yield
    stop()


def setup(app: web.Application) -> None:
    app[METRICS] = Metrics.create()
    app.cleanup_ctx.append(_ledger_watch)
    app.router.add_get("/metrics", serve_metrics)
