"""Several broker processes on one fresh PostgreSQL database (``tests/support/processes.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.processes import Cluster, running_cluster


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """Instances ``a`` and ``b``, both ready; the issuer is ``a``'s URL."""
    async with running_cluster(tmp_path) as running:
        yield running
