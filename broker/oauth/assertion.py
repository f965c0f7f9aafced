"""``private_key_jwt`` assertions (RFC 7523 §3), verified with joserfc.

Checks, in order: a compact JWS signed with an asymmetric algorithm by a key of the
client's JWKS; ``iss`` = ``sub`` = client_id; ``aud`` names the issuer or the endpoint;
``exp`` present, not past and at most five minutes ahead; ``jti`` present. The caller
stores the ``jti`` to refuse a replay.

The client's keys are its registered ``jwks``, or the set its ``jwks_uri`` serves
(``service_keys.py``: fetched, cached, refetched once for a key id it does not know).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from broker.oauth.errors import InvalidClient
from broker.oauth.service_keys import SERVICE_KEYS, JwksUnavailable
from consent.registry import ServiceRegistration

ALGORITHMS = ["ES256", "RS256", "PS256"]
MAX_LIFETIME = 300
_LEEWAY = 10


@dataclass(frozen=True)
class AssertionClaims:
    jti: str
    expires_at: datetime


def unverified_issuer(assertion: str) -> str:
    """The ``iss`` claim, read before verification only to find whose keys to use."""
    try:
        payload = json.loads(jws.extract_compact(assertion.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeError):
        raise InvalidClient("malformed client assertion") from None
    issuer = payload.get("iss") if isinstance(payload, dict) else None
    if not isinstance(issuer, str) or not issuer:
        raise InvalidClient("the client assertion names no issuer")
    return issuer


def _unverified_kid(assertion: str) -> str | None:
    try:
        header = jws.extract_compact(assertion.encode("ascii")).protected
    except (JoseError, ValueError, UnicodeError):
        raise InvalidClient("malformed client assertion") from None
    kid = header.get("kid")
    return kid if isinstance(kid, str) and 0 < len(kid) <= 256 else None


def _jwks_uri(registration: ServiceRegistration) -> str:
    if registration.jwks_uri is None:
        raise InvalidClient("this client has no registered JWKS")
    return str(registration.jwks_uri)


def known_client_jwks(
    app: web.Application, registration: ServiceRegistration, assertion: str
) -> dict[str, Any] | None:
    """The keys to verify ``assertion`` with, if known without the network: the inline
    ``jwks``, or a fresh cached set from the ``jwks_uri`` that knows the assertion's ``kid``.
    None when ``client_jwks`` would have to fetch."""
    if registration.jwks is not None:
        return registration.jwks
    return app[SERVICE_KEYS].known(_jwks_uri(registration), _unverified_kid(assertion))


async def client_jwks(
    app: web.Application, registration: ServiceRegistration, assertion: str
) -> dict[str, Any]:
    """The client's inline ``jwks`` or the one at its ``jwks_uri`` (fetched when not cached,
    up to ``FETCH_TIMEOUT``: hold no database connection while awaiting this)."""
    if registration.jwks is not None:
        return registration.jwks
    keys, uri = app[SERVICE_KEYS], _jwks_uri(registration)
    kid = _unverified_kid(assertion)
    try:
        return await (keys.jwks(uri) if kid is None else keys.jwks_with(uri, kid))
    except JwksUnavailable:
        raise InvalidClient("the client's key set could not be fetched") from None


def verify_assertion(
    assertion: str, client_id: str, jwks: dict[str, Any], audiences: tuple[str, ...], now: datetime
) -> AssertionClaims:
    """The assertion's claims once its signature (by a key of ``jwks``) and its claims
    hold for ``client_id`` at ``now``; ``InvalidClient`` otherwise."""
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        token = jwt.decode(assertion, keys, algorithms=ALGORITHMS)
    except (JoseError, ValueError, TypeError, KeyError):
        raise InvalidClient("client assertion signature not valid") from None
    return _check_claims(token.claims, client_id=client_id, audiences=audiences, now=now)


def _check_claims(
    claims: dict[str, Any], *, client_id: str, audiences: tuple[str, ...], now: datetime
) -> AssertionClaims:
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise InvalidClient("iss and sub must both be the client_id")
    aud = claims.get("aud")
    named = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(a, str) and a in audiences for a in named):
        raise InvalidClient("aud must be the issuer or the endpoint URL")
    exp = claims.get("exp")
    moment = int(now.timestamp())
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise InvalidClient("exp is required")
    if exp + _LEEWAY <= moment:
        raise InvalidClient("the client assertion has expired")
    if exp > moment + MAX_LIFETIME + _LEEWAY:
        raise InvalidClient("the client assertion lives too long (at most 5 minutes)")
    nbf = claims.get("nbf")
    if isinstance(nbf, int) and nbf > moment + _LEEWAY:
        raise InvalidClient("the client assertion is not valid yet")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 255:
        raise InvalidClient("jti is required")
    return AssertionClaims(jti=jti, expires_at=datetime.fromtimestamp(exp + _LEEWAY, UTC))
