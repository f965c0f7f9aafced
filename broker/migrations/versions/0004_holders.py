"""holders: blacklists, staff console, holder-side revocation (#3)

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23 05:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holder_blacklist",
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("holder", "service", name=op.f("pk_holder_blacklist")),
    )
    op.create_table(
        "holder_webhooks",
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("holder", name=op.f("pk_holder_webhooks")),
    )
    op.create_table(
        "webhook_replays",
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("holder", "jti", name=op.f("pk_webhook_replays")),
    )
    op.create_table(
        "holder_staff",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("login", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holder_staff")),
        sa.UniqueConstraint("login", name=op.f("uq_holder_staff_login")),
    )
    with op.batch_alter_table("holder_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holder_staff_holder"), ["holder"], unique=False)
    op.create_table(
        "holder_staff_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["holder_staff.id"],
            name=op.f("fk_holder_staff_sessions_staff_id_holder_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_holder_staff_sessions")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder_subject_key", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_consents_holder_subject_key", ["holder", "holder_subject_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consents_holder_subject_key")
        batch_op.drop_column("holder_subject_key")
    op.drop_table("holder_staff_sessions")
    with op.batch_alter_table("holder_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holder_staff_holder"))
    op.drop_table("holder_staff")
    op.drop_table("webhook_replays")
    op.drop_table("holder_webhooks")
    op.drop_table("holder_blacklist")
