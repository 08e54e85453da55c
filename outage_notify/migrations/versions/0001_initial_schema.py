"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_event_action"), "audit_event", ["action"], unique=False)
    op.create_index(op.f("ix_audit_event_entity_id"), "audit_event", ["entity_id"], unique=False)

    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("water_area", sa.String(length=64), nullable=True),
        sa.Column("gas_area", sa.String(length=64), nullable=True),
        sa.Column("channels", sa.String(length=16), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("phone_invalid", sa.Boolean(), nullable=False),
        sa.Column("email_invalid", sa.Boolean(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_customer_account_id"), "customer", ["account_id"], unique=True)
    op.create_index(op.f("ix_customer_email"), "customer", ["email"], unique=False)
    op.create_index(op.f("ix_customer_gas_area"), "customer", ["gas_area"], unique=False)
    op.create_index(op.f("ix_customer_phone"), "customer", ["phone"], unique=False)
    op.create_index(op.f("ix_customer_water_area"), "customer", ["water_area"], unique=False)
    op.create_index("ix_customer_lon_lat", "customer", ["longitude", "latitude"], unique=False)

    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("from_address", sa.String(length=32), nullable=False),
        sa.Column("body", sa.String(length=1600), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider_sid"),
    )
    op.create_index(
        op.f("ix_inbound_message_from_address"), "inbound_message", ["from_address"], unique=False
    )

    op.create_table(
        "opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "address", name="uq_opt_out_channel_address"),
    )
    op.create_table(
        "outage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("utility", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("short_notice", sa.Boolean(), nullable=False),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_outage_ref"), "outage", ["ref"], unique=True)
    op.create_index(op.f("ix_outage_start_at"), "outage", ["start_at"], unique=False)
    op.create_index(op.f("ix_outage_status"), "outage", ["status"], unique=False)
    op.create_index(op.f("ix_outage_utility"), "outage", ["utility"], unique=False)

    op.create_table(
        "service_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("utility", sa.String(length=8), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_service_area_code"), "service_area", ["code"], unique=True)
    op.create_index(op.f("ix_service_area_utility"), "service_area", ["utility"], unique=False)

    op.create_table(
        "subscriber",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("area_code", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("confirm_secret_hash", sa.String(length=128), nullable=True),
        sa.Column("confirm_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_source", sa.String(length=16), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "channel", "address", "area_code", name="uq_subscriber_channel_address_area"
        ),
    )
    op.create_index(op.f("ix_subscriber_address"), "subscriber", ["address"], unique=False)
    op.create_index(op.f("ix_subscriber_area_code"), "subscriber", ["area_code"], unique=False)

    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sms_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shifted_for_quiet_hours", sa.Boolean(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("expanded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outage_id"],
            ["outage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "outage_id", "revision", "kind", "audience", "due_at", name="uq_notice_outage_kind_due"
        ),
    )
    op.create_index(op.f("ix_notice_outage_id"), "notice", ["outage_id"], unique=False)
    op.create_index("ix_notice_state_due", "notice", ["state", "due_at"], unique=False)

    op.create_table(
        "outage_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outage_id"],
            ["outage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outage_id", "revision", name="uq_outage_revision"),
    )
    op.create_index(
        op.f("ix_outage_revision_outage_id"), "outage_revision", ["outage_id"], unique=False
    )

    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=128), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notice.id"],
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "notice_id", "address", "channel", name="uq_delivery_notice_recipient_channel"
        ),
    )
    op.create_index(op.f("ix_delivery_customer_id"), "delivery", ["customer_id"], unique=False)
    op.create_index(op.f("ix_delivery_notice_id"), "delivery", ["notice_id"], unique=False)
    op.create_index(op.f("ix_delivery_provider_id"), "delivery", ["provider_id"], unique=False)
    op.create_index(
        "ix_delivery_state_next", "delivery", ["state", "next_attempt_at"], unique=False
    )
    op.create_index(op.f("ix_delivery_subscriber_id"), "delivery", ["subscriber_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_delivery_subscriber_id"), table_name="delivery")
    op.drop_index("ix_delivery_state_next", table_name="delivery")
    op.drop_index(op.f("ix_delivery_provider_id"), table_name="delivery")
    op.drop_index(op.f("ix_delivery_notice_id"), table_name="delivery")
    op.drop_index(op.f("ix_delivery_customer_id"), table_name="delivery")

    op.drop_table("delivery")
    op.drop_index(op.f("ix_outage_revision_outage_id"), table_name="outage_revision")

    op.drop_table("outage_revision")
    op.drop_index("ix_notice_state_due", table_name="notice")
    op.drop_index(op.f("ix_notice_outage_id"), table_name="notice")

    op.drop_table("notice")
    op.drop_index(op.f("ix_subscriber_area_code"), table_name="subscriber")
    op.drop_index(op.f("ix_subscriber_address"), table_name="subscriber")

    op.drop_table("subscriber")
    op.drop_index(op.f("ix_service_area_utility"), table_name="service_area")
    op.drop_index(op.f("ix_service_area_code"), table_name="service_area")

    op.drop_table("service_area")
    op.drop_index(op.f("ix_outage_utility"), table_name="outage")
    op.drop_index(op.f("ix_outage_status"), table_name="outage")
    op.drop_index(op.f("ix_outage_start_at"), table_name="outage")
    op.drop_index(op.f("ix_outage_ref"), table_name="outage")

    op.drop_table("outage")
    op.drop_table("opt_out")
    op.drop_index(op.f("ix_inbound_message_from_address"), table_name="inbound_message")

    op.drop_table("inbound_message")
    op.drop_index(op.f("ix_customer_water_area"), table_name="customer")
    op.drop_index("ix_customer_lon_lat", table_name="customer")
    op.drop_index(op.f("ix_customer_phone"), table_name="customer")
    op.drop_index(op.f("ix_customer_gas_area"), table_name="customer")
    op.drop_index(op.f("ix_customer_email"), table_name="customer")
    op.drop_index(op.f("ix_customer_account_id"), table_name="customer")

    op.drop_table("customer")
    op.drop_index(op.f("ix_audit_event_entity_id"), table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_action"), table_name="audit_event")

    op.drop_table("audit_event")
