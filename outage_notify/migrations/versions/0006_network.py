"""the pipe network: nodes, links, valves and their segments; outages by pipe; service_node

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_info",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=500), nullable=False),
        sa.Column("utility", sa.String(length=8), nullable=False),
        sa.Column("valves_from", sa.String(length=16), nullable=False),
        sa.Column("located", sa.Boolean(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "network_node",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("segment", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_network_node_segment", "network_node", ["segment"])
    op.create_table(
        "network_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("start_node", sa.String(length=64), nullable=False),
        sa.Column("end_node", sa.String(length=64), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("segment", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_network_link_segment", "network_link", ["segment"])
    op.create_table(
        "network_valve",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("link", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "outage_pipe",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("pipe", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["outage_id"], ["outage.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outage_id", "pipe", name="uq_outage_pipe"),
    )
    op.create_index("ix_outage_pipe_outage_id", "outage_pipe", ["outage_id"])
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("service_node", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("service_node")
    op.drop_index("ix_outage_pipe_outage_id", table_name="outage_pipe")
    op.drop_table("outage_pipe")
    op.drop_table("network_valve")
    op.drop_index("ix_network_link_segment", table_name="network_link")
    op.drop_table("network_link")
    op.drop_index("ix_network_node_segment", table_name="network_node")
    op.drop_table("network_node")
    op.drop_table("network_info")
