"""The schema, as SQLAlchemy Core tables. Alembic migrations (``broker/migrations``) are
written against this module; ``tests/integration`` checks the two agree.

Secrets never sit here in clear: tokens, codes and session ids are stored as SHA-256
hashes (they are 256-bit random values, so a plain hash is enough and lookups stay O(1));
holder credentials are AES-GCM ciphertexts (``broker/crypto.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

from consent.ledger import Scalar, details_text

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both stores. SQLite keeps no zone and hands back
    naive values; comparing those with aware ones fails, and the ledger's hashes cover the
    exact ISO text of each timestamp, so every value is normalised to UTC both ways."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware values")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


TS = UtcDateTime()

residents = Table(
    "residents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("login", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("display_name", String(120), nullable=False),
    Column("locale", String(5), nullable=False, default="fr"),
    Column("created_at", TS, nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("resident_id", String(64), ForeignKey("residents.id", ondelete="CASCADE")),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("login", String(254), nullable=False, index=True),
    Column("at", TS, nullable=False),
)

services = Table(
    "services",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("registration", JSON, nullable=False),  # consent.registry.ServiceRegistration
    Column("secret_hash", String(255), nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", TS, nullable=False),
)

holders = Table(
    "holders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("manifest", JSON, nullable=False),  # consent.registry.HolderManifest
    Column("client_id", String(255), nullable=False),  # the broker's client id at the holder
    Column("client_secret_enc", Text, nullable=False),
    Column("created_at", TS, nullable=False),
)

consents = Table(
    "consents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("subject", String(64), nullable=False, index=True),
    Column("service", String(64), nullable=False, index=True),
    Column("holder", String(64), nullable=False, index=True),
    Column("state", String(32), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("expires_at", TS, nullable=True),
    Column("data", JSON, nullable=False),  # consent.model.Consent
    # What the broker needs to call the holder for this consent (e.g. the PRM), encrypted.
    Column("holder_credential_enc", Text, nullable=True),
    Column("updated_at", TS, nullable=False),
    Index("ix_consents_state_expires", "state", "expires_at"),
)

consent_revisions = Table(
    "consent_revisions",
    metadata,
    Column(
        "consent_id", String(64), ForeignKey("consents.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("revision", Integer, primary_key=True),
    Column("data", JSON, nullable=False),
    Column("recorded_at", TS, nullable=False),
)

par_requests = Table(
    "par_requests",
    metadata,
    Column("id", String(64), primary_key=True),  # the random part of the request_uri
    Column("client_id", String(64), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("state", String(512), nullable=True),
    Column("code_challenge", String(128), nullable=False),
    Column("authorization_details", JSON, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("used_at", TS, nullable=True),
)

# One resident's walk through /oauth/authorize: login, consent screen, holder linking.
authorizations = Table(
    "authorizations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("par_id", String(64), ForeignKey("par_requests.id"), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("subject", String(64), nullable=True),
    Column("consent_id", String(64), nullable=True),
    Column("holder_state_hash", String(64), nullable=True, unique=True),
    Column("status", String(32), nullable=False),
    Column("expires_at", TS, nullable=False),
)

auth_codes = Table(
    "auth_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("consent_id", String(64), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("used_at", TS, nullable=True),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # access | refresh
    Column("client_id", String(64), nullable=False),
    Column("grant_id", String(64), nullable=False, index=True),
    Column("issued_at", TS, nullable=False),
    Column("expires_at", TS, nullable=True),
    Column("revoked_at", TS, nullable=True),
    # A rotated refresh token is kept so that its reuse can be detected (RFC 9700 §4.14.2).
    Column("rotated_at", TS, nullable=True),
)

client_assertions = Table(
    "client_assertions",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("jti", String(255), primary_key=True),
    Column("expires_at", TS, nullable=False),
)


class LedgerDetails(TypeDecorator[dict[str, Scalar]]):
    """A ledger entry's ``details``: a JSON column written as its canonical text
    (``consent.ledger.details_text``, the very bytes the entry's hash covers), whatever
    serializer the engine has. ``aiguillage ledger verify`` then hashes the stored text as
    it stands instead of parsing and re-encoding it (docs/performance.md, round seven);
    reading back is plain JSON. Entries written before this type hold ``json.dumps``'
    default form, which verify still parses."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        return details_text


ledger = Table(
    "ledger",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("at", TS, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("actor", String(160), nullable=False),
    Column("subject", String(64), nullable=True, index=True),
    Column("consent_id", String(64), nullable=True, index=True),
    Column("service", String(64), nullable=True),
    Column("holder", String(64), nullable=True),
    Column("details", LedgerDetails, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# A single row naming the newest entry. Appenders lock it by updating it first, which
# serialises appends on SQLite and PostgreSQL alike, and it reveals a truncated tail.
ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("seq", name="uq_ledger_head_seq"),
)

transfer_counters = Table(
    "transfer_counters",
    metadata,
    Column("holder", String(64), primary_key=True),
    Column("service", String(64), primary_key=True),
    Column("window", String(16), primary_key=True),  # "s:<epoch>", "h:<epoch/3600>", "d:<date>"
    Column("count", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
)

# Transfers admitted whose ledger entry is not written yet (``broker.data.open_transfers``):
# a row is added with the contract counters before the holder is asked and removed in the
# transaction that writes the transfer's entry. A row left by a stopped broker becomes a
# ``broker_stopped`` entry when the next one starts, so no transfer goes unrecorded.
open_transfers = Table(
    "open_transfers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("consent_id", String(64), nullable=False),
    Column("resource", String(64), nullable=False),
    Column("first_day", String(10), nullable=True),
    Column("last_day", String(10), nullable=True),
    Column("opened_at", TS, nullable=False),
)

# Background work (notices to services, revocations at holders, scheduled fetches). A job
# is claimed with a lease (``claimed_until``) under ``FOR UPDATE SKIP LOCKED`` on
# PostgreSQL, so each runs once whichever instance takes it, and an instance that dies
# mid-job only delays it until the lease runs out.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("run_after", TS, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_until", TS, nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("done_at", TS, nullable=True),
    Column("failed_at", TS, nullable=True),
    Column("created_at", TS, nullable=False),
    Index("ix_jobs_due", "done_at", "failed_at", "run_after"),
)

# --- #3 Data holders: blacklists, holder staff and their console, holder-side revocation --

# A holder shuts a service out "for legitimate security reasons"; kept apart from the
# manifest's ``blocked_services`` so that the holder's own console can change it.
holder_blacklist = Table(
    "holder_blacklist",
    metadata,
    Column("holder", String(64), primary_key=True),
    Column("service", String(64), primary_key=True),
    Column("reason", String(300), nullable=False),
    Column("actor", String(160), nullable=False),
    Column("created_at", TS, nullable=False),
)

# The secret a holder signs its revocation notices with (HS256), sealed like any secret.
holder_webhooks = Table(
    "holder_webhooks",
    metadata,
    Column("holder", String(64), primary_key=True),
    Column("secret_enc", Text, nullable=False),
)

# Each notice's ``jti`` is kept until the notice expires, so a replay is refused.
webhook_replays = Table(
    "webhook_replays",
    metadata,
    Column("holder", String(64), primary_key=True),
    Column("jti", String(128), primary_key=True),
    Column("expires_at", TS, nullable=False),
)

holder_staff = Table(
    "holder_staff",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("holder", String(64), nullable=False, index=True),
    Column("login", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", TS, nullable=False),
)

holder_staff_sessions = Table(
    "holder_staff_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column(
        "staff_id", String(64), ForeignKey("holder_staff.id", ondelete="CASCADE"), nullable=False
    ),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
)

# A keyed hash (HMAC-SHA256) of the holder-side subject, so that a holder's revocation
# naming a meter or an account finds its consents while the consent record keeps only
# "…1234". Added to ``consents`` by migration 0004.
consents.append_column(Column("holder_subject_key", String(64), nullable=True))
Index("ix_consents_holder_subject_key", consents.c.holder, consents.c.holder_subject_key)

# --- #4 Resident control: the keys behind the ledger's resident pseudonyms ----------------

# The ledger names a resident by HMAC(key, resident id), never by the id itself. Deleting a
# resident's key (GDPR erasure) leaves their entries in the chain, still verifying, but
# no longer linkable to them (``broker/gdpr/pseudonyms.py``).
resident_keys = Table(
    "resident_keys",
    metadata,
    Column("resident_id", String(64), primary_key=True),
    Column("key", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
)
