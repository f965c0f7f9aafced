"""Who may ask for what, and who may read what, right now.

Two questions, both pure functions of the records involved:

* ``validate_request``: may this service ask this holder for these resources, for this
  purpose, for this long? Asked at PAR time (RFC 9396 ``invalid_authorization_details``).
* ``check_transfer``: may this grant read this resource over these dates now? Asked on
  every data request, before the holder is called.
"""

from __future__ import annotations

from datetime import date, datetime

from consent.details import AuthorizationDetail
from consent.durations import CalendarDuration
from consent.errors import (
    ConsentNotActive,
    HolderMismatch,
    InvalidRange,
    InvalidRequest,
    OutsideDataWindow,
    ResourceNotGranted,
    ServiceBlacklisted,
)
from consent.model import Consent, ConsentState
from consent.purposes import PURPOSES
from consent.registry import HolderManifest, ServiceRegistration, ServiceStatus

_DENIAL_REASON: dict[ConsentState, str] = {
    ConsentState.REVOKED_BY_RESIDENT: "consent_revoked",
    ConsentState.REVOKED_BY_HOLDER: "consent_revoked",
    ConsentState.TERMINATED_BY_SERVICE: "consent_revoked",
    ConsentState.EXPIRED: "consent_expired",
    ConsentState.PAUSED: "consent_paused",
}


def validate_request(
    detail: AuthorizationDetail, manifest: HolderManifest, service: ServiceRegistration
) -> None:
    if service.status is not ServiceStatus.APPROVED:
        raise InvalidRequest(f"service {service.client_id} is not approved by the operator")
    if detail.holder != manifest.id:
        raise InvalidRequest(f"unknown holder {detail.holder!r}")
    unknown = [r for r in detail.resources if manifest.resource(r) is None]
    if unknown:
        raise InvalidRequest(f"holder {manifest.id} offers no resource {', '.join(unknown)}")
    if detail.purpose not in PURPOSES:
        raise InvalidRequest(f"{detail.purpose!r} is not in the operator's purpose list")
    if service.purpose(detail.purpose) is None:
        raise InvalidRequest(f"service {service.client_id} did not declare {detail.purpose!r}")
    allowed = manifest.contract.allowed_purposes
    if allowed and detail.purpose not in allowed:
        raise InvalidRequest(f"holder {manifest.id} does not serve the purpose {detail.purpose!r}")
    if service.client_id in manifest.contract.blocked_services:
        raise InvalidRequest(f"holder {manifest.id} does not serve {service.client_id}")
    cap = CalendarDuration.parse(manifest.max_consent_duration)
    if detail.consent_duration.approx_days() > cap.approx_days():
        raise InvalidRequest(f"holder {manifest.id} caps consents at {cap}")
    for name in detail.resources:
        spec = manifest.resource(name)
        if (
            spec is not None
            and detail.data_window.history_duration.approx_days() > spec.history_days
        ):
            raise InvalidRequest(f"{name}: holder keeps only {spec.history_days} days of history")


def check_transfer(
    consent: Consent,
    *,
    holder: str,
    resource: str,
    start: date | None,
    end: date | None,
    now: datetime,
    blocked_services: list[str] | tuple[str, ...] = (),
) -> None:
    """Raise the first reason this transfer must not happen; return if it may."""
    if consent.state is not ConsentState.ACTIVE:
        reason = _DENIAL_REASON.get(consent.state, "consent_not_active")
        raise ConsentNotActive(f"the consent is {consent.state}", reason=reason)
    if consent.expires_at is not None and now >= consent.expires_at:
        raise ConsentNotActive("the consent has expired", reason="consent_expired")
    if consent.service in blocked_services:
        raise ServiceBlacklisted(f"holder {holder} no longer serves {consent.service}")
    if holder != consent.holder:
        raise HolderMismatch(f"this grant is for holder {consent.holder}, not {holder}")
    if resource not in consent.resources:
        raise ResourceNotGranted(f"{resource} is not part of this consent")
    if start is None or end is None:
        return
    if start >= end:
        raise InvalidRange("start must be before end")
    first, last = consent.window_bounds()
    if start < first or end > last:
        raise OutsideDataWindow(
            f"this consent covers [{first.isoformat()}; {last.isoformat()}[ only"
        )
