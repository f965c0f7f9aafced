"""Static assets (CSS), served by the broker itself: no CDN, nothing from elsewhere."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def setup(app: web.Application) -> None:
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
