"""The generic holder simulator as one aiohttp application (see ``__init__``).

Errors are ``{"error", "error_description"}`` like Enedis's (the same middleware renders
them); ``/_simulator/…`` hooks let a test or the demo act as the holder's own staff.
"""

from __future__ import annotations

import re
from datetime import date

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from providers.enedis.simulator.errors import InvalidRequest, InvalidToken, json_errors
from providers.enedis.simulator.errors import QuotaExceeded as _Quota
from providers.generic.simulator import oauth
from providers.generic.simulator.config import (
    GENERIC_STATE,
    GenericSimulatorConfig,
    GenericState,
    state_of,
)
from providers.generic.simulator.datasets import DATASETS, Resource
from providers.notices import sign_notice

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class QuotaExceeded(_Quota):
    def __init__(self, retry_after: int) -> None:
        super().__init__("per-second", retry_after)
        self.code = "rate_limited"


def _bearer_subject(request: web.Request, state: GenericState) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    grant = state.access.get(value) if scheme == "Bearer" else None
    if grant is None or grant.expires_at <= state.config.clock():
        raise InvalidToken("the access token is invalid, expired or revoked")
    return grant.subject


def _date(raw: str | None, name: str) -> date:
    if raw is None or not _DATE.match(raw):
        raise InvalidRequest(f"{name} must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be a real date") from None


def data_handler(name: str, resource: Resource) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        state = state_of(request)
        subject = _bearer_subject(request, state)
        wait = state.quota.wait_needed(subject)
        if wait > 0:
            raise QuotaExceeded(max(1, int(wait + 0.999)))
        state.quota.record(subject)
        start = _date(request.query.get(resource.start_param), resource.start_param)
        end = _date(request.query.get(resource.end_param), resource.end_param)
        if start >= end or end > state.config.current_date():
            raise InvalidRequest("the range must be [start; end[ with end at most today")
        if (end - start).days > resource.max_days:
            raise InvalidRequest(f"at most {resource.max_days} days per call")
        state.calls[name] += 1
        return web.json_response(resource.produce(subject, start, end))

    return handler


async def withdraw(request: web.Request) -> web.Response:
    """The resident withdraws their consent at the holder; the broker is told, signed."""
    state = state_of(request)
    subject = (await request.post()).get("subject")
    if not isinstance(subject, str) or not state.withdraw(subject):
        raise InvalidRequest("no live grant for this subject")
    config = state.config
    if config.webhook_url is None or config.webhook_secret is None:
        return web.json_response({"withdrawn": True, "notified": None})
    notice = sign_notice(
        config.webhook_secret,
        holder=config.holder_id,
        audience=config.webhook_url,
        subject=subject,
        now=config.clock(),
    )
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            config.webhook_url, data=notice, headers={"Content-Type": "application/jwt"}
        ) as answer,
    ):
        state.notices.append(answer.status)
        return web.json_response({"withdrawn": True, "notified": answer.status})


async def stats(request: web.Request) -> web.Response:
    state = state_of(request)
    return web.json_response({"calls": dict(state.calls), "notices": state.notices})


def create_generic_simulator_app(config: GenericSimulatorConfig) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    app[GENERIC_STATE] = GenericState.create(config)
    app.router.add_get(oauth.AUTHORIZE, oauth.show)
    app.router.add_post(oauth.AUTHORIZE, oauth.answer)
    app.router.add_post("/oauth/token", oauth.token)
    app.router.add_post("/oauth/revoke", oauth.revoke)
    for name, resource in DATASETS[config.kind].items():
        app.router.add_get(resource.path, data_handler(name, resource))
    app.router.add_post("/_simulator/withdraw", withdraw)
    app.router.add_get("/_simulator/stats", stats)
    return app
