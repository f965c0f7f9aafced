"""Records the tests start from: an Enedis-like holder, an approved carbon coach, and a
consent in any state of the state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from consent.details import AuthorizationDetail
from consent.model import Actor, Consent, ConsentState
from consent.registry import (
    ContractTerms,
    DeclaredPurpose,
    HolderManifest,
    ResourceSpec,
    ServiceRegistration,
    ServiceStatus,
)

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
PRM = "12345678901234"
HOLDER = "enedis"
SERVICE = "carbon-coach"
RESIDENT = "alice"

DAILY = "daily_consumption"
LOAD_CURVE = "consumption_load_curve"
IDENTITY = "identity"


def detail_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "personal_data_transfer",
        "holder": HOLDER,
        "resources": [DAILY, LOAD_CURVE],
        "purpose": "energy_coaching",
        "data_window": {"history": "P12M", "include_future": True},
        "frequency": "daily",
        "duration": "P1Y",
    }
    data.update(overrides)
    return data


def detail(**overrides: Any) -> AuthorizationDetail:
    return AuthorizationDetail.model_validate(detail_data(**overrides))


def manifest(**contract: Any) -> HolderManifest:
    return HolderManifest(
        id=HOLDER,
        name="Enedis",
        protocol="enedis-dataconnect",
        base_url="https://enedis.example",
        authorization_endpoint="https://enedis.example/authorize",
        token_endpoint="https://enedis.example/token",
        resources=[
            ResourceSpec(
                name=DAILY,
                path="/metering_data_dc/v5/daily_consumption",
                description_fr="Consommation quotidienne",
                history_days=1110,
            ),
            ResourceSpec(
                name=LOAD_CURVE,
                path="/metering_data_clc/v5/consumption_load_curve",
                description_fr="Courbe de charge",
                max_days_per_call=7,
                history_days=730,
            ),
            ResourceSpec(
                name=IDENTITY,
                path="/customers_i/v5/identity",
                description_fr="Identité",
                dated=False,
            ),
        ],
        contract=ContractTerms(**contract),
    )


def service(
    *,
    status: ServiceStatus = ServiceStatus.APPROVED,
    purposes: tuple[str, ...] = ("energy_coaching", "carbon_footprint"),
) -> ServiceRegistration:
    return ServiceRegistration(
        client_id=SERVICE,
        name="Carbon Coach",
        redirect_uris=["https://coach.example/callback"],
        purposes=[DeclaredPurpose(code=p, sentence_fr="Pour vous aider") for p in purposes],
        privacy_policy_url="https://coach.example/privacy",
        status=status,
    )


def requested(consent_id: str = "grant-1", subject: str = RESIDENT, **overrides: Any) -> Consent:
    return Consent.requested_by(
        consent_id=consent_id,
        subject=subject,
        service=SERVICE,
        detail=detail(**overrides),
        now=NOW,
    )


def active(consent_id: str = "grant-1", subject: str = RESIDENT, **overrides: Any) -> Consent:
    consent = requested(consent_id, subject, **overrides)
    consent.accept(NOW)
    consent.link_holder(PRM, NOW)
    return consent


def in_state(state: ConsentState) -> Consent:
    """A consent that reached ``state`` along the legal path."""
    consent = requested()
    if state is ConsentState.REQUESTED:
        return consent
    if state is ConsentState.REFUSED:
        consent.refuse(NOW)
        return consent
    if state is ConsentState.TIMED_OUT:
        consent.time_out(NOW)
        return consent
    consent.accept(NOW)
    if state is ConsentState.AWAITING_HOLDER:
        return consent
    if state is ConsentState.FAILED:
        consent.fail(NOW, "holder refused the link")
        return consent
    consent.link_holder(PRM, NOW)
    ends: dict[ConsentState, Actor] = {
        ConsentState.REVOKED_BY_RESIDENT: Actor(kind="resident", id=RESIDENT),
        ConsentState.REVOKED_BY_HOLDER: Actor(kind="holder", id=HOLDER),
        ConsentState.TERMINATED_BY_SERVICE: Actor(kind="service", id=SERVICE),
    }
    if state in ends:
        consent.revoke(ends[state], NOW, "done")
    elif state is ConsentState.EXPIRED:
        assert consent.expires_at is not None
        consent.expire(consent.expires_at)
    elif state is ConsentState.PAUSED:
        consent.pause(NOW)
    assert consent.state is state
    return consent
