"""``POST /v1/holders/{holder}/revocations``: a holder says a resident withdrew consent on
its side. The body is a signed notice (``providers/notices.py``: compact JWS, HS256 with
the secret shared at registration, ``Content-Type: application/jwt``).

Checks, in order: a holder with a webhook secret; the signature, ``typ``, ``iss``, ``aud``
(this URL), ``iat``/``exp``; the ``jti`` never seen before (replays answer 409). Then every
active consent whose keyed subject hash matches ``sub`` (optionally only the ``services``
named) ends through ``consent.usecases.revoke`` with actor ``holder:<id>``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from aiohttp import web

from broker.admin.blacklist import revoke_all
from broker.holders import app_subject_keys
from broker.http.problems import Problem
from broker.keys import SECRET_BOX, SETTINGS
from broker.storage.holder_side import SqlHolderSide
from broker.unit import unit_of_work
from providers.notices import Notice, NoticeInvalid, verify_notice

log = structlog.get_logger(__name__)

MAX_NOTICE = 8 * 1024


async def _notice(request: web.Request, holder_id: str) -> Notice:
    if request.content_type not in ("application/jwt", "application/jose"):
        raise Problem(415, "unsupported_media_type", "send the notice as application/jwt")
    raw = await request.read()  # bounded by the app's client_max_size (413 beyond)
    if len(raw) > MAX_NOTICE:
        raise Problem(413, "too_large", "a notice is a few hundred bytes")
    async with unit_of_work(request.app) as uow:
        sealed = await SqlHolderSide(uow.conn).webhook_secret(holder_id)
    if sealed is None:
        raise Problem(404, "not_found", "no holder with a revocation webhook by that id")
    secret = request.app[SECRET_BOX].open(sealed, bound_to=f"holder-webhook:{holder_id}")
    audience = request.app[SETTINGS].issuer + request.path
    try:
        return verify_notice(
            raw.decode("ascii", errors="replace").strip(),
            secret["secret"],
            holder=holder_id,
            audience=audience,
            now=datetime.now(UTC).timestamp(),
        )
    except NoticeInvalid as error:
        log.info("holder.notice_refused", holder=holder_id, why=str(error))
        raise Problem(401, "invalid_notice", str(error)) from None


async def holder_revocation(request: web.Request) -> web.Response:
    holder_id = request.match_info["holder"][:64]
    notice = await _notice(request, holder_id)
    keys = app_subject_keys(request.app, holder_id, notice.subject)
    async with unit_of_work(request.app) as uow:
        side = SqlHolderSide(uow.conn)
        expires = datetime.fromtimestamp(notice.expires_at, UTC)
        if not await side.first_use(holder_id, notice.jti, expires, uow.now):
            raise Problem(409, "replayed_notice", "this notice (jti) was already received")
        found = await side.live_by_subject(holder_id, keys)
        await uow.commit()
    chosen = [cid for cid, service in found if not notice.services or service in notice.services]
    revoked = await revoke_all(
        request.app, holder_id=holder_id, reason=notice.reason, consent_ids=chosen
    )
    return web.json_response({"revoked": revoked})
