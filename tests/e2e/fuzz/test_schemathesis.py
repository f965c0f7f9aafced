"""Schemathesis against the live broker: generated requests for every operation of
``/openapi.json``, a bounded number each; no 5xx and no response that breaks the schema.

Schemathesis speaks ``requests`` (blocking), so it runs in a worker thread while the
broker serves on this test's event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.support.stack import Stack

EXAMPLES_PER_OPERATION = 40


def _fuzz(raw: dict[str, Any], base_url: str) -> list[str]:
    schema = schemathesis.openapi.from_dict(raw)
    failures: list[str] = []
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,  # the same examples every run: a failure reproduces
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            calls[case.operation.label] = calls.get(case.operation.label, 0) + 1
            case.call_and_validate(
                base_url=base_url,
                checks=[not_a_server_error, response_schema_conformance],
                allow_redirects=False,
                timeout=10,
            )

        try:
            run()
        except Exception as error:  # collected, reported all at once below
            failures.append(f"{operation.label}: {type(error).__name__}: {str(error)[:800]}")
    # Every operation was actually exercised, not skipped by a schema it could not read.
    operations = sum(len(item) for item in raw["paths"].values())
    assert len(calls) == operations, sorted(calls)
    return failures


async def test_generated_requests_never_break_the_broker_or_its_schema(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stack.broker_url}/openapi.json") as response:
        raw = await response.json()
    failures = await asyncio.to_thread(_fuzz, raw, stack.broker_url)
    assert not failures, "\n\n".join(failures)
