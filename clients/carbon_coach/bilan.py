"""``/bilan``: the last year of daily consumption turned into a carbon footprint.

Every way the data can be withheld ends here, mapped to a page. A withdrawn consent is the
normal end of a grant, not an error: the coach drops its tokens and offers to reconnect.
"""

from __future__ import annotations

from datetime import date

import structlog
from aiohttp import web

from clients.carbon_coach.chart import bar_chart
from clients.carbon_coach.footprint import (
    DailyReading,
    ReadingsError,
    advise,
    compute_footprint,
    parse_daily_consumption,
)
from clients.carbon_coach.pages import CONFIG_KEY, Message, message, render, see_other, today
from clients.carbon_coach.period import WINDOW_MARGIN, request_period
from clients.carbon_coach.security import current_session
from clients.carbon_coach.sessions import CoachSession
from clients.sdk import (
    AiguillageError,
    DataAccessDenied,
    InvalidGrant,
    InvalidToken,
    TokenManager,
)

__all__ = ["WITHDRAWN_REASONS", "bilan"]

log = structlog.get_logger(__name__)

RESOURCE = "daily_consumption"
# Reasons that mean the consent itself is over: the tokens will never work again.
WITHDRAWN_REASONS = frozenset({"consent_revoked", "consent_expired", "consent_not_active"})


async def bilan(request: web.Request) -> web.Response:
    session = current_session(request)
    if session.tokens is None:
        return see_other("/")
    config = request.app[CONFIG_KEY]
    tokens = session.tokens
    if RESOURCE not in tokens.token_set.granted_resources(config.holder):
        return message(request, _not_granted())
    period = _period(session, tokens, config.holder)
    if period is None:
        return message(request, _empty_window())
    start, end = period
    try:
        try:
            readings = await _readings(tokens, config.holder, start, end)
        except DataAccessDenied as exc:
            if exc.reason != "outside_data_window" or start + WINDOW_MARGIN >= end:
                raise
            start += WINDOW_MARGIN
            readings = await _readings(tokens, config.holder, start, end)
    except InvalidGrant:
        return _withdrawn(request, session, "invalid_grant")
    except DataAccessDenied as exc:
        if exc.reason in WITHDRAWN_REASONS:
            return _withdrawn(request, session, exc.reason)
        session.last_error_reason = exc.reason
        log.info("coach.bilan.denied", reason=exc.reason)
        return message(request, _denied(exc), status=502)
    except InvalidToken:
        session.last_error_reason = "invalid_token"
        return message(request, _unavailable(), status=502)
    except (AiguillageError, ReadingsError) as exc:
        session.last_error_reason = "unavailable"
        log.warning("coach.bilan.failed", error=type(exc).__name__)
        return message(request, _unavailable(), status=502)
    session.last_error_reason = None
    footprint = compute_footprint(readings, config.factor)
    return render(
        request,
        "bilan.html",
        footprint=footprint,
        chart=bar_chart(footprint.months),
        advice=advise(readings),
        start=start,
        end=end,
        grant_id=tokens.token_set.grant_id,
    )


async def _readings(
    tokens: TokenManager, holder: str, start: date, end: date
) -> list[DailyReading]:
    async with tokens.fetch(holder, RESOURCE, start, end) as stream:
        payload = await stream.json()
    return parse_daily_consumption(payload)


def _period(session: CoachSession, tokens: TokenManager, holder: str) -> tuple[date, date] | None:
    windows = [d.data_window for d in tokens.token_set.authorization_details if d.holder == holder]
    window = windows[0] if windows else None
    return request_period(
        today(),
        consented_on=session.connected_on,
        history=window.history if window else None,
        include_future=window.include_future if window else True,
    )


def _withdrawn(request: web.Request, session: CoachSession, reason: str) -> web.Response:
    session.drop_tokens(reason)
    log.info("coach.access_withdrawn", reason=reason)
    return render(request, "retire.html", reason=reason)


def _not_granted() -> Message:
    return (
        "Consommation quotidienne non partagée",
        (
            "Vous avez accepté de partager d'autres données, mais pas votre consommation "
            "quotidienne : le bilan ne peut pas être calculé sans elle."
        ),
    )


def _empty_window() -> Message:
    return (
        "Aucune journée disponible",
        "La période que vous avez autorisée ne contient encore aucune journée complète.",
    )


def _denied(exc: DataAccessDenied) -> Message:
    if exc.reason == "quota_exceeded":
        wait = f" dans {exc.retry_after} secondes" if exc.retry_after else " plus tard"
        return ("Trop de demandes", f"Réessayez{wait}.")
    return (
        "Données refusées",
        f"Aiguillage a refusé la demande : {exc.problem.title or exc.reason}.",
    )


def _unavailable() -> Message:
    return (
        "Données indisponibles",
        "Vos relevés n'ont pas pu être obtenus. Réessayez dans quelques instants.",
    )
