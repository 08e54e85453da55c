"""area descriptions; no-water reports after a restoration and their threshold alerts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_area") as batch_op:
        batch_op.add_column(sa.Column("description", sa.String(length=500), nullable=True))
    op.create_table(
        "no_water_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=64), nullable=False),
        sa.Column("reporter", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["outage_id"], ["outage.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outage_id", "reporter", name="uq_no_water_report_outage_reporter"),
    )
    op.create_index("ix_no_water_report_area_code", "no_water_report", ["area_code"])
    op.create_index("ix_no_water_report_outage_id", "no_water_report", ["outage_id"])
    op.create_table(
        "no_water_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=64), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["outage_id"], ["outage.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outage_id", "area_code", name="uq_no_water_alert_outage_area"),
    )
    op.create_index("ix_no_water_alert_outage_id", "no_water_alert", ["outage_id"])


def downgrade() -> None:
    op.drop_index("ix_no_water_alert_outage_id", table_name="no_water_alert")
    op.drop_table("no_water_alert")
    op.drop_index("ix_no_water_report_outage_id", table_name="no_water_report")
    op.drop_index("ix_no_water_report_area_code", table_name="no_water_report")
    op.drop_table("no_water_report")
    with op.batch_alter_table("service_area") as batch_op:
        batch_op.drop_column("description")
