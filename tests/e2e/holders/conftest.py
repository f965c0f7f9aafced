"""The e2e stack plus the GRDF, water and mobility simulators, registered by manifest."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.holders import Holders, running_holders
from tests.support.stack import Stack


@pytest.fixture
async def holders(stack: Stack) -> AsyncIterator[Holders]:
    async with running_holders(stack) as running:
        yield running
