"""A holder's 429: short waits are honoured and retried, long ones passed up."""

from __future__ import annotations

import pytest

from providers.backoff import with_backoff
from providers.base import HolderError


async def test_a_short_retry_after_is_waited_then_the_call_retried() -> None:
    waits: list[float] = []
    answers = iter([HolderError(status=429, code="Quota Q3", retry_after=1.0), "ok"])

    async def call() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    assert await with_backoff(call, sleep=sleep) == "ok"
    assert waits == [1.0]


async def test_a_long_retry_after_and_other_errors_are_passed_up_at_once() -> None:
    async def sleep(seconds: float) -> None:
        raise AssertionError("must not wait")

    for error in (
        HolderError(status=429, code="Quota Q4", retry_after=3600),
        HolderError(status=403, code="ADAM-DC-0008"),
    ):

        async def call(error: HolderError = error) -> str:
            raise error

        with pytest.raises(HolderError) as caught:
            await with_backoff(call, sleep=sleep)
        assert caught.value is error


async def test_attempts_are_bounded() -> None:
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        raise HolderError(status=429, code="Quota Q3")

    async def sleep(seconds: float) -> None:
        return None

    with pytest.raises(HolderError):
        await with_backoff(call, sleep=sleep, attempts=3)
    assert calls == 3
