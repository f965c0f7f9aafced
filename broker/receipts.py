"""Consent receipts, shaped after ISO/IEC TS 27560 (consent record information structure)
with W3C Data Privacy Vocabulary (DPV) terms, signed by the broker.

``build_receipt`` is a pure function of the consent and the registrations it names, so a
receipt can be rebuilt and checked from the same records. ``sign_receipt`` wraps it for
download: the receipt, a compact JWS (ES256) over its canonical JSON (sorted keys, no
spaces), and where to fetch the broker's public keys.

The data subject appears under their pseudonymous resident id only: no name, no e-mail,
no holder-side identifier (PRM) is in a receipt.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from broker.crypto import Signer
from consent.model import Consent, ConsentState
from consent.purposes import PURPOSES
from consent.registry import HolderManifest, ServiceRegistration

SCHEMA_VERSION = "ISO/IEC TS 27560:2023; aiguillage-receipt/1"
RECEIPT_TYP = "consent-receipt+jws"
DPV = "https://w3id.org/dpv#"

_DPV_STATUS: dict[ConsentState, str] = {
    ConsentState.REQUESTED: "dpv:ConsentRequested",
    ConsentState.AWAITING_HOLDER: "dpv:ConsentGiven",
    ConsentState.ACTIVE: "dpv:ConsentGiven",
    # DPV has no "suspended" consent status: a paused consent is still given, and the
    # receipt's ``state`` says "paused".
    ConsentState.PAUSED: "dpv:ConsentGiven",
    ConsentState.REFUSED: "dpv:ConsentRefused",
    ConsentState.TIMED_OUT: "dpv:ConsentRequestDeferred",
    ConsentState.FAILED: "dpv:ConsentInvalidated",
    ConsentState.REVOKED_BY_RESIDENT: "dpv:ConsentWithdrawn",
    ConsentState.REVOKED_BY_HOLDER: "dpv:ConsentInvalidated",
    ConsentState.TERMINATED_BY_SERVICE: "dpv:ConsentInvalidated",
    ConsentState.EXPIRED: "dpv:ConsentExpired",
}

_DPV_PURPOSE: dict[str, str] = {
    "energy_coaching": "dpv:ServiceProvision",
    "carbon_footprint": "dpv:ServiceProvision",
    "budget": "dpv:ServiceProvision",
    "contract_comparison": "dpv:ServiceProvision",
    "research": "dpv:ResearchAndDevelopment",
    "public_policy": "dpv:Purpose",
}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def status_time(consent: Consent) -> datetime:
    """When the consent entered its present state."""
    if consent.ended_at is not None and consent.state.is_final:
        return consent.ended_at
    if consent.state is ConsentState.PAUSED and consent.paused_at is not None:
        return consent.paused_at
    if consent.state is ConsentState.ACTIVE and consent.activated_at is not None:
        return consent.activated_at
    return consent.decided_at or consent.created_at


def receipt_id(issuer: str, consent: Consent) -> str:
    """The same consent in the same revision and state always has the same receipt id."""
    name = f"{issuer}/consents/{consent.id}#{consent.revision}:{consent.state.value}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _purpose(consent: Consent, service: ServiceRegistration) -> dict[str, Any]:
    declared = service.purpose(consent.purpose)
    listed = PURPOSES.get(consent.purpose)
    return {
        "code": consent.purpose,
        "dpv_category": _DPV_PURPOSE.get(consent.purpose, "dpv:Purpose"),
        "label_fr": listed.label_fr if listed else consent.purpose,
        "label_en": listed.label_en if listed else consent.purpose,
        "description_fr": declared.sentence_fr if declared else "",
        "description_en": (declared.sentence_en if declared else "") or "",
    }


def _data_categories(consent: Consent, manifest: HolderManifest) -> list[dict[str, Any]]:
    categories = []
    for name in consent.resources:
        spec = manifest.resource(name)
        categories.append(
            {
                "code": name,
                "dpv_category": "dpv:PersonalData",
                "description_fr": spec.description_fr if spec else name,
                "description_en": (spec.description_en if spec else "") or name,
            }
        )
    return categories


def _processing(consent: Consent, manifest: HolderManifest) -> dict[str, Any]:
    first, last = consent.window_bounds()
    return {
        "operations": ["dpv:Transfer"],
        "method": "direct transfer from the data source to the controller, routed by the "
        "broker without storing the data",
        "data_window": {
            "history": consent.data_window.history,
            "include_future": consent.data_window.include_future,
            "from": first.isoformat(),
            "until_excluded": last.isoformat(),
        },
        "frequency": consent.frequency.value,
        "delivery": consent.delivery.value,
        "duration": consent.duration,
        "starts_at": _iso(consent.activated_at),
        "expires_at": _iso(consent.expires_at),
        "max_consent_duration": manifest.max_consent_duration,
    }


def build_receipt(
    consent: Consent,
    service: ServiceRegistration,
    manifest: HolderManifest,
    *,
    issuer: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "@context": {"dpv": DPV},
        "receipt_id": receipt_id(issuer, consent),
        "timestamp": now.isoformat(),
        "consent_id": consent.id,
        "revision": consent.revision,
        "controller": {
            "role": "dpv:DataController",
            "client_id": service.client_id,
            "name": service.name,
            "privacy_policy": str(service.privacy_policy_url),
            "retention": service.retention,
        },
        "data_source": {"role": "dpv:DataSource", "id": manifest.id, "name": manifest.name},
        "intermediary": {"id": issuer, "name": "Aiguillage"},
        "data_subject": {"role": "dpv:DataSubject", "id": consent.subject},
        "purposes": [_purpose(consent, service)],
        "personal_data_categories": _data_categories(consent, manifest),
        "legal_basis": "dpv:Consent",
        "consent_type": "dpv:ExplicitlyExpressedConsent",
        "processing": _processing(consent, manifest),
        "withdrawal": {
            "method": "one click on the resident's dashboard, effective at once",
            "url": f"{issuer}/consents/{consent.id}",
        },
        "status": _status(consent),
    }


def _status(consent: Consent) -> dict[str, Any]:
    return {
        "state": consent.state.value,
        "dpv_status": _DPV_STATUS[consent.state],
        "at": status_time(consent).isoformat(),
        "ended_by": consent.ended_by,
        "reason": consent.end_reason,
    }


def sign_receipt(receipt: dict[str, Any], signer: Signer, issuer: str) -> dict[str, Any]:
    return {
        "receipt": receipt,
        "signature": signer.sign(receipt, typ=RECEIPT_TYP),
        "jwks_uri": f"{issuer}/jwks.json",
    }
