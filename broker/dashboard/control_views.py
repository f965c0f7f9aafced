"""The parts of a consent page that let the resident act: why an ended consent ended, the
warning before the end date, the narrowing form's choices, and the receipts of every
revision. Pure functions, like ``views.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from broker.dashboard import words
from broker.dashboard.words import Translate
from consent.durations import CalendarDuration
from consent.model import Consent, ConsentState
from consent.registry import HolderManifest

HISTORY_CHOICES = ("P1M", "P3M", "P6M", "P12M", "P24M", "P36M")


def end_reason_key(consent: Consent) -> str | None:
    """Why the consent ended, as a catalogue key; None while it is not over."""
    state, reason = consent.state, consent.end_reason or ""
    by = (consent.ended_by or "").partition(":")
    if state is ConsentState.REVOKED_BY_RESIDENT:
        return "ended.account_deleted" if reason == "account_deleted" else "ended.by_you"
    if state is ConsentState.REVOKED_BY_HOLDER:
        if reason == "service_blacklisted":
            return "ended.blacklisted"
        if by[0] == "operator":
            return "ended.security" if by[2] == "security" else "ended.by_operator"
        return "ended.by_holder"
    keys = {
        ConsentState.TERMINATED_BY_SERVICE: "ended.by_service",
        ConsentState.EXPIRED: "ended.expired",
        ConsentState.REFUSED: "ended.refused",
        ConsentState.TIMED_OUT: "ended.timed_out",
        ConsentState.FAILED: "ended.failed",
    }
    return keys.get(state)


@dataclass(frozen=True)
class ExpiryWarning:
    until: str
    renewal_requested: str | None


def expiry_warning(consent: Consent, now: datetime, days: int, locale: str) -> ExpiryWarning | None:
    if not consent.expires_within(now, days) or consent.expires_at is None:
        return None
    asked = consent.renewal_requested_at
    return ExpiryWarning(
        until=words.day(consent.expires_at, locale),
        renewal_requested=words.day(asked, locale) if asked is not None else None,
    )


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class NarrowForm:
    resources: list[Choice]
    histories: list[Choice]
    latest_end: str | None  # ISO date: the last day the consent may be brought back to
    earliest_end: str


def narrow_form(
    consent: Consent, manifest: HolderManifest | None, t: Translate, locale: str, now: datetime
) -> NarrowForm | None:
    """Only ever less: the choices offered stop at what is granted now."""
    if not consent.state.is_live:
        return None
    current = consent.data_window.history_duration.approx_days()
    histories = [
        Choice(h, words.duration(h, t), False)
        for h in HISTORY_CHOICES
        if CalendarDuration.parse(h).approx_days() < current
    ]
    histories.append(
        Choice(consent.data_window.history, words.duration(consent.data_window.history, t), True)
    )
    latest = (
        (consent.expires_at - timedelta(days=1)).date().isoformat() if consent.expires_at else None
    )
    return NarrowForm(
        resources=[Choice(r, words.resource(manifest, r, locale), True) for r in consent.resources],
        histories=histories,
        latest_end=latest,
        earliest_end=now.date().isoformat(),
    )


@dataclass(frozen=True)
class RevisionLine:
    revision: int
    resources: str
    until: str | None
    current: bool


def revision_lines(
    consent: Consent, older: list[Consent], manifest: HolderManifest | None, locale: str
) -> list[RevisionLine]:
    """Every revision, newest first; each has its own signed receipt."""
    return [
        RevisionLine(
            revision=c.revision,
            resources=" ; ".join(words.resource(manifest, r, locale) for r in c.resources),
            until=words.day(c.expires_at, locale) if c.expires_at else None,
            current=c.revision == consent.revision,
        )
        for c in sorted([consent, *older], key=lambda c: c.revision, reverse=True)
    ]
