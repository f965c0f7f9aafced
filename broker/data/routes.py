"""Routes of the data surface."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register the data routes (filled in by the data work)."""
