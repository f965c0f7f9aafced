"""The operator's and the resident's JSON endpoints in the OpenAPI document
(``broker/openapi.py`` assembles it): the admin API, probes, and the resident's JSON
documents; and the schema pieces both files share."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
PROBLEM = "application/problem+json"
FORM = "application/x-www-form-urlencoded"

OAUTH_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "reason": {"type": "string"},
    },
}
DETAILS = {"type": "array", "items": {"type": "object"}}
CLIENT_AUTH: list[dict[str, list[str]]] = [{"clientSecretBasic": []}, {"privateKeyJwt": []}]
ASSERTION = {
    "client_assertion_type": {"type": "string"},
    "client_assertion": {"type": "string"},
}


def content(schema: dict[str, Any], media: str = JSON) -> dict[str, Any]:
    return {"content": {media: {"schema": schema}}}


def oauth_errors() -> dict[str, Any]:
    return {"4XX": {"description": "RFC 6749 error", **content(OAUTH_ERROR)}}


def problems() -> dict[str, Any]:
    return {"4XX": {"description": "RFC 9457 problem", **content(PROBLEM_SCHEMA, PROBLEM)}}


def form(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties | ASSERTION, "required": required}
    return {"required": True, **content(schema, FORM)}


def string_props(*names: str) -> dict[str, Any]:
    return {name: {"type": "string"} for name in names}


def resident_json(path: str, what: str) -> dict[str, Any]:
    """A JSON document of the logged-in resident (session cookie; else to the login page)."""
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    parameters = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]
    responses = {
        "200": {"description": what, **content({"type": "object"})},
        "303": {"description": "to the login page"},
        **problems(),
    }
    summary = f"The resident's {what}"
    return {path: {"get": {"summary": summary, "parameters": parameters, "responses": responses}}}


def admin_paths() -> dict[str, Any]:
    """The operator's admin API (``broker/admin/``): bearer operator token, JSON bodies."""
    any_object: dict[str, Any] = {"type": "object"}
    body = {"required": True, **content(any_object)}

    def op(
        summary: str,
        ok: str,
        *,
        params: tuple[str, ...] = (),
        sends: bool = False,
        operator: bool = True,
    ) -> dict[str, Any]:
        answer: dict[str, Any] = {"description": summary}
        if ok != "204":
            answer |= content(any_object)
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                for n in params
            ],
            "responses": {ok: answer, **problems()},
        }
        if operator:
            operation["security"] = [{"operatorToken": []}]
        if sends:
            operation["requestBody"] = body
        return operation

    return {
        "/v1/schemas/holder-manifest.json": {
            "get": op("JSON Schema of a holder manifest", "200", operator=False)
        },
        "/v1/holders": {
            "get": op("Registered holders, without secrets", "200", operator=False),
            "post": op("Register a holder", "201", sends=True),
        },
        "/v1/holders/{holder}": {
            "put": op("Replace a holder's manifest", "200", params=("holder",), sends=True)
        },
        "/v1/services": {
            "get": op("Registered services", "200"),
            "post": op("Register a service (starts pending)", "201", sends=True),
        },
        "/v1/services/{client_id}/approve": {
            "post": op("Approve a service", "200", params=("client_id",))
        },
        "/v1/holders/{holder}/blacklist": {
            "get": op("A holder's blacklist", "200", params=("holder",)),
            "post": op("Blacklist a service", "200", params=("holder",), sends=True),
        },
        "/v1/holders/{holder}/blacklist/{service}": {
            "delete": op("Lift a blacklist entry", "204", params=("holder", "service"))
        },
        "/v1/holders/{holder}/revocations": {
            "post": op(
                "A holder's signed revocation notice (HS256 with its webhook secret)",
                "200",
                params=("holder",),
                sends=True,
                operator=False,
            )
        },
        "/v1/consents/{grant_id}/revoke": {
            "post": op(
                "End a consent as the operator, with a reason",
                "200",
                params=("grant_id",),
                sends=True,
            )
        },
    }


def ops_paths() -> dict[str, Any]:
    status = {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string"}},
    }
    return {
        "/healthz": {
            "get": {
                "summary": "Liveness",
                "responses": {"200": {"description": "alive", **content(status)}},
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: database reachable and migrated",
                "responses": {
                    "200": {"description": "ready", **content(status)},
                    "503": {"description": "not ready", **content(status)},
                },
            }
        },
    }
