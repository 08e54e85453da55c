"""Still no water after "restored": residents' reports, counted per area, and the alert.

A resident replies ``NOWATER`` (or ``没水``) to any notice, uses the outage page's form, or
the hotline desk files a report over Open311. The report is tied to the most recently
restored water outage of the reporter's areas (restored within ``nowater.window``) and to
the premise: one report per outage and premise (or phone) counts, a repeat is acknowledged
and not counted again. When one area's reports reach ``nowater.threshold`` an alert is
raised, once per outage and area: a line in ``outages show``, a figure in ``report
--outage`` and an email to ``nowater.dispatch_email`` (sent after the transaction commits,
by :func:`send_alerts`), the early sign that a valve was not reopened.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from channels.base import Message
from outage_notify import audit, registry
from outage_notify.db import Database
from outage_notify.models import (
    Customer,
    NoWaterAlert,
    NoWaterReport,
    Outage,
    OutageStatus,
    ServiceArea,
    Subscriber,
    Utility,
)
from outage_notify.notices.sms_replies import render_reply
from outage_notify.residents.subscription_messages import backend, send_now
from outage_notify.settings import Settings

log = logging.getLogger(__name__)
SOURCES = ("sms", "web", "open311")


@dataclass(frozen=True)
class Filed:
    report: NoWaterReport
    counted: bool  # False: this premise had reported this outage already
    alert: NoWaterAlert | None  # raised by this report


def phone_reporter(address: str) -> str:
    """How a reporter known only by phone is named: a digest, never the number."""
    return "phone:" + hashlib.sha256(address.encode()).hexdigest()[:16]


def restored_outage(
    session: Session, settings: Settings, area_codes: Iterable[str], now: datetime
) -> tuple[Outage, str] | None:
    """The water outage of these areas restored most recently (within ``nowater.window``)
    and the first of its areas among ``area_codes``; None when there is none."""
    codes = set(area_codes)
    if not codes:
        return None
    rows = session.exec(
        select(Outage)
        .where(
            Outage.status == OutageStatus.RESTORED,
            Outage.utility == Utility.WATER,
            col(Outage.restored_at) >= now - settings.nowater.window,
            col(Outage.restored_at) <= now,
        )
        .order_by(col(Outage.restored_at).desc(), col(Outage.id).desc())
    ).all()
    for outage in rows:
        mine = [c for c in outage.area_codes if c in codes]
        if mine:
            return outage, mine[0]
    return None


def taking_reports(outage: Outage, settings: Settings, now: datetime) -> bool:
    """Whether reports are taken for this outage now (restored water, within the window)."""
    restored = outage.restored_at
    return (
        outage.status == OutageStatus.RESTORED
        and outage.utility == Utility.WATER
        and restored is not None
        and restored <= now <= restored + settings.nowater.window
    )


def file_report(
    session: Session,
    settings: Settings,
    *,
    outage: Outage,
    area_code: str,
    reporter: str,
    customer_id: int | None,
    source: str,
    now: datetime,
    detail: str = "",
) -> Filed:
    """Record one report (in the caller's transaction) and raise the area's alert when its
    reports reach the threshold."""
    assert outage.id is not None
    assert source in SOURCES
    existing = _existing(session, outage.id, reporter)
    if existing is not None:
        return Filed(existing, counted=False, alert=None)
    row = NoWaterReport(
        outage_id=outage.id,
        area_code=area_code,
        reporter=reporter[:64],
        customer_id=customer_id,
        source=source,
        detail=detail[:500],
        reported_at=now,
    )
    try:
        with session.begin_nested():  # the same premise reporting twice at once
            session.add(row)
    except IntegrityError:
        again = _existing(session, outage.id, reporter)
        assert again is not None
        return Filed(again, counted=False, alert=None)
    audit.record(
        session,
        actor=f"{source}:{reporter}",
        action="outage.no_water_report",
        entity="outage",
        entity_id=outage.id,
        after={"area_code": area_code, "source": source, "report": row.id},
    )
    count = _count(session, outage.id, area_code)
    alert = None
    if count >= settings.nowater.threshold:
        alert = _raise(session, outage.id, area_code, count, now)
    log.info(
        "no-water report",
        extra={"outage": outage.id, "area": area_code, "reports": count, "source": source},
    )
    return Filed(row, counted=True, alert=alert)


def _existing(session: Session, outage_id: int, reporter: str) -> NoWaterReport | None:
    return session.exec(
        select(NoWaterReport).where(
            NoWaterReport.outage_id == outage_id, NoWaterReport.reporter == reporter
        )
    ).first()


def _count(session: Session, outage_id: int, area_code: str) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(NoWaterReport)
            .where(NoWaterReport.outage_id == outage_id, NoWaterReport.area_code == area_code)
        ).one()
    )


def _raise(
    session: Session, outage_id: int, area_code: str, count: int, now: datetime
) -> NoWaterAlert | None:
    """The alert of this area, raised now; None when it was raised before (its count kept
    up to date)."""
    alert = session.exec(
        select(NoWaterAlert).where(
            NoWaterAlert.outage_id == outage_id, NoWaterAlert.area_code == area_code
        )
    ).first()
    if alert is not None:
        alert.reports = count
        session.add(alert)
        return None
    alert = NoWaterAlert(outage_id=outage_id, area_code=area_code, reports=count, raised_at=now)
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return None
    audit.record(
        session,
        actor="system",
        action="outage.no_water_alert",
        entity="outage",
        entity_id=outage_id,
        after={"area_code": area_code, "reports": count},
    )
    log.warning("no-water alert", extra={"outage": outage_id, "area": area_code, "reports": count})
    return alert


class Sender(Protocol):
    """Who texted (``inbound.Sender``): their number and the rows it belongs to."""

    @property
    def address(self) -> str: ...
    @property
    def customers(self) -> Sequence[Customer]: ...
    @property
    def subscribers(self) -> Sequence[Subscriber]: ...


S = TypeVar("S", bound=Sender)


def sms_report(
    session: Session,
    settings: Settings,
    sender: S,
    language: str,
    now: datetime,
    areas_of: Callable[[Session, S], Iterable[str]],
) -> str:
    """``NOWATER``/``没水`` by SMS: file the report and return the acknowledgement, which
    names the hotline either way. ``areas_of`` gives the sender's areas, as STATUS sees them."""
    area_codes = areas_of(session, sender)
    customers = sender.customers
    subscriber_ids = [s.id for s in sender.subscribers if s.id and s.status == "active"]
    address = sender.address
    found = restored_outage(session, settings, area_codes, now)
    if found is None:
        hours = int(settings.nowater.window.total_seconds() // 3600)
        return render_reply("nowater_none", language, settings, hours=hours)
    outage, area = found
    # The premise: the sender's account in that area if there is one, else any of theirs.
    premise = next((c for c in customers if area in (c.water_area, c.gas_area)), None)
    premise = premise or (customers[0] if customers else None)
    if premise is not None:
        reporter, customer_id = f"customer:{premise.id}", premise.id
    elif subscriber_ids:
        reporter, customer_id = f"subscriber:{subscriber_ids[0]}", None
    else:
        reporter, customer_id = phone_reporter(address), None
    file_report(
        session,
        settings,
        outage=outage,
        area_code=area,
        reporter=reporter,
        customer_id=customer_id,
        source="sms",
        now=now,
    )
    return acknowledgement(outage, language, settings)


def acknowledgement(outage: Outage, language: str, settings: Settings) -> str:
    """The ``nowater`` reply naming the outage, its title cut as much as needed for the
    whole text, hotline at its end, to keep to two segments."""
    title = outage.title.strip()
    cut = "…" if language == "zh-CN" else "..."  # "…" is not GSM-7: it would double the cost
    for longest in (len(title), 40, 32, 24, 16, 8, 0):
        shown = title if len(title) <= longest else title[:longest].rstrip() + cut
        text = render_reply("nowater", language, settings, title=shown)
        if text.rstrip("。.").endswith(settings.hotline):  # not cut by render_reply
            return text
    return text


def summary(session: Session, outage_id: int) -> dict[str, Any]:
    """The reports of an outage per area, and the alerts raised: for ``outages show`` and
    ``report --outage``."""
    rows = session.exec(
        select(NoWaterReport.area_code, func.count())
        .where(NoWaterReport.outage_id == outage_id)
        .group_by(col(NoWaterReport.area_code))
        .order_by(col(NoWaterReport.area_code))
    ).all()
    alerts = session.exec(
        select(NoWaterAlert)
        .where(NoWaterAlert.outage_id == outage_id)
        .order_by(col(NoWaterAlert.area_code))
    ).all()
    by_area = {str(code): int(n) for code, n in rows}
    return {
        "reports": sum(by_area.values()),
        "by_area": by_area,
        "alerts": [
            {
                "area_code": a.area_code,
                "reports": a.reports,
                "raised_at": a.raised_at,
                "emailed": a.sent_at is not None,
            }
            for a in alerts
        ],
    }


def send_alerts(database: Database, settings: Settings, now: datetime) -> int:
    """Email every alert not yet sent to ``nowater.dispatch_email``; the number sent. Call
    it after the transaction that raised them has committed; a failed send stays pending
    and goes with the next call."""
    address = settings.nowater.dispatch_email
    if not address:
        return 0
    with database.read() as session:
        pending = session.exec(
            select(NoWaterAlert, Outage, ServiceArea)
            .join(Outage, col(Outage.id) == NoWaterAlert.outage_id)
            .outerjoin(ServiceArea, col(ServiceArea.code) == NoWaterAlert.area_code)
            .where(col(NoWaterAlert.sent_at).is_(None))
            .order_by(col(NoWaterAlert.id))
        ).all()
        messages = [
            (alert.id, _alert_email(settings, address, alert, o, a)) for alert, o, a in pending
        ]
    sent = 0
    for alert_id, message in messages:
        if not send_now(message, backend(settings, registry.EMAIL.name)):
            continue
        with database.session() as session:
            row = session.get(NoWaterAlert, alert_id)
            if row is not None and row.sent_at is None:
                row.sent_at = now
                session.add(row)
        sent += 1
    return sent


def _alert_email(
    settings: Settings,
    address: str,
    alert: NoWaterAlert,
    outage: Outage,
    area: ServiceArea | None,
) -> Message:
    name = f"{area.name} ({alert.area_code})" if area is not None else alert.area_code
    restored = outage.restored_at.astimezone(settings.zone) if outage.restored_at else None
    text = (
        f"{alert.reports} residents of {name} report no water after outage {outage.id} "
        f'("{outage.title}") was restored at {restored:%Y-%m-%d %H:%M %Z}: a valve may not '
        f"have been reopened.\n\n"
        f"Threshold: {settings.nowater.threshold} reports per area.\n"
        f"See: outage-notify outages show {outage.id}\n"
        f"Outage page: {settings.public_url}/outages/{outage.id}\n"
    )
    return Message(
        delivery_id=0,
        recipient_id="dispatch",
        address=address,
        language="en",
        subject=f"No water after restoration: {name}, outage {outage.id}",
        text=text,
    )


def summary_line(data: dict[str, Any]) -> str:
    """``summary`` as one line for the CLI: the planner's early sign of a valve left shut."""
    areas = ", ".join(f"{code} {n}" for code, n in data["by_area"].items())
    line = f"No water after restoration: {data['reports']} report(s) ({areas})"
    for alert in data["alerts"]:
        emailed = "emailed to dispatch" if alert["emailed"] else "not emailed"
        line += f"; ALERT {alert['area_code']}: {alert['reports']} reports ({emailed})"
    return line
