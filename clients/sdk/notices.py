"""Signed notices from the broker: Security Event Tokens (RFC 8417) pushed to the service's
notification endpoint (RFC 8935) when a consent is revoked, expires, is paused, resumed
or narrowed, or when the resident asks for renewal.

``parse_notice`` checks everything a receiver must (RFC 8417 §2, RFC 8935 §2): the ES256
signature against the broker's JWKS (the key its ``kid`` names), ``typ: secevent+jwt``,
``iss`` is the broker, ``aud`` is this client, ``iat`` is recent, and exactly one known
event. Keep the ``jti`` of notices you have handled: delivery is at least once, and a
repeated ``jti`` is the same notice again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from pydantic import BaseModel, ConfigDict

from clients.sdk.errors import InvalidNotice

__all__ = ["EVENT_BASE", "SET_CONTENT_TYPE", "Notice", "notice_kid", "parse_notice"]

EVENT_BASE = "https://aiguillage.fr/secevent/"
SET_CONTENT_TYPE = "application/secevent+jwt"
ENDING_EVENTS = frozenset({"consent-revoked", "consent-expired"})
MAX_AGE = timedelta(minutes=10)
LEEWAY = timedelta(minutes=2)


class Notice(BaseModel):
    """One verified notice. ``event`` is the short name (``consent-revoked``...)."""

    model_config = ConfigDict(frozen=True)

    jti: str
    event: str
    grant_id: str
    state: str
    revision: int | None = None
    reason: str | None = None
    by: str | None = None
    issued_at: datetime
    occurred_at: datetime | None = None

    @property
    def ends_access(self) -> bool:
        """The grant is over: drop its tokens, they will never work again."""
        return self.event in ENDING_EVENTS


def notice_kid(token: str) -> str | None:
    """The ``kid`` of the token's header, to pick (or refresh) the JWKS."""
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError):
        return None
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


def _verified_claims(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    try:
        keys = KeySet.import_key_set(cast(KeySetSerialization, jwks))
        obj = jws.deserialize_compact(token, keys, algorithms=["ES256"])
        claims = json.loads(obj.payload)
    except (JoseError, ValueError) as exc:
        raise InvalidNotice(f"signature check failed: {type(exc).__name__}") from None
    if obj.headers().get("typ") != "secevent+jwt":
        raise InvalidNotice("not a Security Event Token (typ)")
    if not isinstance(claims, dict):
        raise InvalidNotice("the notice is not a JSON object")
    return claims


def parse_notice(
    token: str, jwks: dict[str, Any], *, issuer: str, client_id: str, now: datetime | None = None
) -> Notice:
    claims = _verified_claims(token, jwks)
    if claims.get("iss") != issuer:
        raise InvalidNotice("the notice is not from the configured broker (iss)")
    audience = claims.get("aud")
    if audience != client_id and not (isinstance(audience, list) and client_id in audience):
        raise InvalidNotice("the notice is not addressed to this client (aud)")
    moment = now or datetime.now(UTC)
    issued = claims.get("iat")
    if not isinstance(issued, int):
        raise InvalidNotice("the notice has no iat")
    issued_at = datetime.fromtimestamp(issued, UTC)
    if issued_at > moment + LEEWAY or issued_at < moment - MAX_AGE:
        raise InvalidNotice("the notice is too old or from the future (iat)")
    events = claims.get("events")
    if not isinstance(events, dict) or len(events) != 1:
        raise InvalidNotice("a notice carries exactly one event")
    uri, body = next(iter(events.items()))
    if not uri.startswith(EVENT_BASE) or not isinstance(body, dict):
        raise InvalidNotice("unknown event type")
    occurred = claims.get("toe")
    try:
        return Notice(
            jti=claims["jti"],
            event=uri.removeprefix(EVENT_BASE),
            issued_at=issued_at,
            occurred_at=datetime.fromtimestamp(occurred, UTC)
            if isinstance(occurred, int)
            else None,
            **{k: body.get(k) for k in ("grant_id", "state", "revision", "reason", "by")},
        )
    except (KeyError, ValueError) as exc:
        raise InvalidNotice(f"malformed notice: {type(exc).__name__}") from None
