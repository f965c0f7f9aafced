"""Consent receipts: their content, built from the records alone, and their signature."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broker.crypto import Signer
from broker.receipts import build_receipt, receipt_id, sign_receipt
from consent.model import Actor, ConsentState
from tests.unit.consent.builders import (
    LATER,
    NOW,
    PRM,
    RESIDENT,
    active,
    in_state,
    manifest,
    service,
)

ISSUER = "https://aiguillage.example"


def test_an_active_consent_receipt_names_every_party_purpose_and_limit() -> None:
    consent = active()
    receipt = build_receipt(consent, service(), manifest(), issuer=ISSUER, now=LATER)
    assert receipt["schema_version"].startswith("ISO/IEC TS 27560")
    assert receipt["timestamp"] == LATER.isoformat()
    assert receipt["controller"]["client_id"] == "carbon-coach"
    assert receipt["controller"]["privacy_policy"] == "https://coach.example/privacy"
    assert receipt["data_source"] == {"role": "dpv:DataSource", "id": "enedis", "name": "Enedis"}
    assert receipt["data_subject"] == {"role": "dpv:DataSubject", "id": RESIDENT}
    assert receipt["legal_basis"] == "dpv:Consent"
    purpose = receipt["purposes"][0]
    assert purpose["code"] == "energy_coaching"
    assert purpose["dpv_category"] == "dpv:ServiceProvision"
    assert purpose["description_fr"] == "Pour vous aider"
    assert [c["code"] for c in receipt["personal_data_categories"]] == [
        "daily_consumption",
        "consumption_load_curve",
    ]
    processing = receipt["processing"]
    assert processing["operations"] == ["dpv:Transfer"]
    assert processing["data_window"]["history"] == "P12M"
    assert processing["frequency"] == "daily"
    assert processing["expires_at"] == consent.expires_at.isoformat()  # type: ignore[union-attr]
    assert receipt["withdrawal"]["url"] == f"{ISSUER}/consents/{consent.id}"
    assert receipt["status"] == {
        "state": "active",
        "dpv_status": "dpv:ConsentGiven",
        "at": NOW.isoformat(),
        "ended_by": None,
        "reason": None,
    }
    assert receipt["revision"] == 1


def test_a_receipt_holds_no_holder_side_identifier() -> None:
    receipt = build_receipt(active(), service(), manifest(), issuer=ISSUER, now=LATER)
    assert PRM not in json.dumps(receipt)


@pytest.mark.parametrize(
    ("state", "dpv"),
    [
        (ConsentState.REVOKED_BY_RESIDENT, "dpv:ConsentWithdrawn"),
        (ConsentState.EXPIRED, "dpv:ConsentExpired"),
        (ConsentState.REFUSED, "dpv:ConsentRefused"),
        (ConsentState.REQUESTED, "dpv:ConsentRequested"),
    ],
)
def test_the_status_follows_the_state_machine(state: ConsentState, dpv: str) -> None:
    receipt = build_receipt(in_state(state), service(), manifest(), issuer=ISSUER, now=LATER)
    assert receipt["status"]["dpv_status"] == dpv


def test_a_revocation_is_dated_when_it_happened() -> None:
    consent = active()
    consent.revoke(Actor(kind="resident", id=RESIDENT), LATER, "revoked_by_resident")
    receipt = build_receipt(consent, service(), manifest(), issuer=ISSUER, now=LATER)
    assert receipt["status"]["at"] == LATER.isoformat()
    assert receipt["status"]["reason"] == "revoked_by_resident"


def test_the_receipt_id_is_stable_for_a_state_and_changes_with_it() -> None:
    consent = active()
    first = receipt_id(ISSUER, consent)
    assert first == receipt_id(ISSUER, consent)
    consent.revoke(Actor(kind="resident", id=RESIDENT), LATER, "revoked_by_resident")
    assert receipt_id(ISSUER, consent) != first


def test_the_signature_covers_the_canonical_receipt(tmp_path: Path) -> None:
    signer = Signer.load_or_create(tmp_path / "key.json")
    receipt = build_receipt(active(), service(), manifest(), issuer=ISSUER, now=LATER)
    signed = sign_receipt(receipt, signer, ISSUER)
    assert signed["jwks_uri"] == f"{ISSUER}/jwks.json"
    assert signer.verify(signed["signature"]) == receipt


def test_every_state_has_a_dpv_status_including_paused() -> None:
    from broker.receipts import _DPV_STATUS
    from consent.model import ConsentState

    assert set(_DPV_STATUS) == set(ConsentState)
    assert _DPV_STATUS[ConsentState.PAUSED] == "dpv:ConsentGiven"
