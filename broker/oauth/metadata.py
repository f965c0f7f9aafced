"""Discovery: authorization server metadata (RFC 8414 §2) and the broker's public keys."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from broker.keys import SETTINGS, SIGNER
from broker.oauth.assertion import ALGORITHMS


def server_metadata(issuer: str) -> dict[str, Any]:
    auth_methods = ["client_secret_basic", "private_key_jwt"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "pushed_authorization_request_endpoint": f"{issuer}/oauth/par",
        "require_pushed_authorization_requests": True,
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "grant_management_endpoint": f"{issuer}/oauth/grants",
        "grant_management_actions_supported": ["query", "revoke"],
        "jwks_uri": f"{issuer}/jwks.json",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_details_types_supported": ["personal_data_transfer"],
        "authorization_response_iss_parameter_supported": True,
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ALGORITHMS,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": ALGORITHMS,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": ALGORITHMS,
        "ui_locales_supported": ["fr", "en"],
    }


async def metadata(request: web.Request) -> web.Response:
    """RFC 8414 §3: ``GET /.well-known/oauth-authorization-server``."""
    response = web.json_response(server_metadata(request.app[SETTINGS].issuer))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


async def jwks(request: web.Request) -> web.Response:
    """The broker's public signing keys (RFC 7517 JWK Set), for receipts and notices."""
    response = web.json_response(request.app[SIGNER].jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
