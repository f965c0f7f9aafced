"""The ``personal_data_transfer`` authorization detail (RFC 9396) is parsed strictly:
what is accepted here is what the resident is asked to approve."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from consent.details import AuthorizationDetail, DataWindow, Frequency

from .builders import DAILY, LOAD_CURVE, detail_data


def test_a_minimal_detail_takes_the_documented_defaults() -> None:
    parsed = AuthorizationDetail.model_validate(
        {
            "type": "personal_data_transfer",
            "holder": "enedis",
            "resources": [DAILY],
            "purpose": "energy_coaching",
        }
    )
    assert parsed.data_window == DataWindow(history="P12M", include_future=True)
    assert parsed.frequency is Frequency.ONE_OFF
    assert parsed.duration == "P1Y"
    assert parsed.consent_duration.years == 1


def test_a_full_detail_parses_from_json() -> None:
    parsed = AuthorizationDetail.model_validate_json(json.dumps(detail_data()))
    assert parsed.resources == [DAILY, LOAD_CURVE]
    assert parsed.frequency is Frequency.DAILY
    assert parsed.data_window.history_duration.months == 12


@pytest.mark.parametrize(
    "data",
    [
        detail_data(scope="everything"),
        detail_data(data_window={"history": "P12M", "include_future": True, "past": "P9Y"}),
    ],
    ids=["top-level", "in-data-window"],
)
def test_an_unknown_member_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=r"[Ee]xtra"):
        AuthorizationDetail.model_validate(data)


def test_a_repeated_resource_is_refused() -> None:
    with pytest.raises(ValidationError, match="must not repeat"):
        AuthorizationDetail.model_validate(detail_data(resources=[DAILY, LOAD_CURVE, DAILY]))


@pytest.mark.parametrize("member", ["holder", "purpose"])
@pytest.mark.parametrize(
    "name",
    ["", "Enedis", "-enedis", "_x", ".x", "en edis", "énergie", "enedis\n", "a/b", "x" * 65],
)
def test_a_badly_formed_name_is_refused(member: str, name: str) -> None:
    with pytest.raises(ValidationError):
        AuthorizationDetail.model_validate(detail_data(**{member: name}))


@pytest.mark.parametrize("name", ["", "Daily", "daily consumption", "x" * 65, "daily\n"])
def test_a_badly_formed_resource_name_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        AuthorizationDetail.model_validate(detail_data(resources=[DAILY, name]))


def test_the_longest_allowed_names_are_accepted() -> None:
    parsed = AuthorizationDetail.model_validate(detail_data(holder="x" * 64, purpose="0.a-b_c"))
    assert parsed.holder == "x" * 64


@pytest.mark.parametrize(
    "overrides",
    [
        {"type": "openid_credential"},
        {"type": None},
        {"holder": 123},
        {"holder": ["enedis"]},
        {"resources": DAILY},
        {"resources": [1, 2]},
        {"resources": {DAILY: True}},
        {"resources": []},
        {"resources": [f"r{i}" for i in range(33)]},
        {"purpose": None},
        {"data_window": ["P12M"]},
        {"data_window": "P12M"},
        {"data_window": {"history": 12}},
        {"data_window": {"include_future": "maybe"}},
        {"data_window": {"history": "twelve months"}},
        {"data_window": {"history": "P12M\n"}},
        {"frequency": "weekly"},
        {"frequency": 1},
        {"duration": 1},
        {"duration": "P5"},
        {"duration": "PT1H"},
        {"duration": "P0D"},
    ],
    ids=repr,
)
def test_a_member_of_the_wrong_type_or_value_is_a_validation_error(
    overrides: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError):
        AuthorizationDetail.model_validate(detail_data(**overrides))


@pytest.mark.parametrize("member", ["type", "holder", "resources", "purpose"])
def test_a_required_member_cannot_be_left_out(member: str) -> None:
    data = detail_data()
    del data[member]
    with pytest.raises(ValidationError):
        AuthorizationDetail.model_validate(data)


def test_a_parsed_detail_cannot_be_changed_afterwards() -> None:
    parsed = AuthorizationDetail.model_validate(detail_data())
    with pytest.raises(ValidationError):
        parsed.holder = "grdf"  # type: ignore[misc]


# -- property-based: whatever arrives, the answer is a detail or a ValidationError -------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
plausible_names = st.sampled_from(["enedis", "daily_consumption", "x", "", "A", "a b", "é"])
plausible_durations = st.sampled_from(["P1Y", "P12M", "P", "1Y", "PT1H", "P0D", "P1Y\n"]) | st.text(
    alphabet="PYMWD0123456789-T", max_size=8
)
member_values: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(["personal_data_transfer", "other"]) | json_values,
    "holder": plausible_names | json_values,
    "resources": st.lists(plausible_names, max_size=4) | json_values,
    "purpose": plausible_names | json_values,
    "data_window": st.fixed_dictionaries(
        {},
        optional={
            "history": plausible_durations | json_values,
            "include_future": st.booleans() | json_values,
            "extra": json_values,
        },
    )
    | json_values,
    "frequency": st.sampled_from([f.value for f in Frequency]) | json_values,
    "duration": plausible_durations | json_values,
    "unexpected": json_values,
}
near_details = st.fixed_dictionaries({}, optional=member_values)


def _parses_or_validation_error(data: Any) -> None:
    try:
        parsed = AuthorizationDetail.model_validate(data)
    except ValidationError:
        return
    # What got through is a detail the rest of the domain can rely on.
    assert parsed.type == "personal_data_transfer"
    assert parsed.resources and len(set(parsed.resources)) == len(parsed.resources)
    assert parsed.consent_duration.approx_days() > 0
    assert parsed.data_window.history_duration.approx_days() > 0
    assert AuthorizationDetail.model_validate_json(parsed.model_dump_json()) == parsed


@given(json_values)
def test_arbitrary_json_is_a_detail_or_a_validation_error(data: Any) -> None:
    _parses_or_validation_error(data)


@given(near_details)
def test_nearly_valid_details_are_a_detail_or_a_validation_error(data: dict[str, Any]) -> None:
    _parses_or_validation_error(data)


@given(near_details)
def test_json_text_is_a_detail_or_a_validation_error(data: dict[str, Any]) -> None:
    try:
        text = json.dumps(data)
    except ValueError:
        return
    with contextlib.suppress(ValidationError):
        AuthorizationDetail.model_validate_json(text)
