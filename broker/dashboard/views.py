"""What the dashboard pages show, built from records into plain values for the templates.

Pure functions: the routes load the records, these put them into words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from broker.dashboard import control_views, words
from broker.dashboard.words import Translate
from broker.storage.ledger import TransferStats
from consent.ledger import LedgerEntry
from consent.model import Consent, ConsentState
from consent.registry import HolderManifest, ServiceRegistration

TRANSFER_KINDS = ("transfer.served", "transfer.failed", "transfer.denied")


@dataclass(frozen=True)
class Registrations:
    services: dict[str, ServiceRegistration]
    holders: dict[str, HolderManifest]

    def service_name(self, client_id: str) -> str:
        service = self.services.get(client_id)
        return service.name if service is not None else client_id

    def holder_name(self, holder_id: str) -> str:
        holder = self.holders.get(holder_id)
        return holder.name if holder is not None else holder_id


@dataclass(frozen=True)
class ConsentRow:
    id: str
    service: str
    holder: str
    resources: list[str]
    purpose_label: str
    purpose_sentence: str
    since: str | None
    until: str | None
    state_text: str
    state_class: str
    transfers: str
    ended: str | None  # why it ended, in words; None while it is not over
    ended_on: str | None = None  # the day it ended


@dataclass
class HolderGroup:
    holder: str
    rows: list[ConsentRow] = field(default_factory=list)


def overview_summary(consents: list[Consent], t: Translate) -> str:
    active = [c for c in consents if c.state is ConsentState.ACTIVE]
    return words.summary(t, len({c.service for c in active}), len({c.holder for c in active}))


def _transfers(stats: TransferStats | None, t: Translate, locale: str) -> str:
    if stats is None or stats.served == 0 or stats.last_at is None:
        return t("dash.transfers.none")
    return t("dash.transfers.count", n=stats.served, date=words.day(stats.last_at, locale))


def received_so_far(served: int, t: Translate) -> str:
    """What the service already holds from this flow, for the revoke confirmation."""
    return words.plural(t, "revoke.received", served)


def consent_row(
    consent: Consent,
    regs: Registrations,
    stats: TransferStats | None,
    t: Translate,
    locale: str,
) -> ConsentRow:
    manifest = regs.holders.get(consent.holder)
    label, sentence = words.purpose(regs.services.get(consent.service), consent.purpose, locale)
    state_text, state_class = words.state(consent.state, t)
    service, holder = regs.service_name(consent.service), regs.holder_name(consent.holder)
    ended_key = control_views.end_reason_key(consent)
    return ConsentRow(
        id=consent.id,
        service=service,
        holder=holder,
        resources=[words.resource(manifest, r, locale) for r in consent.resources],
        purpose_label=label,
        purpose_sentence=sentence,
        since=words.day(consent.activated_at, locale) if consent.activated_at else None,
        until=words.day(consent.expires_at, locale) if consent.expires_at else None,
        state_text=state_text,
        state_class=state_class,
        transfers=_transfers(stats, t, locale),
        ended=t(ended_key, service=service, holder=holder) if ended_key else None,
        ended_on=words.day(consent.ended_at, locale) if consent.ended_at else None,
    )


def grouped_by_holder(
    consents: list[Consent],
    regs: Registrations,
    stats: dict[str, TransferStats],
    t: Translate,
    locale: str,
) -> list[HolderGroup]:
    groups: dict[str, HolderGroup] = {}
    for consent in consents:
        group = groups.setdefault(consent.holder, HolderGroup(regs.holder_name(consent.holder)))
        group.rows.append(consent_row(consent, regs, stats.get(consent.id), t, locale))
    return sorted(groups.values(), key=lambda g: g.holder.lower())


@dataclass(frozen=True)
class ScopeLine:
    label: str
    asked: str
    granted: str


def scope_lines(
    consent: Consent, regs: Registrations, t: Translate, locale: str
) -> list[ScopeLine]:
    """What the service asked next to what the resident granted ("oui, mais moins")."""
    manifest = regs.holders.get(consent.holder)
    asked = consent.requested

    def listed(names: list[str]) -> str:
        return " ; ".join(words.resource(manifest, n, locale) for n in names)

    def yes_no(value: bool) -> str:
        return t("detail.yes") if value else t("detail.no")

    return [
        ScopeLine(t("detail.row.resources"), listed(asked.resources), listed(consent.resources)),
        ScopeLine(
            t("detail.row.history"),
            words.duration(asked.data_window.history, t),
            words.duration(consent.data_window.history, t),
        ),
        ScopeLine(
            t("detail.row.future"),
            yes_no(asked.data_window.include_future),
            yes_no(consent.data_window.include_future),
        ),
        ScopeLine(
            t("detail.row.frequency"),
            t(f"frequency.{asked.frequency.value}"),
            t(f"frequency.{consent.frequency.value}"),
        ),
        ScopeLine(
            t("detail.row.duration"),
            words.duration(asked.duration, t),
            words.duration(consent.duration, t),
        ),
    ]


@dataclass(frozen=True)
class TransferLine:
    at: str
    iso: str
    resource: str
    size: str
    records: str
    outcome: str


def transfer_lines(
    consent: Consent, entries: list[LedgerEntry], regs: Registrations, t: Translate, locale: str
) -> list[TransferLine]:
    manifest = regs.holders.get(consent.holder)
    lines = []
    for entry in entries:
        if entry.kind not in TRANSFER_KINDS:
            continue
        details = entry.details
        size = details.get("bytes")
        records = details.get("records")
        lines.append(
            TransferLine(
                at=words.day_and_time(entry.at, t, locale),
                iso=words.utc(entry.at).isoformat(),
                resource=words.resource(manifest, str(details.get("resource", "")), locale),
                size=words.size(size, t, locale) if isinstance(size, int) else "—",
                records=str(records) if isinstance(records, int) else "—",
                outcome=_outcome(entry, t),
            )
        )
    return lines


def _outcome(entry: LedgerEntry, t: Translate) -> str:
    if entry.kind == "transfer.served":
        return t("outcome.ok")
    if entry.kind == "transfer.denied":
        return t("outcome.denied", reason=words.reason(str(entry.details.get("reason")), t))
    return t("outcome.failed", reason=words.reason(str(entry.details.get("outcome")), t))


@dataclass(frozen=True)
class EventLine:
    at: str
    iso: str
    text: str
    actor: str


def event_lines(
    consent: Consent, entries: list[LedgerEntry], regs: Registrations, t: Translate, locale: str
) -> list[EventLine]:
    service = regs.services.get(consent.service)
    holder = regs.holders.get(consent.holder)
    return [
        EventLine(
            at=words.day_and_time(entry.at, t, locale),
            iso=words.utc(entry.at).isoformat(),
            text=words.event(entry.kind, t),
            actor=words.actor(entry.actor, t, service, holder),
        )
        for entry in entries
        if entry.kind not in TRANSFER_KINDS
    ]
