import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import pytest

from clients.sdk import DataStream, InvalidGrant, InvalidToken, TokenManager, TokenSet

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DETAIL = {
    "type": "personal_data_transfer",
    "holder": "enedis",
    "resources": ["daily_consumption"],
    "purpose": "energy_coaching",
    "data_window": {"history": "P6M", "include_future": True},
    "frequency": "daily",
    "duration": "P1Y",
}


def _token_set(n: int, expires_at: datetime) -> TokenSet:
    return TokenSet(
        access_token=f"at-{n}", refresh_token=f"rt-{n}", expires_at=expires_at, grant_id="g-1"
    )


class FakeClient:
    """Counts refreshes; fails like the broker on a reused refresh token."""

    def __init__(self) -> None:
        self.refreshed_with: list[str | None] = []
        self.valid_access: set[str] = set()

    async def refresh(self, token_set: TokenSet) -> TokenSet:
        await asyncio.sleep(0)  # let other coroutines pile up on the lock
        if token_set.refresh_token in self.refreshed_with:
            raise InvalidGrant("invalid_grant", "refresh token reused", 400)
        self.refreshed_with.append(token_set.refresh_token)
        n = len(self.refreshed_with)
        self.valid_access.add(f"at-{n}")
        return _token_set(n, NOW + timedelta(seconds=600))

    @asynccontextmanager
    async def fetch(
        self, token_set: TokenSet, holder: str, resource: str, start: date, end: date
    ) -> AsyncIterator[DataStream]:
        if token_set.access_token not in self.valid_access:
            raise InvalidToken()
        yield None  # type: ignore[misc]


def test_token_set_from_response_computes_expiry_and_parses_details() -> None:
    answer = {
        "access_token": "AT-SECRET",
        "token_type": "Bearer",
        "expires_in": 600,
        "refresh_token": "RT-SECRET",
        "grant_id": "g",
        "authorization_details": [DETAIL],
    }
    token_set = TokenSet.from_response(answer, NOW)
    assert token_set.expires_at == NOW + timedelta(seconds=600)
    assert token_set.granted_resources("enedis") == {"daily_consumption"}
    assert token_set.authorization_details[0].data_window.history == "P6M"
    assert "AT-SECRET" not in repr(token_set)
    assert "RT-SECRET" not in repr(token_set)


def test_a_refresh_answer_without_refresh_token_keeps_the_old_one() -> None:
    previous = _token_set(0, NOW)
    rotated = TokenSet.from_response({"access_token": "new", "expires_in": 600}, NOW, previous)
    assert rotated.refresh_token == "rt-0"
    assert rotated.grant_id == "g-1"


def test_is_expired_keeps_a_safety_margin() -> None:
    token_set = _token_set(0, NOW + timedelta(seconds=20))
    assert token_set.is_expired(NOW)
    assert not _token_set(0, NOW + timedelta(seconds=600)).is_expired(NOW)


async def test_concurrent_callers_refresh_an_expired_token_once() -> None:
    client = FakeClient()
    rotated: list[TokenSet] = []

    async def persist(token_set: TokenSet) -> None:
        rotated.append(token_set)

    manager = TokenManager(client, _token_set(0, NOW), on_rotate=persist, clock=lambda: NOW)
    results = await asyncio.gather(*(manager.current() for _ in range(10)))
    assert client.refreshed_with == ["rt-0"]
    assert {r.access_token for r in results} == {"at-1"}
    assert [t.refresh_token for t in rotated] == ["rt-1"]


async def test_a_fresh_token_is_not_refreshed() -> None:
    client = FakeClient()
    manager = TokenManager(client, _token_set(0, NOW + timedelta(hours=1)), clock=lambda: NOW)
    assert (await manager.current()).access_token == "at-0"
    assert client.refreshed_with == []


async def test_fetch_refreshes_once_after_a_401_and_retries() -> None:
    client = FakeClient()
    # Looks valid to our clock, but the broker says otherwise.
    manager = TokenManager(client, _token_set(0, NOW + timedelta(hours=1)), clock=lambda: NOW)
    async with manager.fetch("enedis", "daily_consumption", date(2025, 1, 1), date(2025, 2, 1)):
        pass
    assert client.refreshed_with == ["rt-0"]
    assert manager.token_set.access_token == "at-1"


async def test_fetch_gives_up_after_one_retry() -> None:
    client = FakeClient()
    manager = TokenManager(client, _token_set(0, NOW + timedelta(hours=1)), clock=lambda: NOW)

    async def refresh_to_useless(token_set: TokenSet) -> TokenSet:
        return _token_set(99, NOW + timedelta(hours=1))

    client.refresh = refresh_to_useless  # type: ignore[method-assign]
    with pytest.raises(InvalidToken):
        async with manager.fetch("enedis", "daily_consumption", date(2025, 1, 1), date(2025, 2, 1)):
            pass


async def test_invalid_grant_on_refresh_reaches_the_caller() -> None:
    client = FakeClient()
    client.refreshed_with.append("rt-0")  # already rotated once: reuse revokes the grant
    manager = TokenManager(client, _token_set(0, NOW), clock=lambda: NOW)
    with pytest.raises(InvalidGrant):
        await manager.current()
