"""Turning records into words a resident reads: dates, durations, sizes, states, events.

Every function takes the page's translator ``t`` and its locale, so French and English
come from the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from consent.durations import CalendarDuration
from consent.model import ConsentState
from consent.purposes import PURPOSES
from consent.registry import HolderManifest, ServiceRegistration

Translate = Callable[..., str]

_MONTHS = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip

STATE_CLASS: dict[ConsentState, str] = {
    ConsentState.ACTIVE: "active",
    ConsentState.PAUSED: "pending",
    ConsentState.REQUESTED: "pending",
    ConsentState.AWAITING_HOLDER: "pending",
}


def utc(moment: datetime) -> datetime:
    # SQLite returns ledger timestamps without their zone; they were written in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day(moment: datetime, locale: str) -> str:
    moment = utc(moment)
    month = _MONTHS.get(locale, _MONTHS["fr"])[moment.month - 1]
    if locale == "en":
        return f"{moment.day} {month} {moment.year}"
    return f"{'1er' if moment.day == 1 else moment.day} {month} {moment.year}"


def day_and_time(moment: datetime, t: Translate, locale: str) -> str:
    return t("date.at", date=day(moment, locale), time=utc(moment).strftime("%H:%M"))


def plural(t: Translate, key: str, n: int) -> str:
    """``key.none`` for 0 when the catalogue has it ("aucun transfert"), ``key.one`` for 1,
    ``key.many`` otherwise."""
    if n == 0 and (none := t(f"{key}.none")) != f"{key}.none":
        return none
    return t(f"{key}.{'one' if n == 1 else 'many'}", n=n)


def duration(text: str, t: Translate) -> str:
    parsed = CalendarDuration.parse(text)
    parts = []
    if parsed.years:
        parts.append(plural(t, "duration.years", parsed.years))
    if parsed.months:
        parts.append(plural(t, "duration.months", parsed.months))
    if parsed.days:
        parts.append(plural(t, "duration.days", parsed.days))
    return t("duration.and").join(parts)


def size(n: int, t: Translate, locale: str) -> str:
    if n < 1000:
        return t("bytes.b", n=n)
    value, key = (n / 1000, "bytes.kb") if n < 1_000_000 else (n / 1_000_000, "bytes.mb")
    shown = f"{value:.1f}"
    return t(key, n=shown.replace(".", ",") if locale == "fr" else shown)


def summary(t: Translate, services: int, holders: int) -> str:
    """ "2 services reçoivent des données de 1 organisme": the verb agrees with services."""
    if services == 0:
        return t("dash.summary.none")
    return t(
        f"dash.summary.{'one' if services == 1 else 'many'}",
        services=plural(t, "dash.count.services", services),
        holders=plural(t, "dash.count.holders", holders),
    )


def state(value: ConsentState, t: Translate) -> tuple[str, str]:
    """The state in words, and its badge class (the words carry the meaning, not colour)."""
    return t(f"state.{value.value}"), STATE_CLASS.get(value, "ended")


def resource(manifest: HolderManifest | None, name: str, locale: str) -> str:
    spec = manifest.resource(name) if manifest is not None else None
    if spec is None:
        return name
    return spec.description_en if locale == "en" and spec.description_en else spec.description_fr


def purpose(service: ServiceRegistration | None, code: str, locale: str) -> tuple[str, str]:
    """The operator's label of the purpose, and the service's own sentence."""
    listed = PURPOSES.get(code)
    label = (listed.label_en if locale == "en" else listed.label_fr) if listed else code
    declared = service.purpose(code) if service is not None else None
    sentence = ""
    if declared is not None:
        english = locale == "en" and declared.sentence_en
        sentence = declared.sentence_en if english else declared.sentence_fr
    return label, sentence


def reason(code: str, t: Translate) -> str:
    base = code.split(":", 1)[0]
    text = t(f"reason.{base}")
    if text == f"reason.{base}":
        return code
    return f"{text} ({code.split(':', 1)[1]})" if ":" in code else text


def actor(
    who: str, t: Translate, service: ServiceRegistration | None, holder: HolderManifest | None
) -> str:
    kind, _, _ = who.partition(":")
    if kind == "resident":
        return t("actor.you")
    if kind == "service" and service is not None:
        return service.name
    if kind == "holder" and holder is not None:
        return holder.name
    if kind == "operator":
        return t("actor.operator")
    return t("actor.system")


def event(kind: str, t: Translate) -> str:
    text = t(f"event.{kind}")
    return kind if text == f"event.{kind}" else text
