"""``/dataconnect/v1/oauth2/authorize``: the customer's consent page, login-free.

GET checks the request as Enedis does (errors are JSON ``invalid_request`` whose
description starts with Enedis's reason: ``missing_parameter``, ``invalid_duration_format``,
``maximum_duration_exceeded``...) and renders the page. POST answers it: "J'accepte"
records the consent and redirects with ``code``, ``state`` and ``usage_point_id``;
"Je refuse" redirects with ``error=access_denied``. Each page carries a single-use CSRF
token bound, server side, to the request it was rendered for.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from html import escape
from typing import NoReturn

from aiohttp import web
from yarl import URL

from providers.enedis.simulator.config import DemoCustomer, RegisteredClient
from providers.enedis.simulator.durations import ConsentDuration, DurationError
from providers.enedis.simulator.errors import InvalidRequest
from providers.enedis.simulator.state import PendingAuthorization, SimulatorState, state_of

PATH = "/dataconnect/v1/oauth2/authorize"
_MAX_STATE = 100
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


async def show(request: web.Request) -> web.Response:
    state = state_of(request)
    pending = _authorization_request(request.query, state)
    csrf = state.open_page(pending)
    html = _render(pending, csrf, state.config.customers)
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=_HEADERS)


async def answer(request: web.Request) -> web.Response:
    state = state_of(request)
    form = await request.post()
    csrf = form.get("csrf_token")
    pending = state.take_page(csrf) if isinstance(csrf, str) else None
    if pending is None:
        raise InvalidRequest("invalid_csrf_token: this consent page expired, reload it")
    decision = form.get("decision")
    if decision == "refuse":
        _redirect(pending, error="access_denied")
    usage_point_id = form.get("usage_point_id")
    if decision != "accept" or not isinstance(usage_point_id, str):
        raise InvalidRequest("missing_parameter: decision and usage_point_id are required")
    if state.config.customer(usage_point_id) is None:
        raise InvalidRequest("invalid_usage_point: not one of this customer's usage points")
    state.grant_consent(pending.client_id, usage_point_id, pending.duration)
    # Data Connect v5 never exchanges this code; it is sent because Enedis sends one.
    _redirect(pending, code=secrets.token_urlsafe(18), usage_point_id=usage_point_id)


def _redirect(pending: PendingAuthorization, **params: str) -> NoReturn:
    if pending.state is not None:
        params["state"] = pending.state
    raise web.HTTPFound(str(URL(pending.redirect_uri).extend_query(params)), headers=_HEADERS)


def _authorization_request(query: Mapping[str, str], state: SimulatorState) -> PendingAuthorization:
    for name in ("client_id", "response_type", "duration"):
        if not query.get(name):
            raise InvalidRequest(f"missing_parameter: {name} is required")
    if query["response_type"] != "code":
        raise InvalidRequest("unsupported_response_type: response_type must be code")
    client = state.config.clients.get(query["client_id"])
    if client is None:
        raise InvalidRequest("unknown_client: client_id is not a registered application")
    redirect_uri = _redirect_uri(query.get("redirect_uri"), client)
    consent_state = query.get("state")
    if consent_state is not None and len(consent_state) > _MAX_STATE:
        raise InvalidRequest(f"invalid_state: state is at most {_MAX_STATE} characters")
    try:
        duration = ConsentDuration.parse(query["duration"])
    except DurationError as exc:
        raise InvalidRequest(str(exc)) from None
    if duration.exceeds_maximum(state.config.current_date()):
        raise InvalidRequest("maximum_duration_exceeded: a consent lasts at most P3Y")
    return PendingAuthorization(
        client_id=query["client_id"],
        redirect_uri=redirect_uri,
        state=consent_state,
        duration=duration,
        shown_at=state.config.clock(),
    )


def _redirect_uri(asked: str | None, client: RegisteredClient) -> str:
    # Enedis redirects to the URI registered for the application; one given in the request
    # must be one of those, never an arbitrary address (open redirector, RFC 6749 §10.15).
    if asked is None:
        return client.redirect_uris[0]
    if asked not in client.redirect_uris:
        raise InvalidRequest("invalid_redirect_uri: redirect_uri is not registered for client")
    return asked


def _french_duration(duration: ConsentDuration) -> str:
    parts = []
    if duration.years:
        parts.append(f"{duration.years} an{'s' if duration.years > 1 else ''}")
    if duration.months:
        parts.append(f"{duration.months} mois")
    if duration.days:
        parts.append(f"{duration.days} jour{'s' if duration.days > 1 else ''}")
    return " et ".join(parts)


def _render(pending: PendingAuthorization, csrf: str, customers: tuple[DemoCustomer, ...]) -> str:
    choices = "\n".join(
        f'<label><input type="radio" name="usage_point_id" value="{escape(c.usage_point_id)}"'
        f"{' checked' if i == 0 else ''} required> {escape(c.name)} — "
        f"{escape(c.address.street)}, {escape(c.address.postal_code)} {escape(c.address.city)}"
        f" <small>(PRM {escape(c.usage_point_id)})</small></label>"
        for i, c in enumerate(customers)
    )
    return f"""<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Enedis — Autoriser le partage de vos données Linky</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #1a1a1a; }}
.sim {{ background: #fff4d6; padding: .5rem .75rem; border-radius: .4rem; font-size: .9rem; }}
fieldset {{ border: 1px solid #ccc; border-radius: .4rem; }}
label {{ display: block; margin: .4rem 0; }}
button {{ font-size: 1rem; padding: .6rem 1.2rem; margin-right: .6rem; border-radius: .4rem; }}
.accept {{ background: #1f5bc6; color: #fff; border: none; }}
</style>
</head>
<body>
<p class="sim">Simulateur Enedis Data Connect — aucune donnée réelle.</p>
<h1>Enedis — Autoriser le partage de vos données Linky</h1>
<p>L'application <strong>{escape(pending.client_id)}</strong> demande à recevoir les données de
votre compteur Linky (consommation, production, contrat, adresse) pendant
<strong>{escape(_french_duration(pending.duration))}</strong>.
Vous pourrez retirer votre accord à tout moment depuis votre espace client.</p>
<form method="post" action="{PATH}">
<input type="hidden" name="csrf_token" value="{escape(csrf)}">
<fieldset>
<legend>Compteur concerné</legend>
{choices}
</fieldset>
<p>
<button class="accept" type="submit" name="decision" value="accept">J'accepte</button>
<button type="submit" name="decision" value="refuse" formnovalidate>Je refuse</button>
</p>
</form>
</body>
</html>
"""
