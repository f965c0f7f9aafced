"""Static assets (CSS, images), served by the broker itself: no CDN, nothing from elsewhere.

Only the files present at start-up are served, looked up by exact name: no path is ever
built from the request, so there is nothing to traverse and no odd name reaches the disk.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_ASSETS: web.AppKey[dict[str, tuple[bytes, str]]] = web.AppKey("static_assets")


def _load() -> dict[str, tuple[bytes, str]]:
    assets = {}
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            assets[path.relative_to(STATIC_DIR).as_posix()] = (path.read_bytes(), kind)
    return assets


async def serve_asset(request: web.Request) -> web.Response:
    found = request.app[_ASSETS].get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    body, kind = found
    return web.Response(
        body=body, content_type=kind, headers={"Cache-Control": "public, max-age=3600"}
    )


def setup(app: web.Application) -> None:
    app[_ASSETS] = _load()
    app.router.add_get("/static/{name:.+}", serve_asset)
