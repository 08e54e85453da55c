"""The "still no water" tables: residents' reports after a restoration, and the alerts they
raise (see residents/nowater.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from outage_notify.db import UTCDateTime, utcnow


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class NoWaterReport(SQLModel, table=True):
    """A resident still without water after an outage was restored (SMS ``NOWATER``, the
    outage page's form, Open311). One per outage and premise: a repeat is acknowledged and
    not counted again."""

    __tablename__ = "no_water_report"
    __table_args__ = (
        UniqueConstraint("outage_id", "reporter", name="uq_no_water_report_outage_reporter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    outage_id: int = Field(foreign_key="outage.id", index=True)
    area_code: str = Field(max_length=64, index=True)
    reporter: str = Field(max_length=64)  # customer:ID, subscriber:ID or phone:DIGEST
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    source: str = Field(max_length=16)  # sms | web | open311
    detail: str = Field(default="", max_length=500)  # an Open311 description
    reported_at: datetime = _created()


class NoWaterAlert(SQLModel, table=True):
    """Reports from one area of one outage passed ``nowater.threshold``: the planner is
    told once (``sent_at`` set once the dispatch email went)."""

    __tablename__ = "no_water_alert"
    __table_args__ = (
        UniqueConstraint("outage_id", "area_code", name="uq_no_water_alert_outage_area"),
    )

    id: int | None = Field(default=None, primary_key=True)
    outage_id: int = Field(foreign_key="outage.id", index=True)
    area_code: str = Field(max_length=64)
    reports: int
    raised_at: datetime = _created()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
