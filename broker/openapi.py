"""The OpenAPI 3.1 description of every JSON endpoint, served at ``GET /openapi.json``.

Written as data, next to the code it describes; ``tests/e2e/fuzz/test_openapi.py`` fails
when a JSON route of the app is missing here, and Schemathesis checks that the live broker
answers as described. Browser pages (login, consent screen, dashboard) are not in it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from broker.keys import SETTINGS
from broker.openapi_parts import (
    CLIENT_AUTH,
    DETAILS,
    admin_paths,
    content,
    form,
    oauth_errors,
    ops_paths,
    problems,
    resident_json,
    string_props,
)


def _oauth_paths() -> dict[str, Any]:
    token_response = {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in", "grant_id"],
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer"},
            "refresh_token": {"type": "string"},
            "grant_id": {"type": "string"},
            "authorization_details": DETAILS,
        },
    }
    par_props = string_props(
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "code_challenge",
        "code_challenge_method",
        "authorization_details",
    )
    grant_id = [{"name": "grant_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    grant_body = {
        "type": "object",
        "required": ["grant_id", "status", "authorization_details"],
        "properties": {
            "grant_id": {"type": "string"},
            "status": {"type": "string"},
            "authorization_details": DETAILS,
        },
    }
    return {
        "/oauth/par": {
            "post": {
                "summary": "Pushed authorization request (RFC 9126)",
                "security": CLIENT_AUTH,
                "requestBody": form(par_props, ["response_type", "redirect_uri"]),
                "responses": {
                    "201": {
                        "description": "request_uri",
                        **content(
                            {
                                "type": "object",
                                "required": ["request_uri", "expires_in"],
                                "properties": {
                                    "request_uri": {"type": "string"},
                                    "expires_in": {"type": "integer"},
                                },
                            }
                        ),
                    },
                    **oauth_errors(),
                },
            }
        },
        "/oauth/token": {
            "post": {
                "summary": "Token endpoint (RFC 6749 §3.2)",
                "security": CLIENT_AUTH,
                "requestBody": form(
                    string_props(
                        "grant_type", "code", "redirect_uri", "code_verifier", "refresh_token"
                    ),
                    ["grant_type"],
                ),
                "responses": {
                    "200": {"description": "tokens", **content(token_response)},
                    **oauth_errors(),
                },
            }
        },
        "/oauth/revoke": {
            "post": {
                "summary": "Token revocation (RFC 7009)",
                "security": CLIENT_AUTH,
                "requestBody": form(string_props("token", "token_type_hint"), ["token"]),
                "responses": {
                    "200": {"description": "revoked, or never existed"},
                    **oauth_errors(),
                },
            }
        },
        "/oauth/introspect": {
            "post": {
                "summary": "Token introspection (RFC 7662)",
                "security": CLIENT_AUTH,
                "requestBody": form(string_props("token", "token_type_hint"), ["token"]),
                "responses": {
                    "200": {
                        "description": "state of the token",
                        **content(
                            {
                                "type": "object",
                                "required": ["active"],
                                "properties": {"active": {"type": "boolean"}},
                            }
                        ),
                    },
                    **oauth_errors(),
                },
            }
        },
        "/oauth/grants/{grant_id}": {
            "get": {
                "summary": "Grant management: query",
                "security": CLIENT_AUTH,
                "parameters": grant_id,
                "responses": {
                    "200": {"description": "the grant", **content(grant_body)},
                    **oauth_errors(),
                },
            },
            "delete": {
                "summary": "Grant management: revoke",
                "security": CLIENT_AUTH,
                "parameters": grant_id,
                "responses": {"204": {"description": "ended"}, **oauth_errors()},
            },
        },
    }


def _discovery_paths() -> dict[str, Any]:
    any_object = {"type": "object"}
    jwks = {
        "type": "object",
        "required": ["keys"],
        "properties": {"keys": {"type": "array", "items": any_object}},
    }
    return {
        "/.well-known/oauth-authorization-server": {
            "get": {
                "summary": "Authorization server metadata (RFC 8414)",
                "responses": {
                    "200": {
                        "description": "metadata",
                        **content(
                            {"type": "object", "required": ["issuer", "token_endpoint", "jwks_uri"]}
                        ),
                    }
                },
            }
        },
        "/jwks.json": {
            "get": {
                "summary": "Published signing keys: the current one and those not yet retired",
                "responses": {"200": {"description": "JWK Set", **content(jwks)}},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1", **content(any_object)}},
            }
        },
    }


def _data_paths() -> dict[str, Any]:
    def path_param(name: str) -> dict[str, Any]:
        return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}

    def date_param(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "string", "format": "date"},
        }

    return {
        "/v1/data/{holder}/{resource}": {
            "get": {
                "summary": "Pull a resource from the holder, streamed through (docs/wire.md)",
                "security": [{"bearerAccessToken": []}],
                "parameters": [
                    path_param("holder"),
                    path_param("resource"),
                    date_param("start"),
                    date_param("end"),
                ],
                "responses": {
                    "200": {"description": "the holder's body, unchanged", **content({})},
                    **problems(),
                },
            }
        },
        **resident_json("/consents/{consent_id}/receipt.json", "signed consent receipt"),
        **resident_json(
            "/consents/{consent_id}/receipts/{revision}.json", "receipt of one revision"
        ),
        **resident_json("/account/export.json", "export of all the broker knows about them"),
    }


def document(issuer: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Aiguillage",
            "version": "1",
            "description": "Consent-driven data-portability broker (docs/wire.md).",
        },
        "servers": [{"url": issuer}],
        "paths": _discovery_paths() | _oauth_paths() | _data_paths() | admin_paths() | ops_paths(),
        "components": {
            "securitySchemes": {
                "clientSecretBasic": {"type": "http", "scheme": "basic"},
                "privateKeyJwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "RFC 7523 assertion (form, or bearer on grants)",
                },
                "bearerAccessToken": {"type": "http", "scheme": "bearer"},
                "operatorToken": {"type": "http", "scheme": "bearer"},
            }
        },
    }


async def serve_openapi(request: web.Request) -> web.Response:
    return web.json_response(document(request.app[SETTINGS].issuer))


def setup(app: web.Application) -> None:
    app.router.add_get("/openapi.json", serve_openapi)
