"""The repository contract, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.crypto import hash_token, new_token
from broker.storage.engine import make_engine
from broker.storage.passwords import verified
from broker.storage.uow import SqlUnitOfWork
from consent import usecases
from consent.details import AuthorizationDetail
from consent.model import Actor, ConsentState
from consent.registry import HolderManifest, ServiceRegistration

NOW = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)

MANIFEST = HolderManifest.model_validate(
    {
        "id": "enedis",
        "name": "Enedis",
        "protocol": "enedis-dataconnect",
        "base_url": "http://127.0.0.1:9",
        "authorization_endpoint": "http://127.0.0.1:9/a",
        "token_endpoint": "http://127.0.0.1:9/t",
        "resources": [
            {"name": "daily_consumption", "path": "/d", "description_fr": "jour par jour"},
            {
                "name": "consumption_load_curve",
                "path": "/c",
                "description_fr": "demi-heure",
                "max_days_per_call": 7,
                "history_days": 745,
            },
        ],
    }
)
SERVICE = ServiceRegistration.model_validate(
    {
        "client_id": "carbon-coach",
        "name": "Coach",
        "redirect_uris": ["http://127.0.0.1:9/cb"],
        "purposes": [{"code": "energy_coaching", "sentence_fr": "conseils"}],
        "privacy_policy_url": "http://127.0.0.1:9/p",
        "status": "approved",
    }
)
DETAIL = AuthorizationDetail.model_validate(
    {
        "type": "personal_data_transfer",
        "holder": "enedis",
        "resources": ["daily_consumption", "consumption_load_curve"],
        "purpose": "energy_coaching",
        "data_window": {"history": "P12M", "include_future": True},
        "frequency": "daily",
        "duration": "P1Y",
    }
)


def uow(engine: AsyncEngine, now: datetime = NOW) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, lambda: now)


async def active_consent(engine: AsyncEngine, consent_id: str = "grant-1") -> None:
    async with uow(engine) as u:
        await usecases.request_consent(
            u,
            consent_id=consent_id,
            subject="res_1",
            service=SERVICE,
            manifest=MANIFEST,
            detail=DETAIL,
            now=NOW,
        )
        await usecases.accept(u, consent_id=consent_id, subject="res_1", now=NOW)
        await usecases.link_holder(
            u, consent_id=consent_id, holder_subject="12345678901234", now=NOW
        )


async def test_a_consent_round_trips_with_its_timestamps_in_utc(engine: AsyncEngine) -> None:
    await active_consent(engine)
    async with uow(engine) as u:
        consent = await u.consents.get("grant-1")
    assert consent is not None
    assert consent.state is ConsentState.ACTIVE
    assert consent.activated_at == NOW
    assert consent.expires_at == datetime(2027, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


async def test_narrowing_keeps_the_superseded_revision(engine: AsyncEngine) -> None:
    await active_consent(engine)
    async with uow(engine) as u:
        await usecases.narrow(
            u, consent_id="grant-1", subject="res_1", now=NOW, resources=["daily_consumption"]
        )
        old = await u.consents.revisions("grant-1")
        new = await u.consents.get("grant-1")
    assert [r.revision for r in old] == [1]
    assert old[0].resources == ["daily_consumption", "consumption_load_curve"]
    assert new is not None and new.revision == 2 and new.resources == ["daily_consumption"]


async def test_leaving_a_unit_of_work_without_commit_leaves_nothing(engine: AsyncEngine) -> None:
    await active_consent(engine)
    async with uow(engine) as u:
        consent = await u.consents.get("grant-1")
        assert consent is not None
        consent.revoke(Actor(kind="resident", id="res_1"), NOW, "test")
        await u.consents.save(consent)
        await u.ledger.append(usecases._event("consent.revoked", consent, "resident:res_1"), NOW)
        # no commit: as if the process had failed here
    async with uow(engine) as u:
        again = await u.consents.get("grant-1")
        entries = await u.ledger.for_consent("grant-1")
    assert again is not None and again.state is ConsentState.ACTIVE
    assert [e.kind for e in entries] == ["holder.linked", "consent.granted", "consent.requested"]


async def test_due_consents_are_listed_for_expiry_and_expire(engine: AsyncEngine) -> None:
    await active_consent(engine, "grant-1")
    later = NOW + timedelta(days=366)
    async with uow(engine, later) as u:
        expired = await usecases.expire_due(u, now=later)
    assert [c.id for c in expired] == ["grant-1"]
    async with uow(engine, later) as u:
        consent = await u.consents.get("grant-1")
    assert consent is not None and consent.state is ConsentState.EXPIRED


async def test_tokens_are_stored_only_as_hashes(engine: AsyncEngine) -> None:
    token = new_token("ag_at")
    async with uow(engine) as u:
        await u.tokens.add(
            token_hash=hash_token(token),
            kind="access",
            client_id="carbon-coach",
            grant_id="grant-1",
            issued_at=NOW,
            expires_at=NOW + timedelta(600),
        )
        await u.commit()
    async with engine.connect() as conn:
        dump = " ".join(str(r) for r in await conn.execute(text("select * from tokens")))
    assert token not in dump and hash_token(token) in dump


async def test_revoking_a_grant_kills_all_its_tokens(engine: AsyncEngine) -> None:
    async with uow(engine) as u:
        for kind in ("access", "refresh"):
            await u.tokens.add(
                token_hash=hash_token(kind),
                kind=kind,
                client_id="c",
                grant_id="grant-1",
                issued_at=NOW,
                expires_at=None,
            )
        assert await u.tokens.revoke_for_grant("grant-1", NOW) == 2
        await u.commit()
        record = await u.tokens.find(hash_token("access"))
    assert record is not None and not record.usable(NOW)


async def test_two_concurrent_rotations_of_one_refresh_token_let_exactly_one_win(
    database_url: str, engine: AsyncEngine
) -> None:
    async with uow(engine) as u:
        await u.tokens.add(
            token_hash="rt",
            kind="refresh",
            client_id="c",
            grant_id="g",
            issued_at=NOW,
            expires_at=None,
        )
        await u.commit()
    # Two engines stand for two broker instances (on SQLite, two processes' connections).
    other = make_engine(database_url)

    async def rotate(e: AsyncEngine) -> bool:
        async with uow(e) as u:
            won = await u.tokens.mark_rotated("rt", NOW)
            await u.commit()
            return won

    try:
        results = await asyncio.gather(rotate(engine), rotate(other))
    finally:
        await other.dispose()
    assert sorted(results) == [False, True]


async def test_passwords_are_checked_and_sessions_expire(engine: AsyncEngine) -> None:
    async with uow(engine) as u:
        resident = await u.residents.add(
            login="a@b.fr", password="correct horse", display_name="A", now=NOW
        )
        session = await u.residents.open_session(resident.id, NOW, ttl=60)
        await u.commit()
        account = await u.residents.account("a@b.fr")
        assert account is not None and account[0] == resident
        assert account[1].startswith("$argon2id$")  # the password itself is nowhere
        assert await verified(account, "wrong") is None
        assert await verified(account, "correct horse") == resident
        assert await u.residents.account("nobody@b.fr") is None
        assert await u.residents.session_resident(session, NOW) == resident
        assert await u.residents.session_resident(session, NOW + timedelta(seconds=61)) is None


@pytest.mark.parametrize("appenders", [4])
async def test_concurrent_ledger_appends_keep_one_valid_chain(
    database_url: str, engine: AsyncEngine, appenders: int
) -> None:
    from broker.ledger_check import check_ledger
    from consent.ledger import LedgerEvent

    engines = [engine] + [make_engine(database_url) for _ in range(appenders - 1)]

    async def append_many(e: AsyncEngine, who: int) -> None:
        for i in range(10):
            async with uow(e) as u:
                await u.ledger.append(
                    LedgerEvent(kind="test", actor=f"a{who}", details={"i": i}), NOW
                )
                await u.commit()

    try:
        await asyncio.gather(*(append_many(e, n) for n, e in enumerate(engines)))
    finally:
        for e in engines[1:]:
            await e.dispose()
    report = await check_ledger(engine)
    assert report.ok, report.describe()
    assert report.count == appenders * 10
