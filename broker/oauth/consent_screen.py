"""The consent screen: what the resident is asked, in words they can check.

Which service wants which data, from which holder, why (the operator's purpose label and
the service's own sentence), over which period, how often, until when, what revoking
means, and the service's privacy policy. The resident may accept, accept less (fewer
resources, a shorter duration) or refuse: "oui, non ou autrement".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from broker.oauth.wording import history, length, long_date
from broker.web.i18n import locale_of
from broker.web.render import render
from consent.durations import CalendarDuration
from consent.model import Consent
from consent.purposes import PURPOSES
from consent.registry import HolderManifest, ServiceRegistration

# Shorter durations a resident may pick instead of the one asked (which is always offered).
SHORTER_DURATIONS = ("P1M", "P3M", "P6M", "P1Y", "P2Y", "P3Y")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool


def duration_choices(asked: str) -> list[str]:
    """Durations no longer than the one asked, shortest first, the asked one last."""
    limit = CalendarDuration.parse(asked)
    shorter = [
        d
        for d in SHORTER_DURATIONS
        if CalendarDuration.parse(d).approx_days() < limit.approx_days()
    ]
    return [*shorter, str(limit)]


def _resources(
    consent: Consent, manifest: HolderManifest, locale: str, chosen: list[str] | None
) -> list[Choice]:
    items = []
    for name in consent.requested.resources:
        spec = manifest.resource(name)
        label = name if spec is None else spec.description_fr
        if spec is not None and locale == "en" and spec.description_en:
            label = spec.description_en
        items.append(Choice(name, label, chosen is None or name in chosen))
    return items


def _durations(consent: Consent, now: datetime, locale: str, chosen: str | None) -> list[Choice]:
    choices = duration_choices(consent.requested.duration)
    selected = chosen if chosen in choices else choices[-1]
    items = []
    for value in choices:
        until = long_date(CalendarDuration.parse(value).after(now), locale)
        items.append(Choice(value, f"{length(value, locale)} ({until})", value == selected))
    return items


def render_screen(
    request: web.Request,
    *,
    authorization_id: str,
    consent: Consent,
    service: ServiceRegistration,
    manifest: HolderManifest,
    now: datetime,
    error_key: str | None = None,
    chosen_resources: list[str] | None = None,
    chosen_duration: str | None = None,
) -> web.Response:
    locale = locale_of(request)
    asked = consent.requested
    purpose = PURPOSES[asked.purpose]
    declared = service.purpose(asked.purpose)
    sentence, sentence_lang = ("", "fr") if declared is None else (declared.sentence_fr, "fr")
    if declared is not None and locale == "en" and declared.sentence_en:
        sentence, sentence_lang = declared.sentence_en, "en"
    return render(
        request,
        "oauth/consent.html",
        status=400 if error_key else 200,
        authorization_id=authorization_id,
        service_name=service.name,
        holder_name=manifest.name,
        resources=_resources(consent, manifest, locale, chosen_resources),
        purpose_label=purpose.label_fr if locale == "fr" else purpose.label_en,
        service_sentence=sentence,
        sentence_lang=sentence_lang,
        history=history(asked.data_window.history, locale),
        include_future=asked.data_window.include_future,
        frequency=str(asked.frequency),
        duration=length(asked.duration, locale),
        until=long_date(asked.consent_duration.after(now), locale),
        durations=_durations(consent, now, locale, chosen_duration),
        privacy_url=str(service.privacy_policy_url),
        retention=length(service.retention, locale),
        error_key=error_key,
        less_open=chosen_resources is not None or chosen_duration is not None,
    )
