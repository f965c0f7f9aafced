"""Client authentication for every OAuth endpoint (RFC 6749 §2.3).

Two methods, exactly one per request:

* ``client_secret_basic`` (RFC 6749 §2.3.1): HTTP Basic with the form-urlencoded id and
  secret; the registry keeps ``hash_token(secret)``.
* ``private_key_jwt`` (RFC 7523 §2.2, §3): a JWT signed by a key of the client's registered
  JWKS, ``iss`` = ``sub`` = client_id, ``aud`` the issuer or the endpoint URL, a near
  ``exp`` and a single-use ``jti``. On body-less requests (grant management) the assertion
  travels as ``Authorization: Bearer``, as the SDK sends it.

Every failure is the same ``invalid_client`` (401) so that nothing tells a prober which
part was wrong.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import unquote_plus

import structlog
from aiohttp import web
from multidict import MultiDict

from broker.crypto import hash_token
from broker.keys import CLOCK, ENGINE, SETTINGS
from broker.oauth.assertion import unverified_issuer, verify_assertion
from broker.oauth.errors import InvalidClient
from broker.oauth.forms import param
from broker.oauth.store import oauth_store
from broker.storage.registry import ServiceRecord
from broker.storage.uow import SqlUnitOfWork
from consent.registry import ServiceRegistration, ServiceStatus

log = structlog.get_logger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_MAX_ASSERTION = 8192


async def authenticate(request: web.Request, form: MultiDict[str]) -> ServiceRegistration:
    """The authenticated, approved service, or ``InvalidClient``.

    Runs in its own unit of work and commits the assertion's ``jti`` before the endpoint
    does anything, so a replay is refused even when the first request failed later on.
    """
    basic = _basic_credentials(request)
    assertion = _assertion(request, form)
    if basic is not None and assertion is not None:
        raise InvalidClient("use exactly one client authentication method")
    if param(form, "client_secret") is not None:
        raise InvalidClient("client_secret_post is not supported")
    claimed = param(form, "client_id", max_length=64)
    issuer = request.app[SETTINGS].issuer
    audiences = (issuer, issuer + request.path)
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        if basic is not None:
            record = await _by_secret(uow, basic, claimed)
        elif assertion is not None:
            record = await _by_assertion(uow, assertion, claimed, audiences)
        else:
            raise InvalidClient("client authentication is required")
        await uow.commit()
    return record.registration


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.getall("Authorization", [])
    if not header:
        return None
    if len(header) > 1:
        raise InvalidClient("one Authorization header only")
    scheme, _, encoded = header[0].partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidClient("malformed Basic credentials") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or not secret:
        raise InvalidClient("malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def _assertion(request: web.Request, form: MultiDict[str]) -> str | None:
    kind = param(form, "client_assertion_type", max_length=128)
    value = param(form, "client_assertion", max_length=_MAX_ASSERTION)
    header = request.headers.get("Authorization", "")
    scheme, _, bearer = header.partition(" ")
    if scheme.lower() == "bearer" and request.method in ("GET", "DELETE"):
        if value is not None:
            raise InvalidClient("use exactly one client authentication method")
        if len(bearer) > _MAX_ASSERTION:
            raise InvalidClient("client assertion too long")
        return bearer.strip() or None
    if kind is None and value is None:
        return None
    if kind != ASSERTION_TYPE or value is None:
        raise InvalidClient(f"client_assertion_type must be {ASSERTION_TYPE}")
    return value


async def _service(uow: SqlUnitOfWork, client_id: str) -> ServiceRecord:
    record = await uow.services.get(client_id) if len(client_id) <= 64 else None
    if record is None or record.registration.status is not ServiceStatus.APPROVED:
        log.info("client_auth.refused", reason="unknown_or_unapproved")
        raise InvalidClient("client authentication failed")
    return record


async def _by_secret(
    uow: SqlUnitOfWork, basic: tuple[str, str], claimed: str | None
) -> ServiceRecord:
    client_id, secret = basic
    if claimed is not None and claimed != client_id:
        raise InvalidClient("client_id does not match the authenticated client")
    record = await _service(uow, client_id)
    stored = record.secret_hash or ""
    if not stored or not hmac.compare_digest(hash_token(secret), stored):
        log.info("client_auth.refused", client_id=client_id, reason="secret")
        raise InvalidClient("client authentication failed")
    return record


async def _by_assertion(
    uow: SqlUnitOfWork, assertion: str, claimed: str | None, audiences: tuple[str, ...]
) -> ServiceRecord:
    client_id = claimed or unverified_issuer(assertion)
    record = await _service(uow, client_id)
    jwks = record.registration.jwks
    if jwks is None:
        raise InvalidClient("this client has no registered JWKS")
    claims = verify_assertion(
        assertion, client_id=client_id, jwks=jwks, audiences=audiences, now=uow.now
    )
    if not await oauth_store(uow).assertions.remember(
        client_id, claims.jti, claims.expires_at, uow.now
    ):
        log.info("client_auth.refused", client_id=client_id, reason="jti_replay")
        raise InvalidClient("this client assertion was already used")
    return record
