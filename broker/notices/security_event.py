"""The Security Event Token (RFC 8417) that tells a service its consent changed.

Claims: ``iss`` (the broker), ``iat`` (signing time), ``jti`` (fixed when the change was
committed: the service's idempotency key across retries), ``aud`` (the service's
client_id), ``toe`` (when the change happened) and ``txn`` (the grant id), and one member
in ``events`` named by the event URI, carrying ``grant_id``, ``state``, ``revision`` and,
for an ending, ``reason`` and ``by`` (the kind of actor: resident, service, holder,
operator, system). Signed ES256 by the broker's key, header ``typ: secevent+jwt``
(RFC 8417 §2.3); the service checks it against ``/jwks.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from consent.notices import ServiceNotice

SET_TYP = "secevent+jwt"
SET_CONTENT_TYPE = "application/secevent+jwt"


def security_event(notice: ServiceNotice, *, issuer: str, now: datetime) -> dict[str, Any]:
    event: dict[str, Any] = {
        "grant_id": notice.grant_id,
        "state": notice.state,
        "revision": notice.revision,
    }
    if notice.reason is not None:
        event["reason"] = notice.reason
    if notice.by is not None:
        event["by"] = notice.by
    return {
        "iss": issuer,
        "iat": int(now.timestamp()),
        "jti": notice.jti,
        "aud": notice.client_id,
        "toe": int(notice.occurred_at.timestamp()),
        "txn": notice.grant_id,
        "events": {notice.event.uri: event},
    }
