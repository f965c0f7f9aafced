"""Routes of the data surface: ``GET /v1/data/{holder}/{resource}`` (docs/wire.md, "Data
plane"). Errors are RFC 9457 problem JSON; a bearer token failure also carries
``WWW-Authenticate`` (RFC 6750 §3).
"""

from __future__ import annotations

from aiohttp import web

from broker.data.admission import admit
from broker.data.relay import relay
from broker.data.request import bearer_token, check_query_size


async def get_data(request: web.Request) -> web.StreamResponse:
    """Pull one resource of one grant, streamed from the holder through the broker."""
    check_query_size(request)
    token = bearer_token(request)
    ticket = await admit(
        request, request.match_info["holder"], request.match_info["resource"], token
    )
    return await relay(request, ticket)


def setup(app: web.Application) -> None:
    app.router.add_get("/v1/data/{holder}/{resource}", get_data, allow_head=False)
