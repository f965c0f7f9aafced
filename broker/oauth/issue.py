"""Minting tokens for a grant, and the views of a grant the endpoints share.

Tokens are opaque 256-bit values (``ag_at_…``, ``ag_rt_…``); only their SHA-256 is
stored, with the grant id. An access token lives ``access_token_ttl`` seconds and never
past the consent's end; a refresh token lives until the consent ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from broker.crypto import hash_token, new_token
from broker.storage.oauth_par import aware
from broker.storage.tokens import TokenRecord
from broker.storage.uow import SqlUnitOfWork
from consent.model import Consent, ConsentState


class GrantState(Protocol):
    """What ``grant_usable`` reads of a grant (a ``Consent``, or introspection's view)."""

    @property
    def state(self) -> ConsentState: ...

    @property
    def expires_at(self) -> datetime | None: ...


def grant_usable(consent: GrantState | None, now: datetime) -> bool:
    """Live (ACTIVE, or PAUSED: a pause keeps the tokens, the data plane refuses transfers)
    and not past its end: the only states in which a token may be honoured."""
    return (
        consent is not None
        and consent.state.is_live
        and (consent.expires_at is None or now < consent.expires_at)
    )


def token_usable(record: TokenRecord, now: datetime) -> bool:
    if record.revoked_at is not None or record.rotated_at is not None:
        return False
    return record.expires_at is None or now < aware(record.expires_at)


def granted_details(consent: Consent) -> list[dict[str, Any]]:
    return [consent.granted_detail().model_dump(mode="json")]


def mint_tokens(
    consent: Consent, client_id: str, access_ttl: int, now: datetime
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A new access and refresh token for the grant: their rows (hashed, for the store)
    and the token response body that carries them (docs/wire.md)."""
    access_expires = now + timedelta(seconds=access_ttl)
    if consent.expires_at is not None:
        access_expires = min(access_expires, consent.expires_at)
    access, refresh = new_token("ag_at"), new_token("ag_rt")
    rows = [
        {
            "token_hash": hash_token(token),
            "kind": kind,
            "client_id": client_id,
            "grant_id": consent.id,
            "issued_at": now,
            "expires_at": expires,
        }
        for token, kind, expires in (
            (access, "access", access_expires),
            (refresh, "refresh", consent.expires_at),
        )
    ]
    body = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": max(1, int((access_expires - now).total_seconds())),
        "refresh_token": refresh,
        "grant_id": consent.id,
        "authorization_details": granted_details(consent),
    }
    return rows, body


async def issue_tokens(
    uow: SqlUnitOfWork, consent: Consent, client_id: str, access_ttl: int
) -> dict[str, Any]:
    """Add an access and a refresh token for the grant and commit the unit of work; return
    the token response body (docs/wire.md). On SQLite the insert and the commit are one
    trip to the driver's thread (``SqlTokens.add_many_and_commit``): the token endpoint
    holds the one writer connection meanwhile, so every trip saved is throughput."""
    rows, body = mint_tokens(consent, client_id, access_ttl, uow.now)
    if not await uow.tokens.add_many_and_commit(rows):
        await uow.tokens.add_many(rows)
    # After the driver's commit this only closes SQLAlchemy's transaction (nothing is
    # sent: ``broker.storage.engine._skip_idle_ends``) and runs its commit listeners.
    await uow.commit()
    return body
