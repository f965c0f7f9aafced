"""``validate_request``: may this service ask this holder for this, for this long?"""

from __future__ import annotations

from typing import Any

import pytest

from consent.errors import InvalidRequest
from consent.policy import validate_request
from consent.registry import HolderManifest, ServiceRegistration, ServiceStatus

from .builders import DAILY, IDENTITY, LOAD_CURVE, SERVICE, detail, manifest, service


def _refused(
    match: str,
    *,
    terms: HolderManifest | None = None,
    svc: ServiceRegistration | None = None,
    **overrides: Any,
) -> None:
    with pytest.raises(InvalidRequest, match=match):
        validate_request(detail(**overrides), terms or manifest(), svc or service())


def test_an_approved_service_asking_within_every_limit_is_accepted() -> None:
    validate_request(detail(), manifest(), service())


@pytest.mark.parametrize("status", [ServiceStatus.PENDING, ServiceStatus.SUSPENDED])
def test_a_service_the_operator_has_not_approved_may_not_ask(status: ServiceStatus) -> None:
    _refused("not approved", svc=service(status=status))


def test_a_request_to_an_unknown_holder_is_refused() -> None:
    _refused("unknown holder", holder="grdf")


def test_a_resource_the_holder_does_not_offer_is_refused() -> None:
    _refused("no resource gas_index", resources=[DAILY, "gas_index"])


def test_a_purpose_outside_the_operators_list_is_refused() -> None:
    _refused("purpose list", purpose="advertising")


def test_a_purpose_the_service_did_not_declare_is_refused() -> None:
    _refused("did not declare", purpose="budget")


def test_a_purpose_the_holder_does_not_serve_is_refused() -> None:
    _refused("does not serve the purpose", terms=manifest(allowed_purposes=["carbon_footprint"]))


def test_a_purpose_the_holder_allows_is_accepted() -> None:
    validate_request(
        detail(purpose="carbon_footprint"),
        manifest(allowed_purposes=["carbon_footprint"]),
        service(),
    )


def test_a_service_the_holder_has_blocked_may_not_ask() -> None:
    _refused(f"does not serve {SERVICE}", terms=manifest(blocked_services=[SERVICE]))


@pytest.mark.parametrize("duration", ["P3Y", "P36M", "P2Y12M"])
def test_a_duration_up_to_the_holder_cap_is_accepted(duration: str) -> None:
    validate_request(detail(duration=duration), manifest(), service())


@pytest.mark.parametrize("duration", ["P3Y1D", "P37M", "P4Y", "P157W"])
def test_a_duration_over_the_holder_cap_is_refused(duration: str) -> None:
    _refused("caps consents at P3Y", duration=duration)


def test_history_beyond_what_the_holder_keeps_for_a_resource_is_refused() -> None:
    # The load curve keeps 730 days; 25 months is more.
    _refused(
        f"{LOAD_CURVE}: holder keeps only 730 days",
        data_window={"history": "P25M", "include_future": True},
    )


def test_history_within_what_every_asked_resource_keeps_is_accepted() -> None:
    validate_request(
        detail(resources=[DAILY, LOAD_CURVE], data_window={"history": "P730D"}),
        manifest(),
        service(),
    )


def test_long_history_is_fine_for_a_resource_that_keeps_it() -> None:
    validate_request(
        detail(resources=[DAILY, IDENTITY], data_window={"history": "P36M"}), manifest(), service()
    )
