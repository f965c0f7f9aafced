"""``POST /notifications``: the coach's push endpoint for the broker's signed notices
(RFC 8935 push delivery of RFC 8417 Security Event Tokens).

Machine to machine: no cookie, no CSRF token; the signature is the authentication. A
valid notice answers 202 (RFC 8935 §2.2), and a notice that ends the grant drops that
grant's tokens from every session at once, so the resident sees "accès retiré" even
before the coach's next fetch. A notice that fails a check answers 400 with the RFC 8935
§2.3 error object and changes nothing. A repeated ``jti`` is acknowledged again and
ignored: the broker delivers at least once.
"""

from __future__ import annotations

from collections import OrderedDict

import structlog
from aiohttp import web

from clients.carbon_coach.pages import CLIENT_KEY, SESSIONS_KEY
from clients.sdk import AiguillageError, InvalidNotice
from clients.sdk.notices import SET_CONTENT_TYPE

__all__ = ["SEEN_KEY", "notifications"]

log = structlog.get_logger(__name__)

SEEN_KEY: web.AppKey[OrderedDict[str, None]] = web.AppKey("seen_notices")
MAX_SEEN = 10_000
MAX_BODY = 8 * 1024


def _error(err: str, description: str, status: int = 400) -> web.Response:
    return web.json_response({"err": err, "description": description}, status=status)


async def notifications(request: web.Request) -> web.Response:
    if request.content_type != SET_CONTENT_TYPE:
        return _error("invalid_request", f"expected {SET_CONTENT_TYPE}", status=415)
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _error("invalid_request", "notice too large", status=413)
    try:
        notice = await request.app[CLIENT_KEY].verify_notice(body.decode("ascii"))
    except (InvalidNotice, UnicodeDecodeError):
        log.warning("coach.notice.rejected")
        return _error("invalid_key", "the notice does not verify")
    except AiguillageError:
        # The broker's keys could not be fetched: the sender will retry later.
        return _error("invalid_request", "cannot check the notice now", status=503)
    seen = request.app[SEEN_KEY]
    if notice.jti in seen:
        return web.Response(status=202)
    seen[notice.jti] = None
    while len(seen) > MAX_SEEN:
        seen.popitem(last=False)
    dropped = 0
    if notice.ends_access:
        dropped = request.app[SESSIONS_KEY].drop_grant(notice.grant_id, _reason(notice.event))
    log.info("coach.notice", notice_event=notice.event, grant_id=notice.grant_id, dropped=dropped)
    return web.Response(status=202)


def _reason(event: str) -> str:
    return "consent_expired" if event == "consent-expired" else "consent_revoked"
