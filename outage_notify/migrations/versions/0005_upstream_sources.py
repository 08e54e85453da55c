"""upstream sources: feeds of planned work, their entries, and an outage's own geometry

Revision ID: 0005
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("utility", sa.String(length=8), nullable=True),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("entries_seen", sa.Integer(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_name"), ["name"], unique=True)
        batch_op.create_index(batch_op.f("ix_source_next_poll_at"), ["next_poll_at"], unique=False)

    op.create_table(
        "source_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.String(length=500), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=True),
        sa.Column("fields_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("vanished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["outage_id"],
            ["outage.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "entry_key", name="uq_source_entry_key"),
    )
    with op.batch_alter_table("source_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_entry_outage_id"), ["outage_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_entry_source_id"), ["source_id"], unique=False)

    with op.batch_alter_table("outage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("geometry", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outage", schema=None) as batch_op:
        batch_op.drop_column("geometry")

    with op.batch_alter_table("source_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_entry_source_id"))
        batch_op.drop_index(batch_op.f("ix_source_entry_outage_id"))

    op.drop_table("source_entry")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_next_poll_at"))
        batch_op.drop_index(batch_op.f("ix_source_name"))

    op.drop_table("source")
