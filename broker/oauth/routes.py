"""Routes of the oauth surface."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register the oauth routes (filled in by the oauth work)."""
