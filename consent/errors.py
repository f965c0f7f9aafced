"""Domain errors. Each carries a stable ``reason`` code that the HTTP surface puts on the wire.

    ConsentError
    ├── InvalidDuration
    ├── InvalidRequest                      the service asked for something it may not have
    ├── IllegalTransition                   a state-machine guard refused a transition
    ├── ConsentNotFound
    ├── NotYourConsent                      an actor acted on someone else's consent
    └── TransferDenied                      a data request refused by policy
        ├── ConsentNotActive                (reason: consent_revoked, consent_paused, …)
        ├── ResourceNotGranted
        ├── HolderMismatch
        ├── OutsideDataWindow
        ├── InvalidRange
        ├── ServiceBlacklisted
        └── QuotaExceeded                   (retry_after seconds)

The HTTP layer maps them to problem JSON in one middleware; nothing here knows HTTP.
"""

from __future__ import annotations


class ConsentError(Exception):
    reason: str = "consent_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidDuration(ConsentError):
    reason = "invalid_duration"


class InvalidRequest(ConsentError):
    reason = "invalid_authorization_details"


class IllegalTransition(ConsentError):
    reason = "illegal_transition"


class ConsentNotFound(ConsentError):
    reason = "consent_not_found"


class NotYourConsent(ConsentError):
    reason = "not_your_consent"


class TransferDenied(ConsentError):
    reason = "transfer_denied"
    status_hint = 403


class ConsentNotActive(TransferDenied):
    def __init__(self, detail: str, reason: str = "consent_not_active") -> None:
        super().__init__(detail)
        self.reason = reason


class ResourceNotGranted(TransferDenied):
    reason = "resource_not_granted"


class HolderMismatch(TransferDenied):
    reason = "holder_mismatch"


class OutsideDataWindow(TransferDenied):
    reason = "outside_data_window"


class InvalidRange(TransferDenied):
    reason = "invalid_range"
    status_hint = 400


class ServiceBlacklisted(TransferDenied):
    reason = "service_blacklisted"


class QuotaExceeded(TransferDenied):
    reason = "quota_exceeded"
    status_hint = 429

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
