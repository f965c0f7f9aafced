"""Connect, callback, disconnect and status: the consent side of the coach."""

from __future__ import annotations

import structlog
from aiohttp import web

from clients.carbon_coach.pages import (
    CLIENT_KEY,
    CONFIG_KEY,
    Message,
    message,
    render,
    see_other,
    today,
)
from clients.carbon_coach.security import current_session
from clients.sdk import (
    AiguillageError,
    AuthorizationDenied,
    AuthorizationDetail,
    DataWindow,
    OAuthError,
    ProtocolViolation,
    StateMismatch,
    TokenManager,
    TokenSet,
)

__all__ = ["callback", "connect", "disconnect", "index", "status"]

log = structlog.get_logger(__name__)

RESOURCES = ["daily_consumption", "consumption_load_curve"]


def coach_request(holder: str) -> AuthorizationDetail:
    return AuthorizationDetail(
        holder=holder,
        resources=RESOURCES,
        purpose="energy_coaching",
        data_window=DataWindow(history="P12M", include_future=True),
        frequency="daily",
        duration="P1Y",
    )


async def index(request: web.Request) -> web.Response:
    return render(request, "index.html")


async def connect(request: web.Request) -> web.Response:
    """POST: push the authorization request and send the browser to the broker."""
    session = current_session(request)
    form = await request.post()
    if not session.csrf_ok(_text(form.get("csrf_token"))):
        return message(request, _csrf_message(), status=403)
    config = request.app[CONFIG_KEY]
    try:
        pending = await request.app[CLIENT_KEY].start_authorization(
            config.redirect_uri, [coach_request(config.holder)]
        )
    except AiguillageError as exc:
        log.warning("coach.connect.failed", error=type(exc).__name__)
        return message(request, _broker_unreachable(), status=502)
    session.pending = pending
    return see_other(pending.url)


async def callback(request: web.Request) -> web.Response:
    """The broker's redirect back: check it, exchange the code, keep the tokens."""
    session = current_session(request)
    client = request.app[CLIENT_KEY]
    pending = session.pending
    if pending is None:
        return message(request, _no_pending(), status=400)
    try:
        code = client.parse_callback(request.query, pending)
    except StateMismatch:
        # Keep the pending request: a forged callback must not cancel the real one.
        log.warning("coach.callback.state_mismatch")
        return message(request, _bad_callback(), status=400)
    except AuthorizationDenied:
        session.pending = None
        return render(request, "refus.html")
    except (ProtocolViolation, OAuthError) as exc:
        session.pending = None
        log.warning("coach.callback.rejected", error=type(exc).__name__)
        return message(request, _bad_callback(), status=400)
    session.pending = None  # a code and its verifier are single-use
    try:
        token_set = await client.exchange_code(code, pending)
    except AiguillageError as exc:
        log.warning("coach.exchange.failed", error=type(exc).__name__)
        return message(request, _broker_unreachable(), status=502)

    async def keep(rotated: TokenSet) -> None:
        # In memory only (demo): the manager already holds the set; a real service writes
        # the rotated refresh token to its store here, before using it.
        log.info("coach.tokens.rotated")

    session.tokens = TokenManager(client, token_set, on_rotate=keep)
    session.connected_on = today()
    session.last_error_reason = None
    log.info("coach.connected")
    return see_other("/bilan")


async def disconnect(request: web.Request) -> web.Response:
    """POST: end the grant at the broker (DELETE /oauth/grants/{id}) and forget the tokens."""
    session = current_session(request)
    form = await request.post()
    if not session.csrf_ok(_text(form.get("csrf_token"))):
        return message(request, _csrf_message(), status=403)
    grant_id = session.grant_id
    if grant_id is not None:
        try:
            await request.app[CLIENT_KEY].end_grant(grant_id)
        except OAuthError as exc:
            # Already ended at the broker (revoked, expired): nothing left to end.
            log.info("coach.disconnect.already_ended", error=exc.error)
        except AiguillageError as exc:
            log.warning("coach.disconnect.failed", error=type(exc).__name__)
            return message(request, _broker_unreachable(), status=502)
    session.drop_tokens(None)
    return render(request, "deconnecte.html")


async def status(request: web.Request) -> web.Response:
    session = current_session(request)
    return web.json_response(
        {
            "connected": session.connected,
            "grant_id": session.grant_id,
            "last_error_reason": session.last_error_reason,
        }
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _csrf_message() -> Message:
    return (
        "Formulaire expiré",
        "Ce formulaire n'est plus valable. Revenez à l'accueil et recommencez.",
    )


def _broker_unreachable() -> Message:
    return (
        "Service de consentement indisponible",
        "Nous n'avons pas pu joindre Aiguillage. Réessayez dans quelques instants.",
    )


def _no_pending() -> Message:
    return (
        "Aucune connexion en cours",
        ("Nous n'attendions pas de réponse d'Aiguillage. Relancez la connexion depuis l'accueil."),
    )


def _bad_callback() -> Message:
    return (
        "Réponse refusée",
        (
            "La réponse reçue ne correspond pas à la demande que nous avons envoyée ; "
            "par prudence nous ne l'avons pas utilisée. Relancez la connexion depuis l'accueil."
        ),
    )
