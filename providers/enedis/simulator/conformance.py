"""Check a JSON document against a Swagger 2.0 response schema (the subset Enedis uses).

The simulator's tests use it to prove that the simulator speaks Enedis's published shapes.
It resolves local ``$ref`` (``#/definitions/...``) and checks ``type``, ``required``,
``properties``, ``items`` and ``enum``. Enedis writes some enums as ``"CODE : label"``
(``"BRUT : Données brutes"``, ``"PT30M : Pas de 30 minutes"``) while the wire carries
``CODE`` alone, as its own examples show, so such an entry admits its code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def response_schema(
    document: Mapping[str, Any], path: str, status: str = "200", method: str = "get"
) -> dict[str, Any]:
    """The schema of one response, ``$ref`` resolved at its top level."""
    response = document["paths"][path][method]["responses"][status]
    return resolve(document, response.get("schema", {}))


def resolve(document: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    seen: set[str] = set()
    while "$ref" in schema:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            raise ValueError(f"unsupported or circular $ref {ref!r}")
        seen.add(ref)
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        schema = target
    return dict(schema)


def violations(
    document: Mapping[str, Any],
    schema: Mapping[str, Any],
    instance: Any,
    *,
    check_enums: bool = True,
    where: str = "$",
) -> list[str]:
    """Every way ``instance`` departs from ``schema``, as readable strings; [] if none."""
    schema = resolve(document, schema)
    problems: list[str] = []
    expected = schema.get("type")
    if expected is not None:
        allowed = _TYPES[expected]
        wrong_bool = isinstance(instance, bool) and expected in ("integer", "number")
        if not isinstance(instance, allowed) or wrong_bool:
            return [f"{where}: expected {expected}, got {type(instance).__name__}"]
    if check_enums and "enum" in schema and not _in_enum(instance, schema["enum"]):
        problems.append(f"{where}: {instance!r} not in {schema['enum']!r}")
    if isinstance(instance, dict):
        problems += [
            f"{where}: missing {name!r}"
            for name in schema.get("required", [])
            if name not in instance
        ]
        for name, sub in schema.get("properties", {}).items():
            if name in instance:
                problems += violations(
                    document, sub, instance[name], check_enums=check_enums, where=f"{where}.{name}"
                )
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            problems += violations(
                document, schema["items"], item, check_enums=check_enums, where=f"{where}[{index}]"
            )
    return problems


def _in_enum(value: Any, enum: list[Any]) -> bool:
    codes = {e.split(" : ", 1)[0] if isinstance(e, str) else e for e in enum}
    return value in enum or value in codes
