"""The per-request work precomputed in round three of #6: same headers, same ids, same
metrics as before."""

from __future__ import annotations

from multidict import CIMultiDict

from broker.http.middlewares import _harden, _new_request_id
from broker.ops.metrics import Metrics

_EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}


def test_every_hardening_header_is_set() -> None:
    headers: CIMultiDict[str] = CIMultiDict()
    _harden(headers)
    for name, value in _EXPECTED.items():
        assert headers[name] == value
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert all(len(headers.getall(name)) == 1 for name in headers)


def test_a_response_keeps_its_own_values() -> None:
    headers: CIMultiDict[str] = CIMultiDict(
        {"Cache-Control": "public, max-age=60", "content-security-policy": "default-src 'none'"}
    )
    _harden(headers)
    assert headers.getall("Cache-Control") == ["public, max-age=60"]
    assert headers.getall("Content-Security-Policy") == ["default-src 'none'"]
    assert headers["X-Frame-Options"] == "DENY"


def test_request_ids_are_sixteen_hex_digits_and_distinct() -> None:
    ids = {_new_request_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


def test_cached_children_are_those_of_labels() -> None:
    metrics = Metrics.create()
    count, latency = metrics.request_children("GET", "/metrics", 200)
    assert metrics.request_children("GET", "/metrics", 200) == (count, latency)
    assert count is metrics.requests.labels("GET", "/metrics", "200")
    assert latency is metrics.latency.labels("GET", "/metrics")
    count.inc()
    latency.observe(0.002)
    other, _ = metrics.request_children("GET", "/metrics", 404)
    other.inc()
    registry = metrics.registry
    labels = {"method": "GET", "route": "/metrics"}
    assert (
        registry.get_sample_value("aiguillage_http_requests_total", {**labels, "status": "200"})
        == 1
    )
    assert (
        registry.get_sample_value("aiguillage_http_requests_total", {**labels, "status": "404"})
        == 1
    )
    assert registry.get_sample_value("aiguillage_http_request_duration_seconds_count", labels) == 1
