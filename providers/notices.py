"""Holder-side revocation notices: what a holder sends to the broker's webhook when a
resident withdraws consent at the holder.

The notice is a compact JWS (RFC 7515), ``typ`` ``revocation-notice+jwt``, signed HS256
with a secret shared at registration (32 characters or more). Claims: ``iss`` (the
holder id), ``aud`` (the webhook URL), ``sub`` (the resident's subject at the holder: the
meter, the account), ``iat``, ``exp`` (at most five minutes later), a unique ``jti``, and
optionally ``services`` (limit to these client ids) and ``reason``.

Why a shared secret rather than a JWKS: a holder's webhook sender is usually a small job,
and an HMAC key is what it can keep and rotate without publishing anything; the JWS
envelope still names the algorithm and the audience, so moving a holder to ES256 with a
JWKS changes only how the key is found. Replays are stopped by the broker remembering each
``jti`` until ``exp``; ``aud`` stops a notice meant for another broker being replayed here.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

NOTICE_TYPE = "revocation-notice+jwt"
MAX_LIFETIME_S = 300
CLOCK_SKEW_S = 60
MIN_SECRET = 32
_MAX_SERVICES = 50


class NoticeInvalid(Exception):
    """The notice is not one the broker may act on; the message says why (no secret)."""


@dataclass(frozen=True)
class Notice:
    holder: str
    subject: str
    jti: str
    expires_at: float
    services: tuple[str, ...]
    reason: str


def _key(secret: str) -> OctKey:
    if len(secret) < MIN_SECRET:
        raise ValueError(f"a webhook secret needs at least {MIN_SECRET} characters")
    return OctKey.import_key(secret.encode())


def sign_notice(
    secret: str,
    *,
    holder: str,
    audience: str,
    subject: str,
    now: float,
    services: list[str] | None = None,
    reason: str = "withdrawn_at_holder",
    lifetime: int = MAX_LIFETIME_S,
) -> str:
    claims: dict[str, Any] = {
        "iss": holder,
        "aud": audience,
        "sub": subject,
        "iat": int(now),
        "exp": int(now) + lifetime,
        "jti": secrets.token_urlsafe(24),
        "reason": reason,
    }
    if services is not None:
        claims["services"] = services
    body = json.dumps(claims, separators=(",", ":")).encode()
    return jws.serialize_compact({"alg": "HS256", "typ": NOTICE_TYPE}, body, _key(secret))


def verify_notice(token: str, secret: str, *, holder: str, audience: str, now: float) -> Notice:
    try:
        found = jws.deserialize_compact(token, _key(secret), algorithms=["HS256"])
    except (JoseError, ValueError) as exc:
        raise NoticeInvalid("bad signature or malformed JWS") from exc
    if found.protected.get("typ") != NOTICE_TYPE:
        raise NoticeInvalid(f"typ must be {NOTICE_TYPE}")
    try:
        claims = json.loads(found.payload)
    except ValueError:
        raise NoticeInvalid("the payload is not JSON") from None
    if not isinstance(claims, dict):
        raise NoticeInvalid("the payload is not an object")
    return _checked(claims, holder=holder, audience=audience, now=now)


def _checked(claims: dict[str, Any], *, holder: str, audience: str, now: float) -> Notice:
    if claims.get("iss") != holder:
        raise NoticeInvalid("iss does not name this holder")
    if claims.get("aud") != audience:
        raise NoticeInvalid("aud does not name this webhook")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int) or not isinstance(exp, int) or isinstance(iat | exp, bool):
        raise NoticeInvalid("iat and exp must be integers")
    if exp <= now or iat > now + CLOCK_SKEW_S or exp - iat > MAX_LIFETIME_S:
        raise NoticeInvalid("the notice is expired, from the future or too long-lived")
    jti, sub, reason = claims.get("jti"), claims.get("sub"), claims.get("reason", "")
    if not isinstance(jti, str) or not 16 <= len(jti) <= 128:
        raise NoticeInvalid("jti must be a string of 16 to 128 characters")
    if not isinstance(sub, str) or not 0 < len(sub) <= 128:
        raise NoticeInvalid("sub must name the resident at the holder")
    if not isinstance(reason, str) or len(reason) > 64:
        raise NoticeInvalid("reason must be a short string")
    services = claims.get("services", [])
    if (
        not isinstance(services, list)
        or len(services) > _MAX_SERVICES
        or not all(isinstance(s, str) and 0 < len(s) <= 64 for s in services)
    ):
        raise NoticeInvalid("services must be a list of client ids")
    return Notice(holder, sub, jti, float(exp), tuple(services), reason or "withdrawn_at_holder")
