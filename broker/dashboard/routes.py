"""Routes of the dashboard surface."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register the dashboard routes (filled in by the dashboard work)."""
