"""The GRDF ADICT simulator as one aiohttp application.

* ``GET/POST /oauth2/authorize``: a login-free consent page; accepting redirects with
  ``code``, ``state`` and ``pce`` (an assumption, see docs/holders.md).
* ``POST /oauth2/token``: client credentials (HTTP Basic), token for the data calls.
* ``GET /adict/v2/pce/{id_pce}/donnees_consos_informatives?date_debut&date_fin``: NDJSON,
  at most 365 days per call; ``donnees_techniques`` and ``donnees_contractuelles``: JSON.
* Errors ``{"code", "message"}``; 429 with ``Retry-After`` past the per-second quota.
* Access rights (``droits d'accès``), one per (client, PCE), created when the resident
  accepts: ``GET /adict/v2/droits_acces`` and ``POST /adict/v2/droits_acces`` (filters
  ``id_pce``, ``etat_droit_acces``) list the caller's as NDJSON;
  ``PATCH /adict/v2/droit_acces/{id_droit_acces}`` revokes one as the authorised third
  party (``fin_acces``), answering ``{"code_statut_traitement", "message_retour_traitement"}``.
  Data calls need an active right of the calling client for the PCE.
* ``POST /_simulator/withdraw`` (``pce``): the resident withdraws their access right.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html import escape
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field
from yarl import URL

from providers.enedis.simulator.config import RegisteredClient
from providers.enedis.simulator.quota import SlidingWindow
from providers.grdf.simulator import data

AUTHORIZE = "/oauth2/authorize"
PREFIX = "/adict/v2/pce/{id_pce}"
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MAX_DAYS = 365


class GrdfSimulatorConfig(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    clients: dict[str, RegisteredClient]
    pces: tuple[str, ...] = ("GI123456",)
    quota_per_second: int = Field(default=5, ge=1)
    today: Callable[[], date] = lambda: datetime.now(UTC).date()
    clock: Callable[[], float] = time.monotonic


class AdictError(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


ACTIVE, REVOKED = "Active", "Révoquée"


@dataclass
class AccessRight:
    """One ``droit d'accès``, with the members of ADICT's ``ListeAccesOut`` we model."""

    id: str
    client: str
    pce: str
    created: datetime
    state: str = ACTIVE
    revoked: datetime | None = None
    revoked_by: str | None = None

    def listed(self) -> dict[str, Any]:
        return {
            "id_droit_acces": self.id,
            "id_pce": self.pce,
            "role_tiers": "AUTORISE_CONTRAT_FOURNITURE",
            "etat_droit_acces": self.state,
            "date_creation": self.created.isoformat(),
            "date_revocation": self.revoked.isoformat() if self.revoked else None,
            "source_revocation": self.revoked_by,
        }


@dataclass
class GrdfState:
    config: GrdfSimulatorConfig
    quota: SlidingWindow
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # → (client, expiry)
    rights: dict[str, AccessRight] = field(default_factory=dict)
    pages: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: int = 0


GRDF_STATE = web.AppKey("grdf_simulator_state", GrdfState)


@web.middleware
async def adict_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except AdictError as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        body = {"code": exc.code, "message": exc.message}
        return web.json_response(body, status=exc.status, headers=headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response(
            {"code": str(exc.status), "message": exc.reason}, status=exc.status
        )


def _client(request: web.Request, state: GrdfState) -> str:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode() if scheme == "Basic" else ""
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    client_id, _, secret = decoded.partition(":")
    client = state.config.clients.get(client_id)
    if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
        raise AdictError(401, "invalid_client", "Client authentication failed")
    return client_id


async def token(request: web.Request) -> web.Response:
    state = request.app[GRDF_STATE]
    client_id = _client(request, state)
    if (await request.post()).get("grant_type") != "client_credentials":
        raise AdictError(400, "unsupported_grant_type", "grant_type must be client_credentials")
    value = secrets.token_urlsafe(24)
    state.tokens[value] = (client_id, state.config.clock() + 3600)
    return web.json_response({"access_token": value, "token_type": "Bearer", "expires_in": 3600})


async def show(request: web.Request) -> web.Response:
    state = request.app[GRDF_STATE]
    query = request.query
    client = state.config.clients.get(query.get("client_id", ""))
    if client is None or query.get("redirect_uri") not in client.redirect_uris:
        raise AdictError(400, "invalid_request", "unknown client or redirect_uri")
    csrf = secrets.token_urlsafe(24)
    state.pages[csrf] = {
        "client_id": query["client_id"],
        "redirect_uri": query["redirect_uri"],
        "state": query.get("state", "")[:256],
    }
    choices = "".join(
        f'<label><input type="radio" name="pce" value="{escape(p)}"{" checked" if i == 0 else ""}>'
        f" PCE {escape(p)}</label>"
        for i, p in enumerate(state.config.pces)
    )
    html = (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>GRDF — partage de '
        "vos données Gazpar</title></head><body><p>Simulateur GRDF ADICT — aucune donnée "
        f'réelle.</p><form method="post" action="{AUTHORIZE}"><input type="hidden" '
        f'name="csrf_token" value="{escape(csrf)}">{choices}'
        '<button name="decision" value="accept">J\'accepte</button>'
        '<button name="decision" value="refuse">Je refuse</button></form></body></html>'
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def answer(request: web.Request) -> web.Response:
    state = request.app[GRDF_STATE]
    form = await request.post()
    csrf = form.get("csrf_token")
    page = state.pages.pop(csrf, None) if isinstance(csrf, str) else None
    if page is None:
        raise AdictError(400, "invalid_request", "this consent page expired, reload it")
    back = URL(page["redirect_uri"])
    if form.get("decision") != "accept":
        raise web.HTTPFound(str(back.extend_query(error="access_denied", state=page["state"])))
    pce = form.get("pce")
    if pce not in state.config.pces:
        raise AdictError(400, "invalid_request", "unknown PCE")
    _grant_right(state, page["client_id"], str(pce))
    code = secrets.token_urlsafe(18)
    raise web.HTTPFound(str(back.extend_query(code=code, state=page["state"], pce=str(pce))))


def _grant_right(state: GrdfState, client: str, pce: str) -> None:
    if _active_right(state, client, pce) is None:
        right = AccessRight(str(uuid.uuid4()), client, pce, datetime.now(UTC))
        state.rights[right.id] = right


def _active_right(state: GrdfState, client: str, pce: str) -> AccessRight | None:
    return next(
        (
            r
            for r in state.rights.values()
            if r.client == client and r.pce == pce and r.state == ACTIVE
        ),
        None,
    )


def _caller(request: web.Request) -> str:
    """The client whose bearer token this is."""
    state = request.app[GRDF_STATE]
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    client, expiry = state.tokens.get(value, ("", 0.0))
    if scheme != "Bearer" or expiry <= state.config.clock():
        raise AdictError(401, "invalid_token", "The access token is invalid or expired")
    return client


def _admit(request: web.Request) -> str:
    """Check the token, the quota and the access right; the PCE asked for."""
    state = request.app[GRDF_STATE]
    client = _caller(request)
    wait = state.quota.wait_needed("all")
    if wait > 0:
        raise AdictError(429, "quota", "Too many requests", retry_after=max(1, int(wait + 0.999)))
    state.quota.record("all")
    pce = request.match_info["id_pce"]
    if _active_right(state, client, pce) is None:
        raise AdictError(403, "1000008", "Aucun droit d'accès actif pour ce PCE")
    state.calls += 1
    return pce


def _range(request: web.Request, today: date) -> tuple[date, date]:
    raw = [request.query.get("date_debut", ""), request.query.get("date_fin", "")]
    if not all(_DATE.match(r) for r in raw):
        raise AdictError(400, "1000001", "date_debut et date_fin sont obligatoires (AAAA-MM-JJ)")
    try:
        start, end = date.fromisoformat(raw[0]), date.fromisoformat(raw[1])
    except ValueError:
        raise AdictError(400, "1000001", "date invalide") from None
    if start >= end or end > today:
        raise AdictError(400, "1000002", "période invalide")
    if (end - start).days > MAX_DAYS:
        raise AdictError(400, "1000018", f"période supérieure à {MAX_DAYS} jours")
    return start, end


async def informative(request: web.Request) -> web.StreamResponse:
    pce = _admit(request)
    start, end = _range(request, request.app[GRDF_STATE].config.today())
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    for line in data.informative_lines(pce, start, end):
        await response.write(line)
    await response.write_eof()
    return response


def _document(build: Callable[[str], dict[str, Any]]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(build(_admit(request)))

    return handler


async def list_rights(request: web.Request) -> web.StreamResponse:
    """``consulter_acces`` (GET) and ``droits_acces`` with filters (POST), as NDJSON."""
    state = request.app[GRDF_STATE]
    client = _caller(request)
    filters: dict[str, Any] = {}
    if request.method == "POST":
        try:
            filters = await request.json()
        except ValueError:
            raise AdictError(400, "1000001", "Une erreur technique est survenue.") from None
        if not isinstance(filters, dict):
            raise AdictError(400, "1000001", "Une erreur technique est survenue.")
    wanted = {k: filters[k] for k in ("id_pce", "etat_droit_acces") if filters.get(k)}
    lines = [
        json.dumps(r.listed(), ensure_ascii=False) + "\n"
        for r in state.rights.values()
        if r.client == client and all(r.listed()[k] == v for k, v in wanted.items())
    ]
    return web.Response(text="".join(lines), content_type="application/x-ndjson")


def _outcome(status: int, code: str, message: str) -> web.Response:
    body = {"code_statut_traitement": code, "message_retour_traitement": message}
    return web.json_response(body, status=status)


async def end_right(request: web.Request) -> web.Response:
    """``fin_acces``: the authorised third party revokes its own access right."""
    state = request.app[GRDF_STATE]
    client = _caller(request)
    right = state.rights.get(request.match_info["id_droit_acces"])
    if right is None or right.client != client:
        return _outcome(404, "1000404", "Aucun droit d'accès trouvé.")
    if right.state != ACTIVE:
        return _outcome(409, "1000409", "Le droit d'accès à révoquer n'existe pas.")
    right.state, right.revoked, right.revoked_by = REVOKED, datetime.now(UTC), "TIERS"
    return _outcome(200, "0000000000", "L'opération s'est déroulée avec succès.")


async def withdraw(request: web.Request) -> web.Response:
    state = request.app[GRDF_STATE]
    pce = (await request.post()).get("pce")
    gone = [r for r in state.rights.values() if r.pce == pce and r.state == ACTIVE]
    for right in gone:
        right.state, right.revoked, right.revoked_by = REVOKED, datetime.now(UTC), "TITULAIRE"
    return web.json_response({"withdrawn": len(gone)})


async def stats(request: web.Request) -> web.Response:
    return web.json_response({"calls": request.app[GRDF_STATE].calls})


def create_grdf_simulator_app(config: GrdfSimulatorConfig) -> web.Application:
    app = web.Application(middlewares=[adict_errors])
    quota = SlidingWindow(limit=config.quota_per_second, seconds=1.0, clock=config.clock)
    app[GRDF_STATE] = GrdfState(config=config, quota=quota)
    app.router.add_get(AUTHORIZE, show)
    app.router.add_post(AUTHORIZE, answer)
    app.router.add_post("/oauth2/token", token)
    app.router.add_get(f"{PREFIX}/donnees_consos_informatives", informative)
    app.router.add_get(f"{PREFIX}/donnees_techniques", _document(data.technical))
    app.router.add_get(f"{PREFIX}/donnees_contractuelles", _document(data.contractual))
    app.router.add_get("/adict/v2/droits_acces", list_rights)
    app.router.add_post("/adict/v2/droits_acces", list_rights)
    app.router.add_patch("/adict/v2/droit_acces/{id_droit_acces}", end_right)
    app.router.add_post("/_simulator/withdraw", withdraw)
    app.router.add_get("/_simulator/stats", stats)
    return app
