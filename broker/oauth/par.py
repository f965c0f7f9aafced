"""``POST /oauth/par``: pushed authorization requests (RFC 9126 §2).

The only way to start an authorization: the service authenticates, and everything the
resident will be shown is checked here, before any browser is involved. PKCE S256 is
mandatory, ``redirect_uri`` must equal a registered one byte for byte (RFC 9700 §4.1.3),
and ``authorization_details`` (RFC 9396) must carry exactly one ``personal_data_transfer``
that the service may ask of the holder.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web
from multidict import MultiDict
from pydantic import ValidationError

from broker.keys import CLOCK, ENGINE, SETTINGS
from broker.oauth import pkce
from broker.oauth.client_auth import authenticate
from broker.oauth.errors import (
    InvalidAuthorizationDetails,
    InvalidRequest,
    UnsupportedResponseType,
)
from broker.oauth.forms import param, read_form, required
from broker.oauth.store import oauth_store
from broker.storage.oauth_par import ParRecord
from broker.storage.uow import SqlUnitOfWork
from consent.details import AuthorizationDetail
from consent.errors import ConsentError
from consent.policy import validate_request
from consent.registry import ServiceRegistration

log = structlog.get_logger(__name__)

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
MAX_STATE = 512
MAX_DETAILS = 8192
# RFC 6749 Appendix A.5: state is VSCHAR (printable ASCII).
_STATE = re.compile(r"[\x20-\x7e]+", re.ASCII)


async def pushed_authorization_request(request: web.Request) -> web.Response:
    form = await read_form(request)
    service = await authenticate(request, form)
    if param(form, "request_uri") is not None:
        raise InvalidRequest("request_uri is not allowed in a pushed authorization request")
    redirect_uri, state, challenge = _check_request(form, service)
    detail = _parse_details(required(form, "authorization_details", max_length=MAX_DETAILS))
    settings = request.app[SETTINGS]
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        holder = await uow.holders.get(detail.holder)
        if holder is None:
            raise InvalidAuthorizationDetails(f"unknown holder {detail.holder!r}")
        try:
            validate_request(detail, holder.manifest, service)
        except ConsentError as error:
            raise InvalidAuthorizationDetails(error.detail) from None
        record = ParRecord(
            id=secrets.token_urlsafe(32),
            client_id=service.client_id,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=challenge,
            authorization_details=[detail.model_dump(mode="json")],
            expires_at=uow.now + timedelta(seconds=settings.par_ttl),
            used_at=None,
        )
        await oauth_store(uow).par.add(record)
        await uow.commit()
    log.info("par.pushed", client_id=service.client_id, holder=detail.holder)
    body = {"request_uri": REQUEST_URI_PREFIX + record.id, "expires_in": settings.par_ttl}
    return web.json_response(body, status=201, headers={"Cache-Control": "no-store"})


def _check_request(
    form: MultiDict[str], service: ServiceRegistration
) -> tuple[str, str | None, str]:
    response_type = required(form, "response_type", max_length=64)
    if response_type != "code":
        raise UnsupportedResponseType("response_type must be code")
    redirect_uri = required(form, "redirect_uri")
    if redirect_uri not in service.redirect_uris:
        raise InvalidRequest("redirect_uri is not one of the client's registered redirect URIs")
    challenge = param(form, "code_challenge", max_length=256)
    method = param(form, "code_challenge_method", max_length=32)
    if challenge is None or method is None:
        raise InvalidRequest("PKCE is required: code_challenge with code_challenge_method=S256")
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if not pkce.well_formed(challenge):
        raise InvalidRequest("code_challenge must be 43 to 128 unreserved characters")
    state = param(form, "state", max_length=MAX_STATE)
    if state is not None and not _STATE.fullmatch(state):
        raise InvalidRequest("state must be printable ASCII")
    return redirect_uri, state, challenge


def _parse_details(text: str) -> AuthorizationDetail:
    try:
        value: Any = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidAuthorizationDetails("authorization_details is not valid JSON") from None
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        raise InvalidAuthorizationDetails(
            "authorization_details must be a JSON array of exactly one object"
        )
    try:
        return AuthorizationDetail.model_validate(value[0])
    except ValidationError as error:
        raise InvalidAuthorizationDetails(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"]) or "detail"
        problems.append(f"{where}: {item['msg']}")
    return "invalid personal_data_transfer detail: " + "; ".join(problems)
