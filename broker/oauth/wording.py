"""Durations and dates in plain French (and English), for the consent screen.

``P12M`` reads "les 12 derniers mois" as a history and "12 mois" as a length; dates are
written out ("1er mars 2026") without depending on the system locale.
"""

from __future__ import annotations

from datetime import datetime

from consent.durations import CalendarDuration

_MONTHS = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
_UNITS = {
    "fr": {"year": ("an", "ans"), "month": ("mois", "mois"), "day": ("jour", "jours")},
    "en": {"year": ("year", "years"), "month": ("month", "months"), "day": ("day", "days")},
}
_AND = {"fr": " et ", "en": " and "}


def long_date(moment: datetime, locale: str) -> str:
    month = _MONTHS[locale][moment.month - 1]
    if locale == "fr":
        day = "1er" if moment.day == 1 else str(moment.day)
        return f"{day} {month} {moment.year}"
    return f"{moment.day} {month} {moment.year}"


def _count(n: int, unit: str, locale: str) -> str:
    singular, plural = _UNITS[locale][unit]
    return f"{n} {singular if n == 1 else plural}"


def length(text: str, locale: str) -> str:
    """``P1Y6M`` → "1 an et 6 mois" / "1 year and 6 months"."""
    duration = CalendarDuration.parse(text)
    parts = []
    if duration.years:
        parts.append(_count(duration.years, "year", locale))
    if duration.months:
        parts.append(_count(duration.months, "month", locale))
    if duration.days:
        parts.append(_count(duration.days, "day", locale))
    return _AND[locale].join(parts)


def history(text: str, locale: str) -> str:
    """``P12M`` → "les 12 derniers mois" / "the last 12 months" (years count as months)."""
    duration = CalendarDuration.parse(text)
    months, days = duration.total_months, duration.days
    if locale == "fr":
        parts = []
        if months:
            parts.append("le dernier mois" if months == 1 else f"les {months} derniers mois")
        if days:
            parts.append("le dernier jour" if days == 1 else f"les {days} derniers jours")
        return " et ".join(parts)
    pieces = []
    if months:
        pieces.append("month" if months == 1 else f"{months} months")
    if days:
        pieces.append("day" if days == 1 else f"{days} days")
    return "the last " + " and ".join(pieces)


# The consent screen's own words beyond ``broker/oauth/messages.py``: its three answers
# ("oui, non ou autrement") and the labels around them. Merged by ``broker/web/i18n.py``.
MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "consent.who": "Qui demande, et pour quoi faire",
        "consent.category": "Catégorie définie par l'opérateur :",
        "consent.receives": "Concrètement, {service} recevra :",
        "consent.answer": "Votre réponse",
        "consent.accept_hint": "« J'accepte » : {service} reçoit ce qui est décrit ci-dessus, "
        "pour la durée indiquée. Vous pourrez arrêter à tout moment.",
        "consent.less.summary": "J'accepte moins…",
        "consent.less.intro": "Vous pouvez partager moins que ce qui est demandé : décochez "
        "des données ou choisissez une durée plus courte, puis validez.",
        "consent.less.resources": "Données à partager",
        "consent.less.accept": "J'accepte seulement ces choix",
        "consent.refuse_hint": "« Je refuse » : {service} ne reçoit rien et en est informé.",
    },
    "en": {
        "consent.who": "Who is asking, and what for",
        "consent.category": "Category set by the operator:",
        "consent.receives": "In practice, {service} will receive:",
        "consent.answer": "Your answer",
        "consent.accept_hint": "“I accept”: {service} receives what is described above, for "
        "the period shown. You can stop at any time.",
        "consent.less.summary": "I accept less…",
        "consent.less.intro": "You can share less than what is asked: untick some data or "
        "choose a shorter duration, then confirm.",
        "consent.less.resources": "Data to share",
        "consent.less.accept": "I accept only these choices",
        "consent.refuse_hint": "“I refuse”: {service} receives nothing and is told so.",
    },
}
