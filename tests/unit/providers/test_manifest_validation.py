"""Holder manifests, property-based: every well-formed manifest is accepted and survives a
JSON round trip; each kind of fault is refused with the faulty field named."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from broker.operator import HolderRegistrationFile

names = st.from_regex(r"^[a-z][a-z0-9_]{0,20}$", fullmatch=True)
segments = st.from_regex(r"^[A-Za-z0-9_.-]{1,12}$", fullmatch=True)
paths = st.lists(segments, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    resource_names = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    return {
        "id": draw(names),
        "name": draw(st.text(min_size=1, max_size=40).filter(str.strip)),
        "protocol": draw(st.sampled_from(["enedis-dataconnect", "generic-oauth2", "grdf-adict"])),
        "base_url": "https://holder.example",
        "authorization_endpoint": "https://holder.example/authorize",
        "token_endpoint": "https://holder.example/token",
        "resources": [
            {
                "name": name,
                "path": draw(paths),
                "description_fr": "Des données",
                "max_days_per_call": draw(st.integers(1, 3650)),
                "history_days": draw(st.integers(1, 36500)),
                "dated": draw(st.booleans()),
                "parameters": {"start": draw(names), "end": draw(names)},
            }
            for name in resource_names
        ],
        "contract": {
            "requests_per_second": draw(st.floats(0.01, 100)),
            "requests_per_hour": draw(st.integers(1, 10**6)),
            "bytes_per_day": draw(st.integers(1, 10**12)),
        },
    }


def _file(manifest: dict[str, Any]) -> dict[str, Any]:
    return {"manifest": manifest, "client_id": "broker", "client_secret": "s"}


@given(manifests())
def test_well_formed_manifests_are_accepted_and_round_trip(manifest: dict[str, Any]) -> None:
    parsed = HolderRegistrationFile.model_validate(_file(manifest)).manifest
    again = HolderRegistrationFile.model_validate(_file(parsed.model_dump(mode="json"))).manifest
    assert again == parsed


FAULTS = [
    (lambda m: m.update(id="Bad Id!"), "manifest.id"),
    (lambda m: m.update(protocol="carrier-pigeon"), "manifest"),
    (lambda m: m.update(base_url="not a url"), "manifest.base_url"),
    (lambda m: m["resources"][0].update(path="relative/path"), "manifest.resources.0.path"),
    (lambda m: m["resources"][0].update(path="/a/../{x y}"), "manifest.resources.0.path"),
    (
        lambda m: m["resources"][0].update(max_days_per_call=0),
        "manifest.resources.0.max_days_per_call",
    ),
    (lambda m: m["resources"][0].update(description_fr=""), "manifest.resources.0.description_fr"),
    (lambda m: m["resources"].append(dict(m["resources"][0])), "manifest.resources"),
    (
        lambda m: m["resources"][0].update(parameters={"start": "a b"}),
        "manifest.resources.0.parameters.start",
    ),
    (lambda m: m["contract"].update(requests_per_hour=0), "manifest.contract.requests_per_hour"),
    (lambda m: m.update(max_consent_duration="forever"), "manifest.max_consent_duration"),
    (lambda m: m.update(surprise=1), "manifest.surprise"),
]


@pytest.mark.parametrize(("fault", "field"), FAULTS)
@given(manifest=manifests())
def test_each_fault_is_refused_naming_its_field(
    fault: Any, field: str, manifest: dict[str, Any]
) -> None:
    fault(manifest)
    with pytest.raises(ValidationError) as caught:
        HolderRegistrationFile.model_validate(_file(manifest))
    fields = [".".join(str(p) for p in e["loc"]) for e in caught.value.errors()]
    assert field in fields


@given(st.text(max_size=31))
def test_a_short_webhook_secret_is_refused(secret: str) -> None:
    base = {
        "id": "eau",
        "name": "Eau",
        "protocol": "generic-oauth2",
        "base_url": "https://h.example",
        "authorization_endpoint": "https://h.example/a",
        "token_endpoint": "https://h.example/t",
        "resources": [{"name": "daily", "path": "/d", "description_fr": "Eau"}],
    }
    with pytest.raises(ValidationError) as caught:
        HolderRegistrationFile.model_validate({**_file(base), "webhook_secret": secret})
    assert caught.value.errors()[0]["loc"] == ("webhook_secret",)
