"""Property-based tests (hypothesis) on the parsers that read what others send: the
``authorization_details`` text of a PAR, holder manifests and service registrations, and
holder responses (a metering document, a token lifetime). Whatever the input, each parser
answers with a value or its own refusal — never another exception.

The domain parser of one detail object is covered in ``tests/unit/consent/test_details.py``
and the streamed record counter in ``tests/unit/broker/test_record_counter.py``.
"""

from __future__ import annotations

import json
import math
from contextlib import suppress
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from broker.oauth.errors import InvalidAuthorizationDetails
from broker.oauth.par import _parse_details
from consent.details import AuthorizationDetail
from consent.registry import HolderManifest, ServiceRegistration
from providers.base import HolderUnavailable
from providers.enedis.access_token import _seconds
from providers.enedis.stitch import meter_reading
from tests.support.flow import DEFAULT_DETAILS

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Near-valid details: the real one with members dropped, replaced or added.
near_details = st.builds(
    lambda drop, extra: {k: v for k, v in DEFAULT_DETAILS.items() if k not in drop} | extra,
    st.sets(st.sampled_from(sorted(DEFAULT_DETAILS))),
    st.dictionaries(st.sampled_from([*DEFAULT_DETAILS, "x"]), json_values, max_size=3),
)
runs = settings(max_examples=200, deadline=None)


@runs
@given(
    st.text(max_size=300)
    | json_values.map(json.dumps)
    | near_details.map(lambda d: json.dumps([d]))
)
def test_authorization_details_text_parses_or_is_refused(text: str) -> None:
    try:
        parsed = _parse_details(text)
    except InvalidAuthorizationDetails as refusal:
        assert refusal.error == "invalid_authorization_details"
    else:
        assert isinstance(parsed, AuthorizationDetail)


def _manifest_like(changes: dict[str, Any]) -> dict[str, Any]:
    from tests.support.stack import EXAMPLES

    manifest = json.loads((EXAMPLES / "holder-enedis-simulator.json").read_text())["manifest"]
    return dict(manifest) | changes


@runs
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "base_url",
                "resources",
                "protocol",
                "contract",
                "max_consent_duration",
                "name",
                "extra",
            ]
        ),
        json_values,
        max_size=3,
    )
)
def test_a_holder_manifest_validates_or_is_refused(changes: dict[str, Any]) -> None:
    with suppress(ValidationError):
        HolderManifest.model_validate(_manifest_like(changes))


@runs
@given(json_values)
def test_a_service_registration_validates_or_is_refused(value: Any) -> None:
    with suppress(ValidationError):
        ServiceRegistration.model_validate(value)


@runs
@given(json_values)
def test_a_holder_metering_document_is_read_or_refused(value: Any) -> None:
    document = value if isinstance(value, dict) else {"meter_reading": value}
    try:
        reading = meter_reading(document)
    except HolderUnavailable:
        return
    assert isinstance(reading["interval_reading"], list)


@runs
@given(json_values | st.sampled_from(["nan", "inf", "-inf", "1e400", 1e400, "3600", 3600]))
def test_a_holder_token_lifetime_is_a_finite_number_or_nothing(value: Any) -> None:
    seconds = _seconds(value)
    assert seconds is None or (isinstance(seconds, float) and math.isfinite(seconds))
