"""The tables. SQLModel table models skip validation: input is validated by the non-table
models in the modules that take it (areas, customers, outages), never by these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from outage_notify.db import UTCDateTime, utcnow
from outage_notify.network_tables import (  # noqa: F401 (re-exported)
    NetworkInfo,
    NetworkLink,
    NetworkNode,
    NetworkValve,
    OutagePipe,
)

# The states and kinds, defined in states.py; callers import them from here.
from outage_notify.states import (  # noqa: F401
    CHANGE_KINDS,
    FINAL_DELIVERY_STATES,
    NEVER_TOLD,
    SUBSCRIBER_MOVES,
    TOLD_KINDS,
    UPCOMING_KINDS,
    DeliveryState,
    NoticeKind,
    NoticeState,
    OutageStatus,
    SubscriberStatus,
    Utility,
)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def area_label(name: str, name_en: str | None, language: str) -> str:
    """An area's name as shown in ``language``: its English name where it has one."""
    return name_en if language == "en" and name_en else name


class ServiceArea(SQLModel, table=True):
    __tablename__ = "service_area"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    # The streets it covers, as residents know them (the GeoJSON ``description`` property).
    description: str | None = Field(default=None, max_length=500)
    utility: str = Field(max_length=8, index=True)
    # The GeoJSON geometry (Polygon or MultiPolygon, lon/lat) and its bounding box.
    geometry: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    created_at: datetime = _created()
    updated_at: datetime = _created()

    def label(self, language: str) -> str:
        return area_label(self.name, self.name_en, language)


class Customer(SQLModel, table=True):
    __tablename__ = "customer"
    # Targeting looks customers up by each area's bounding box.
    __table_args__ = (Index("ix_customer_lon_lat", "longitude", "latitude"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=20, index=True)  # E.164
    email: str | None = Field(default=None, max_length=320, index=True)  # normalised
    language: str = Field(max_length=8)
    address: str = Field(default="", max_length=500)
    latitude: float | None = None
    longitude: float | None = None
    water_area: str | None = Field(default=None, max_length=64, index=True)
    gas_area: str | None = Field(default=None, max_length=64, index=True)
    # "sms;email" or a subset; empty means every channel the customer has a contact for.
    channels: str = Field(default="", max_length=16)
    critical: bool = False
    # The network junction or pipe the premise is fed from (network targeting); without it the
    # customer is linked to the nearest pipe by location.
    service_node: str | None = Field(default=None, max_length=64)
    # Set when a provider says the contact cannot receive (Twilio 21211, SMTP 5.1.1, ...).
    phone_invalid: bool = False
    email_invalid: bool = False
    voice_invalid: bool = False  # the number cannot be called (Twilio 13224, 21217, ...)
    landline: bool = False  # FIXED_LINE, set at import: called where it would get an SMS
    # A digest of the imported row, so re-importing an unchanged file writes nothing.
    row_hash: str = Field(default="", max_length=64)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Subscriber(SQLModel, table=True):
    """Somebody without an account who follows an area (web sign-up or SMS ``SUB``)."""

    __tablename__ = "subscriber"
    __table_args__ = (
        UniqueConstraint(
            "channel", "address", "area_code", name="uq_subscriber_channel_address_area"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=8)
    address: str = Field(max_length=320, index=True)
    area_code: str = Field(max_length=64, index=True)
    language: str = Field(max_length=8)
    status: str = Field(default=SubscriberStatus.PENDING, max_length=16)  # SubscriberStatus
    confirm_secret_hash: str | None = Field(default=None, max_length=128)
    confirm_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_source: str = Field(max_length=16)  # web | sms
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()
    updated_at: datetime = _created()

    def move_to(self, status: SubscriberStatus, now: datetime) -> str:
        """The one way a subscription changes status (SUBSCRIBER_MOVES); returns the status
        before. ValueError for a move the table does not allow."""
        before = self.status
        if status not in SUBSCRIBER_MOVES[before]:
            raise ValueError(f"subscriber {self.id}: no move from {before} to {status}")
        self.status = status
        self.updated_at = now
        return before


class Outage(SQLModel, table=True):
    """A planned shutoff. Every change makes a new revision; ``OutageRevision`` keeps them."""

    __tablename__ = "outage"

    id: int | None = Field(default=None, primary_key=True)
    ref: str | None = Field(default=None, max_length=64, unique=True, index=True)  # work order
    utility: str = Field(max_length=8, index=True)
    title: str = Field(max_length=120)
    description: str = Field(default="", max_length=4000)
    start_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    end_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    area_codes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # The place an upstream feed gave (a GeoJSON Polygon or MultiPolygon, lon/lat): customers
    # are then matched by it rather than by the whole of ``area_codes``.
    geometry: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    status: str = Field(default=OutageStatus.PLANNED, max_length=16, index=True)
    revision: int = 1
    short_notice: bool = False
    cancel_reason: str | None = Field(default=None, max_length=500)
    restored_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = _created()
    updated_at: datetime = _created()

    def as_revision(
        self, *, change: str, reason: str | None = None, actor: str = ""
    ) -> OutageRevision:
        """The outage as it stands, as a revision row (to store, or to stand in for one)."""
        return OutageRevision(
            outage_id=self.id or 0,
            revision=self.revision,
            change=change,
            title=self.title,
            description=self.description,
            start_at=self.start_at,
            end_at=self.end_at,
            area_codes=list(self.area_codes),
            status=self.status,
            reason=reason,
            actor=actor[:64],
        )


class OutageRevision(SQLModel, table=True):
    __tablename__ = "outage_revision"
    __table_args__ = (UniqueConstraint("outage_id", "revision", name="uq_outage_revision"),)

    id: int | None = Field(default=None, primary_key=True)
    outage_id: int = Field(foreign_key="outage.id", index=True)
    revision: int
    change: str = Field(max_length=16)  # created | rescheduled | extended | cancelled | restored
    title: str = Field(max_length=120)
    description: str = Field(default="", max_length=4000)
    start_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    end_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    area_codes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=500)
    actor: str = Field(default="", max_length=64)
    created_at: datetime = _created()


class Notice(SQLModel, table=True):
    """One notice of an outage revision, due at one time (outage x kind x due time)."""

    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint(
            "outage_id", "revision", "kind", "audience", "due_at", name="uq_notice_outage_kind_due"
        ),
        Index("ix_notice_state_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    outage_id: int = Field(foreign_key="outage.id", index=True)
    revision: int
    kind: str = Field(max_length=16)
    audience: str = Field(default="all", max_length=16)  # all | critical
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # email and feeds
    sms_due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # moved for quiet hours
    shifted_for_quiet_hours: bool = False
    urgent: bool = False  # quiet hours could not be honoured before the work starts
    # After this a pending delivery is expired, never sent (the work start, for upcoming work).
    deadline: datetime = Field(sa_type=UTCDateTime, nullable=False)
    state: str = Field(default=NoticeState.PENDING, max_length=16)
    expanded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late: bool = False  # expanded after its due time (daemon was down)
    created_at: datetime = _created()


class Delivery(SQLModel, table=True):
    """The outbox: one row per (notice, recipient, channel).

    The recipient is the contact address, so two accounts sharing a phone get one SMS.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint(
            "notice_id", "address", "channel", name="uq_delivery_notice_recipient_channel"
        ),
        Index("ix_delivery_state_next", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    channel: str = Field(max_length=8)
    address: str = Field(max_length=320)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    subscriber_id: int | None = Field(default=None, foreign_key="subscriber.id", index=True)
    language: str = Field(max_length=8)
    state: str = Field(default=DeliveryState.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    deadline: datetime = Field(sa_type=UTCDateTime, nullable=False)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_id: str | None = Field(default=None, max_length=128, index=True)
    error_code: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=500)
    late: bool = False  # sent after its due time
    duplicate: bool = False  # possibly sent twice: resent after a crash in the in-flight window
    # A change notice: the revision this contact was last told (0: never told), which its text
    # states the change against (delivery/told.py); NULL for the other kinds.
    told_revision: int | None = None
    created_at: datetime = _created()
    updated_at: datetime = _created()


class OptOut(SQLModel, table=True):
    """An address that must not get a channel. Opting in again deletes the row (audited)."""

    __tablename__ = "opt_out"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_opt_out_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=8)
    address: str = Field(max_length=320)
    source: str = Field(max_length=16)  # sms | email | planner | web | provider
    reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = _created()


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created()
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)  # e.g. outage.reschedule, customer.opt_out
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class InboundMessage(SQLModel, table=True):
    """Every inbound SMS, kept whatever it says (STOP/HELP counts come from here)."""

    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    from_address: str = Field(max_length=32, index=True)
    body: str = Field(default="", max_length=1600)
    keyword: str | None = Field(default=None, max_length=16)  # stop | start | help | status | sub
    received_at: datetime = _created()


class DaemonState(SQLModel, table=True):
    """The scheduler's heartbeat, so ``/healthz`` in any process can tell how it is doing."""

    __tablename__ = "daemon_state"

    name: str = Field(primary_key=True, max_length=32)  # "scheduler"
    holder: str = Field(default="", max_length=128)  # host:pid of the elected scheduler
    last_tick_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_wake_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = _created()


class Source(SQLModel, table=True):
    """An upstream feed of planned work (RSS, Atom or CAP) that the daemon polls."""

    __tablename__ = "source"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=32, unique=True, index=True)
    url: str = Field(max_length=2000)
    format: str = Field(max_length=8)  # rss | atom | cap
    utility: str | None = Field(default=None, max_length=8)  # when an entry names none
    area_codes: list[str] = Field(sa_column=Column(JSON, nullable=False))  # when it has no place
    trusted: bool = False  # untrusted: its outages wait in review for `outages approve`
    every_seconds: int = 300
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    next_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    last_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status: str = Field(default="never", max_length=16)  # never | ok | not_modified | error
    last_error: str | None = Field(default=None, max_length=500)
    entries_seen: int = 0
    # Bumped by each poll that gets applied: a poll that fetched before another one was
    # applied sees it moved and drops its copy, which may be the older one.
    polls: int = 0
    created_at: datetime = _created()
    updated_at: datetime = _created()


class SourceEntry(SQLModel, table=True):
    """One entry of a source as last seen, and the outage it became (if any)."""

    __tablename__ = "source_entry"
    __table_args__ = (UniqueConstraint("source_id", "entry_key", name="uq_source_entry_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    entry_key: str = Field(max_length=500)  # the entry id (CAP: the first alert's identifier)
    aliases: list[str] = Field(sa_column=Column(JSON, nullable=False))  # CAP identifiers seen
    outage_id: int | None = Field(default=None, foreign_key="outage.id", index=True)
    fields_hash: str = Field(default="", max_length=64)
    state: str = Field(max_length=16)  # outage | held | cancelled | ignored
    reason: str | None = Field(default=None, max_length=500)  # why held, or a change not applied
    first_seen_at: datetime = _created()
    last_seen_at: datetime = _created()
    vanished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# The critical-needs ladder's tables, registered with the rest (migrations, tests).
from outage_notify.escalation_models import Escalation as Escalation  # noqa: E402
from outage_notify.escalation_models import EscalationEvent as EscalationEvent  # noqa: E402
from outage_notify.escalation_models import EscalationStep as EscalationStep  # noqa: E402
from outage_notify.nowater_tables import NoWaterAlert as NoWaterAlert  # noqa: E402
from outage_notify.nowater_tables import NoWaterReport as NoWaterReport  # noqa: E402
