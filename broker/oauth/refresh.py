"""The ``refresh_token`` grant (RFC 6749 §6), with rotation and reuse detection
(RFC 9700 §4.14.2).

Each use retires the presented refresh token and issues a new pair. A retired token seen
again means two parties hold it: the whole grant is revoked through the one revocation
path (``consent.usecases.revoke``), which kills every token and writes the ledger. Of two
concurrent refreshes, ``mark_rotated`` lets exactly one through; the other is treated as
a reuse, which is why clients must serialise their refreshes (the SDK does).
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from aiohttp import web

from broker.keys import CLOCK, ENGINE, SETTINGS
from broker.oauth.client_auth import PendingClient
from broker.oauth.errors import InvalidGrant
from broker.oauth.issue import grant_usable, issue_tokens, mint_tokens, token_usable
from broker.storage.engine import SharedReaders
from broker.storage.tokens import TokenRecord, TokenWithGrant, rotate_and_add_tokens
from broker.storage.uow import SqlUnitOfWork
from consent.model import Actor, Consent
from consent.registry import ServiceRegistration
from consent.usecases import revoke

log = structlog.get_logger(__name__)

SECURITY = Actor(kind="operator", id="security")


async def refresh_grant(
    request: web.Request,
    uow: SqlUnitOfWork,
    service: ServiceRegistration,
    found: TokenWithGrant | None,
) -> dict[str, Any]:
    """Rotate the presented refresh token. ``found`` is it with its grant, read by
    ``SqlTokens.find_locking_grant`` (or with the client on SQLite) in ``uow``: the grant's
    lock is held, so concurrent refreshes (and revocations) of one grant queue up there."""
    if found is None:
        raise InvalidGrant("unknown refresh token")
    record, consent = found
    if record.kind != "refresh" or record.client_id != service.client_id:
        raise InvalidGrant("unknown refresh token")
    if record.rotated_at is not None:
        await _reuse_detected(uow, record)
    if not token_usable(record, uow.now):
        raise InvalidGrant("refresh token expired or revoked")
    if consent is None or not grant_usable(consent, uow.now):
        raise InvalidGrant("the grant is no longer active")
    if not await uow.tokens.mark_rotated(record.token_hash, uow.now):
        await _reuse_detected(uow, record)
    body = await issue_tokens(  # commits
        uow, consent, service.client_id, request.app[SETTINGS].access_token_ttl
    )
    log.info("token.refreshed", client_id=service.client_id, grant_id=consent.id)
    return body


async def refresh_in_one_trip(
    request: web.Request, pending: PendingClient, token_hash: str, reads: SharedReaders
) -> dict[str, Any] | None:
    """On SQLite, for a ``client_secret_basic`` client: ``refresh_grant`` with the client,
    the token and its grant read on the shared readers and checked before the writer is
    taken, then one trip that retires the token (if it is still neither rotated nor
    revoked), confirms the grant's stored JSON is the one checked, adds the new pair and
    commits (``rotate_and_add_tokens``; see ``broker.oauth.code_exchange`` for why).

    A client that fails is refused here as the long way would refuse it. None for
    anything else amiss (an unknown, foreign, retired, expired or revoked token, a grant
    no longer usable, or a token or grant that changed before the write): the long way
    then decides, with the reuse detection of a retired token. A rule added to
    ``refresh_grant`` must be added here too, or make this path give way to it."""
    service, record, grant_text = await pending.check_with_token_shared(reads, token_hash)
    now = request.app[CLOCK]()
    if (
        record is None
        or grant_text is None
        or record.kind != "refresh"
        or record.client_id != service.client_id
        or not token_usable(record, now)
    ):
        return None
    # Parsed as the long way parses it (``grant_of``): the stored JSON, then the model.
    consent = Consent.model_validate(json.loads(grant_text))
    if not grant_usable(consent, now):
        return None
    ttl = request.app[SETTINGS].access_token_ttl
    rows, body = mint_tokens(consent, service.client_id, ttl, now)
    engine = request.app[ENGINE]
    if not await rotate_and_add_tokens(engine, token_hash, now, consent.id, grant_text, rows):
        return None
    log.info("token.refreshed", client_id=service.client_id, grant_id=consent.id)
    return body


async def _reuse_detected(uow: SqlUnitOfWork, record: TokenRecord) -> None:
    consent = await uow.consents.get(record.grant_id)
    if consent is not None and consent.state.is_live:
        # The one path: tokens, ledger, and (in the outbox) notice and holder revocation.
        await revoke(
            uow,
            consent_id=consent.id,
            actor=SECURITY,
            reason="refresh_token_reuse",
            now=uow.now,
        )
    else:
        await uow.tokens.revoke_for_grant(record.grant_id, uow.now)
        await uow.commit()
    log.warning("token.refresh_reused", client_id=record.client_id, grant_id=record.grant_id)
    raise InvalidGrant("refresh token already used; the grant is revoked")
