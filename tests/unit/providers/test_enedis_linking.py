"""The Enedis adapter's linking half and its error vocabulary, without any network."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from providers.base import HolderAdapter, HolderError, HolderLink, HolderStream
from providers.enedis.adapter import EnedisDataConnectAdapter
from providers.enedis.holder_errors import retry_after_seconds
from providers.enedis.resources import ENEDIS_RESOURCES, takes_date_range
from providers.registry import build_adapter


@pytest.fixture
async def adapter() -> AsyncIterator[HolderAdapter]:
    async with aiohttp.ClientSession() as session:
        yield build_adapter(
            "enedis-dataconnect",
            base_url="https://gw.example/",
            authorize_url="https://accounts.example/dataconnect/v1/oauth2/authorize",
            token_url="https://gw.example/oauth2/v3/token",
            client_id="client-1",
            client_secret="s3cret",
            resources=ENEDIS_RESOURCES,
            session=session,
        )


async def test_registry_builds_the_enedis_adapter_and_refuses_unknown_protocols() -> None:
    async with aiohttp.ClientSession() as session:
        kwargs = {
            "base_url": "https://gw.example",
            "authorize_url": "https://a.example/authorize",
            "token_url": "https://gw.example/token",
            "client_id": "c",
            "client_secret": "s",
            "resources": ENEDIS_RESOURCES,
            "session": session,
        }
        adapter = build_adapter("enedis-dataconnect", **kwargs)  # type: ignore[arg-type]
        assert isinstance(adapter, EnedisDataConnectAdapter)
        assert adapter.protocol == "enedis-dataconnect"
        with pytest.raises(ValueError, match="unknown holder protocol"):
            build_adapter("carrier-pigeon", **kwargs)  # type: ignore[arg-type]


def test_authorization_url_carries_what_the_consent_page_needs(adapter: HolderAdapter) -> None:
    url = adapter.authorization_url(
        state="st-1", redirect_uri="https://broker.example/cb", duration="P1Y"
    )
    parts = urlsplit(url)
    assert parts.path == "/dataconnect/v1/oauth2/authorize"
    assert parse_qs(parts.query) == {
        "client_id": ["client-1"],
        "response_type": ["code"],
        "state": ["st-1"],
        "duration": ["P1Y"],
        "redirect_uri": ["https://broker.example/cb"],
    }


async def test_complete_link_keeps_only_the_usage_point(adapter: HolderAdapter) -> None:
    link = await adapter.complete_link(
        query={"code": "abc", "state": "st-1", "usage_point_id": "12345678901234"},
        redirect_uri="https://broker.example/cb",
    )
    assert link == HolderLink("12345678901234", {"usage_point_id": "12345678901234"})


async def test_complete_link_maps_a_refusal_to_access_denied(adapter: HolderAdapter) -> None:
    with pytest.raises(HolderError) as caught:
        await adapter.complete_link(
            query={"error": "access_denied", "state": "st-1"}, redirect_uri="https://b/cb"
        )
    assert (caught.value.status, caught.value.code) == (403, "access_denied")


@pytest.mark.parametrize("prm", ["", "1234567890123", "123456789012345", "1234567890123a"])
async def test_complete_link_refuses_a_malformed_usage_point(
    adapter: HolderAdapter, prm: str
) -> None:
    with pytest.raises(HolderError) as caught:
        await adapter.complete_link(
            query={"code": "abc", "state": "s", "usage_point_id": prm}, redirect_uri="https://b/cb"
        )
    assert caught.value.code == "invalid_request"


async def test_revoke_reports_that_enedis_has_no_such_api(adapter: HolderAdapter) -> None:
    assert await adapter.revoke(credential={"usage_point_id": "12345678901234"}) is False


async def test_fetch_refuses_resources_outside_the_manifest(adapter: HolderAdapter) -> None:
    start = end = datetime(2024, 1, 1).date()
    with pytest.raises(ValueError, match="manifest"):
        async with adapter.fetch(
            credential={"usage_point_id": "12345678901234"},
            resource="gas",
            start=start,
            end=end,
        ):
            pass


def test_only_metering_resources_take_a_date_range() -> None:
    ranged = {name for name, path in ENEDIS_RESOURCES.items() if takes_date_range(path)}
    assert ranged == {
        "daily_consumption",
        "consumption_load_curve",
        "daily_consumption_max_power",
        "daily_production",
        "production_load_curve",
    }


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2024, 6, 15, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Sat, 15 Jun 2024 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Sat, 15 Jun 2024 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


async def test_a_holder_stream_is_read_once() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"{}"

    stream = HolderStream(status=200, content_type="application/json", chunks=chunks())
    assert [c async for c in stream] == [b"{}"]
    with pytest.raises(RuntimeError):
        [c async for c in stream]
