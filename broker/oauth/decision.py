"""``POST /oauth/authorize/decision``: the resident's answer on the consent screen.

Refuse: the consent becomes REFUSED and the browser goes back to the service with
``error=access_denied`` (RFC 6749 §4.1.2.1). Accept, possibly less: the consent becomes
AWAITING_HOLDER and the browser goes to the holder, with a fresh random ``state`` whose
hash alone is kept, so that the holder's callback can be matched to this authorization.
"""

from __future__ import annotations

import secrets

import structlog
from aiohttp import web
from multidict import MultiDict

from broker.crypto import hash_token
from broker.holders import adapter_for, holder_callback_path
from broker.keys import CLOCK, ENGINE, SETTINGS
from broker.oauth.authorize import STATUS_SHOWN
from broker.oauth.consent_screen import duration_choices, render_screen
from broker.oauth.redirects import redirect_to_client
from broker.oauth.store import OAuthStore, oauth_store
from broker.storage.oauth_par import AuthorizationRecord, ParRecord
from broker.storage.uow import SqlUnitOfWork
from broker.web.csrf import check_csrf
from broker.web.render import PageError
from broker.web.session import require_resident
from consent.durations import CalendarDuration
from consent.errors import InvalidDuration
from consent.model import Consent
from consent.usecases import accept, refuse

log = structlog.get_logger(__name__)

STATUS_AWAITING_HOLDER = "awaiting_holder"
STATUS_REFUSED = "refused"


async def decision(request: web.Request) -> web.StreamResponse:
    form = await check_csrf(request)
    resident = await require_resident(request)
    answer = _single(form, "decision")
    if answer not in ("accept", "refuse"):
        raise PageError(400, "error.bad_request", "decision must be accept or refuse")
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        store = oauth_store(uow)
        authorization = await _open_authorization(uow, store, _single(form, "authorization_id"))
        if authorization.subject != resident.id:
            raise PageError(403, "oauth.error.not_yours", "another resident's authorization")
        consent = await uow.consents.get(str(authorization.consent_id))
        par = await store.par.get(authorization.par_id)
        if consent is None or par is None:
            raise PageError(400, "oauth.error.authorization", "consent or request gone")
        if answer == "refuse":
            raise await _refuse(request, uow, authorization, consent, par)
        problem = _choice_problem(form, consent)
        if problem is not None:
            return await _screen_again(request, uow, authorization, consent, form, problem)
        return await _accept(request, uow, authorization, consent, form)


async def _refuse(
    request: web.Request,
    uow: SqlUnitOfWork,
    authorization: AuthorizationRecord,
    consent: Consent,
    par: ParRecord,
) -> web.HTTPFound:
    """RFC 6749 §4.1.2.1: ``access_denied`` back to the verified redirect URI."""
    await oauth_store(uow).authorizations.move(
        authorization.id, source=STATUS_SHOWN, target=STATUS_REFUSED
    )
    await refuse(uow, consent_id=consent.id, subject=consent.subject, now=uow.now)
    log.info("authorize.refused", client_id=par.client_id, grant_id=consent.id)
    return redirect_to_client(
        par.redirect_uri,
        request.app[SETTINGS].issuer,
        error="access_denied",
        error_description="the resident refused",
        state=par.state,
    )


async def _accept(
    request: web.Request,
    uow: SqlUnitOfWork,
    authorization: AuthorizationRecord,
    consent: Consent,
    form: MultiDict[str],
) -> web.StreamResponse:
    """Yes, or yes but less; then off to the holder with a state only we can match."""
    holder = await uow.holders.get(consent.holder)
    if holder is None:
        raise PageError(400, "oauth.error.authorization", "holder gone")
    holder_state = secrets.token_urlsafe(32)
    await oauth_store(uow).authorizations.move(
        authorization.id,
        source=STATUS_SHOWN,
        target=STATUS_AWAITING_HOLDER,
        holder_state_hash=hash_token(holder_state),
    )
    consent = await accept(
        uow,
        consent_id=consent.id,
        subject=consent.subject,
        now=uow.now,
        resources=form.getall("resources", []),
        duration=form.get("duration") or None,
    )
    log.info("authorize.accepted", client_id=consent.service, grant_id=consent.id)
    adapter = adapter_for(request.app, holder)
    raise web.HTTPFound(
        adapter.authorization_url(
            state=holder_state,
            redirect_uri=request.app[SETTINGS].issuer + holder_callback_path(consent.holder),
            duration=consent.duration,
        )
    )


def _single(form: MultiDict[str], name: str) -> str:
    values = form.getall(name, [])
    if len(values) != 1 or not values[0] or len(values[0]) > 128:
        raise PageError(400, "error.bad_request", f"{name} must be sent once")
    return values[0]


async def _open_authorization(
    uow: SqlUnitOfWork, store: OAuthStore, authorization_id: str
) -> AuthorizationRecord:
    authorization = await store.authorizations.get(authorization_id)
    if (
        authorization is None
        or authorization.status != STATUS_SHOWN
        or not authorization.open(uow.now)
        or authorization.consent_id is None
    ):
        raise PageError(400, "oauth.error.authorization", "no such authorization in progress")
    return authorization


def _choice_problem(form: MultiDict[str], consent: Consent) -> str | None:
    """Why the resident's "yes, but less" cannot be taken as it is, or None."""
    resources = form.getall("resources", [])
    asked = consent.requested.resources
    if not resources or len(set(resources)) != len(resources) or not set(resources) <= set(asked):
        return "oauth.consent.no_resource"
    durations = form.getall("duration", [])
    if len(durations) > 1:
        return "oauth.consent.bad_duration"
    if durations:
        try:
            chosen = str(CalendarDuration.parse(durations[0]))
        except InvalidDuration:
            return "oauth.consent.bad_duration"
        if chosen not in duration_choices(consent.requested.duration):
            return "oauth.consent.bad_duration"
    return None


async def _screen_again(
    request: web.Request,
    uow: SqlUnitOfWork,
    authorization: AuthorizationRecord,
    consent: Consent,
    form: MultiDict[str],
    problem: str,
) -> web.Response:
    service = await uow.services.get(consent.service)
    holder = await uow.holders.get(consent.holder)
    if service is None or holder is None:
        raise PageError(400, "oauth.error.authorization", "service or holder gone")
    return render_screen(
        request,
        authorization_id=authorization.id,
        consent=consent,
        service=service.registration,
        manifest=holder.manifest,
        now=uow.now,
        error_key=problem,
        chosen_resources=[r for r in form.getall("resources", []) if r in consent.resources],
        chosen_duration=form.get("duration"),
    )
