"""Routes of the oauth surface, in the order of the authorization's journey."""

from __future__ import annotations

from aiohttp import web

from broker.holders import holder_callback_path
from broker.oauth.authorize import authorize
from broker.oauth.decision import decision
from broker.oauth.grants import end_grant, query_grant
from broker.oauth.holder_callback import holder_callback
from broker.oauth.introspect import introspection
from broker.oauth.metadata import jwks, metadata
from broker.oauth.par import pushed_authorization_request
from broker.oauth.revoke import revocation
from broker.oauth.token import token


def setup(app: web.Application) -> None:
    routes = app.router
    routes.add_get("/.well-known/oauth-authorization-server", metadata)
    routes.add_get("/jwks.json", jwks)
    routes.add_post("/oauth/par", pushed_authorization_request)
    routes.add_get("/oauth/authorize", authorize)
    routes.add_post("/oauth/authorize/decision", decision)
    routes.add_get(holder_callback_path("{holder_id}"), holder_callback)
    routes.add_post("/oauth/token", token)
    routes.add_post("/oauth/revoke", revocation)
    routes.add_post("/oauth/introspect", introspection)
    routes.add_get("/oauth/grants/{grant_id}", query_grant)
    routes.add_delete("/oauth/grants/{grant_id}", end_grant)
