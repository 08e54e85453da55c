"""voice and escalation: landlines, numbers that cannot be called, the critical ladder

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # server_default for the rows already there; batch mode, as SQLite cannot drop it later.
    with op.batch_alter_table("customer") as batch:
        batch.add_column(
            sa.Column("voice_invalid", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("landline", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("customer") as batch:
        batch.alter_column("voice_invalid", server_default=None)
        batch.alter_column("landline", server_default=None)
    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("door_knock_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_delivery_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_via", sa.String(length=8), nullable=True),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["call_delivery_id"], ["delivery.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"]),
        sa.ForeignKeyConstraint(["outage_id"], ["outage.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outage_id", "customer_id", name="uq_escalation_outage_customer"),
    )
    op.create_index("ix_escalation_stage", "escalation", ["stage"], unique=False)
    op.create_index(op.f("ix_escalation_outage_id"), "escalation", ["outage_id"], unique=False)
    op.create_index(op.f("ix_escalation_customer_id"), "escalation", ["customer_id"], unique=False)
    op.create_table(
        "escalation_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_escalation_event_escalation_id"),
        "escalation_event",
        ["escalation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_escalation_event_escalation_id"), table_name="escalation_event")
    op.drop_table("escalation_event")
    op.drop_index(op.f("ix_escalation_customer_id"), table_name="escalation")
    op.drop_index(op.f("ix_escalation_outage_id"), table_name="escalation")
    op.drop_index("ix_escalation_stage", table_name="escalation")
    op.drop_table("escalation")
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("landline")
        batch.drop_column("voice_invalid")
