"""The small Swagger 2.0 checker the simulator's e2e tests rely on."""

from __future__ import annotations

from typing import Any

from providers.enedis.simulator.conformance import resolve, response_schema, violations

DOC: dict[str, Any] = {
    "swagger": "2.0",
    "paths": {"/x": {"get": {"responses": {"200": {"schema": {"$ref": "#/definitions/Body"}}}}}},
    "definitions": {
        "Body": {
            "type": "object",
            "required": ["reading"],
            "properties": {"reading": {"type": "array", "items": {"$ref": "#/definitions/R"}}},
        },
        "R": {
            "type": "object",
            "required": ["value", "interval_length"],
            "properties": {
                "value": {"type": "string"},
                "interval_length": {"type": "string", "enum": ["PT30M : Pas de 30 minutes"]},
            },
        },
    },
}


def test_resolves_refs_and_accepts_a_conforming_document() -> None:
    schema = response_schema(DOC, "/x")
    assert schema["required"] == ["reading"]
    body = {"reading": [{"value": "1", "interval_length": "PT30M"}]}
    assert violations(DOC, schema, body) == []


def test_reports_missing_fields_wrong_types_and_enum_values() -> None:
    schema = resolve(DOC, {"$ref": "#/definitions/Body"})
    body = {"reading": [{"value": 1, "interval_length": "PT10M"}, {}]}
    problems = violations(DOC, schema, body)
    assert "$.reading[0].value: expected string, got int" in problems
    assert any("PT10M" in p for p in problems)
    assert "$.reading[1]: missing 'value'" in problems
    assert violations(DOC, schema, body, check_enums=False) == [
        "$.reading[0].value: expected string, got int",
        "$.reading[1]: missing 'value'",
        "$.reading[1]: missing 'interval_length'",
    ]
