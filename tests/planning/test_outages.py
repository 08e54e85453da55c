"""Planning and the lifecycle: revisions, audit rows, and the notices each step creates or
supersedes. Asia/Shanghai, quiet hours 21:00-08:00, water lead times 72h/24h/2h."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from outage_notify.db import Database
from outage_notify.errors import InputError, NotFoundError
from outage_notify.models import (
    AuditEvent,
    Customer,
    Delivery,
    Notice,
    Outage,
    OutageRevision,
)
from outage_notify.planning import outages, targeting
from outage_notify.planning.outages import OutageDraft
from outage_notify.settings import Settings
from tests.builders import make_city

ZONE = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE).astimezone(UTC)


NOW = at("12-01 09:00")


def draft(**values: Any) -> OutageDraft:
    base: dict[str, Any] = {
        "utility": "water",
        "title": "Main replacement",
        "start": at("12-10 10:00"),
        "end": at("12-10 14:00"),
        "areas": ["W01", "W02"],
        "ref": "WO-1",
    }
    base.update(values)
    return OutageDraft(**base)


@pytest.fixture
def city(db: Database) -> Database:
    make_city(db)
    with db.session() as session:
        session.add_all(
            [
                Customer(
                    account_id="c1", phone="+8613800000001", language="zh-CN", water_area="W01"
                ),
                Customer(account_id="c2", email="c2@example.org", language="en", water_area="W02"),
                Customer(
                    account_id="c3", phone="+8613800000003", language="zh-CN", water_area="W03"
                ),
            ]
        )
    return db


def plan(db: Database, settings: Settings, **values: Any) -> int:
    with db.session() as session:
        outage = outages.plan_outage(
            session, draft(**values), settings=settings, now=NOW, actor="alice"
        )
        assert outage.id is not None
        return outage.id


def notice_rows(db: Database, outage_id: int) -> list[tuple[Any, ...]]:
    """(revision, kind, audience, state) of every notice, in revision and due order."""
    with db.read() as session:
        rows = session.exec(
            select(Notice)
            .where(Notice.outage_id == outage_id)
            .order_by(col(Notice.revision), col(Notice.due_at), col(Notice.id))
        ).all()
        return [(n.revision, n.kind, n.audience, n.state) for n in rows]


def history(db: Database, outage_id: int) -> list[tuple[Any, ...]]:
    with db.read() as session:
        revs = session.exec(
            select(OutageRevision)
            .where(OutageRevision.outage_id == outage_id)
            .order_by(col(OutageRevision.revision))
        ).all()
        return [(r.revision, r.change, r.actor, r.status) for r in revs]


def audit_events(db: Database, outage_id: int) -> list[AuditEvent]:
    with db.read() as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "outage", AuditEvent.entity_id == str(outage_id))
            .order_by(col(AuditEvent.id))
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def deliver(
    session: Session,
    outage_id: int,
    kind: str,
    addresses: list[tuple[str, str]],
    state: str = "sent",
) -> None:
    """What the delivery engine does when a notice falls due: deliveries, notice expanded."""
    notice = session.exec(
        select(Notice)
        .where(Notice.outage_id == outage_id, Notice.kind == kind, Notice.state == "pending")
        .order_by(col(Notice.due_at))
    ).first()
    assert notice is not None
    assert notice.id is not None
    notice.state = "expanded"
    session.add(notice)
    for channel, address in addresses:
        session.add(
            Delivery(
                notice_id=notice.id,
                channel=channel,
                address=address,
                language="zh-CN",
                state=state,
                next_attempt_at=NOW,
                deadline=notice.deadline,
            )
        )


def test_planning_writes_revision_one_its_audit_and_the_notices(
    city: Database, settings: Settings
) -> None:
    outage_id = plan(city, settings)
    assert history(city, outage_id) == [(1, "created", "alice", "planned")]
    (event,) = audit_events(city, outage_id)
    assert (event.action, event.actor, event.before) == ("outage.created", "alice", None)
    assert event.after is not None
    assert event.after["area_codes"] == ["W01", "W02"]
    assert notice_rows(city, outage_id) == [
        (1, "advance", "critical", "pending"),
        (1, "advance", "all", "pending"),
        (1, "reminder", "all", "pending"),
        (1, "reminder", "all", "pending"),
    ]
    with city.read() as session:
        outage = outages.get_outage(session, outage_id)
        assert (outage.revision, outage.status, outage.created_by) == (1, "planned", "alice")


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"utility": "power"}, "unknown utility 'power'"),
        ({"title": "  "}, "title is empty"),
        ({"title": "x" * 121}, "title is 121 characters; at most 120"),
        ({"description": "d" * 4001}, "description is longer than 4000"),
        ({"end": at("12-10 10:00")}, "is not before end"),
        ({"start": at("11-30 10:00"), "end": at("11-30 12:00")}, "is in the past"),
        ({"start": at("12-02 08:00")}, "less than schedule.min_notice (24h)"),
        ({"areas": ["W09"]}, "area W09 does not exist"),
        ({"areas": ["W01", "G01"]}, "area G01 is a gas area, not water"),
        ({"areas": [" ", ""]}, "no area given"),
    ],
)
def test_bad_draft_is_refused_with_every_problem_and_nothing_written(
    city: Database, settings: Settings, values: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InputError) as caught, city.session() as session:
        outages.plan_outage(session, draft(**values), settings=settings, now=NOW, actor="a")
    assert any(problem in p for p in caught.value.problems), caught.value.problems
    with city.read() as session:
        assert session.exec(select(Outage)).all() == []
        assert session.exec(select(Notice)).all() == []
        assert session.exec(select(AuditEvent).where(AuditEvent.entity == "outage")).all() == []


def test_ref_is_unique(city: Database, settings: Settings) -> None:
    first = plan(city, settings)
    with pytest.raises(InputError) as caught, city.session() as session:
        outages.plan_outage(session, draft(), settings=settings, now=NOW, actor="a")
    assert caught.value.problems == [f"ref WO-1 is already outage #{first}"]


def test_short_notice_allows_late_planning_with_one_immediate_notice(
    city: Database, settings: Settings
) -> None:
    with city.session() as session:
        outage = outages.plan_outage(
            session,
            draft(start=at("12-01 15:00"), end=at("12-01 18:00")),
            settings=settings,
            now=NOW,
            actor="a",
            short_notice=True,
        )
        assert outage.short_notice
        outage_id = outage.id
    assert outage_id is not None
    assert notice_rows(city, outage_id) == [
        (1, "advance", "all", "pending"),
        (1, "reminder", "all", "pending"),
    ]


def test_reschedule_supersedes_pending_notices_and_deliveries(
    city: Database, settings: Settings
) -> None:
    outage_id = plan(city, settings)
    with city.session() as session:
        # The critical notice went out: one sent, one still queued.
        deliver(session, outage_id, "advance", [("sms", "+8613800000001")])
        session.flush()
        notice = session.exec(select(Notice).where(Notice.state == "expanded")).one()
        queued = Delivery(
            notice_id=notice.id or 0,
            channel="email",
            address="q@example.org",
            language="en",
            next_attempt_at=NOW,
            deadline=notice.deadline,
        )
        session.add(queued)
    with city.session() as session:
        outages.reschedule(
            session,
            outage_id,
            start=at("12-11 09:00"),
            end=at("12-11 13:00"),
            settings=settings,
            now=at("12-02 10:00"),
            actor="bob",
        )

    assert history(city, outage_id)[-1] == (2, "rescheduled", "bob", "planned")
    event = audit_events(city, outage_id)[-1]
    assert event.action == "outage.rescheduled"
    assert event.before is not None
    assert event.after is not None
    assert event.before["revision"] == 1
    assert event.after["revision"] == 2
    assert event.before["start_at"] == at("12-10 10:00").isoformat()
    assert event.after["start_at"] == at("12-11 09:00").isoformat()
    assert notice_rows(city, outage_id) == [
        (1, "advance", "critical", "expanded"),
        (1, "advance", "all", "superseded"),
        (1, "reminder", "all", "superseded"),
        (1, "reminder", "all", "superseded"),
        (2, "changed", "notified", "pending"),
        (2, "advance", "critical", "pending"),
        (2, "advance", "all", "pending"),
        (2, "reminder", "all", "pending"),
        (2, "reminder", "all", "pending"),
    ]
    with city.read() as session:
        states = dict(session.exec(select(Delivery.address, Delivery.state)).all())
    assert states == {"+8613800000001": "sent", "q@example.org": "superseded"}


def test_changed_reaches_the_notified_and_everyone_newly_affected(
    city: Database, settings: Settings
) -> None:
    outage_id = plan(city, settings, areas=["W01"])
    with city.session() as session:
        deliver(session, outage_id, "advance", [("sms", "+8613800000001")])
    # Moved to 30h ahead: the 72h advance would be due now, so "changed" goes to everyone.
    with city.session() as session:
        outage = outages.reschedule(
            session,
            outage_id,
            start=at("12-08 15:00"),
            end=at("12-08 18:00"),
            settings=settings,
            now=at("12-07 09:00"),
            actor="bob",
        )
        changed = session.exec(select(Notice).where(Notice.kind == "changed")).one()
        assert changed.audience == "all"
        reached = targeting.target(session, outage, audience=changed.audience)
        assert {r.address for r in reached.recipients} == {"+8613800000001"}


def test_changed_goes_to_the_notified_while_the_advance_is_ahead(
    city: Database, settings: Settings
) -> None:
    outage_id = plan(city, settings)
    with city.session() as session:
        deliver(session, outage_id, "advance", [("sms", "+8613800000001")])
    with city.session() as session:
        outage = outages.reschedule(
            session,
            outage_id,
            start=at("12-20 10:00"),
            end=at("12-20 12:00"),
            settings=settings,
            now=at("12-04 09:00"),
            actor="bob",
        )
        changed = session.exec(select(Notice).where(Notice.kind == "changed")).one()
        assert changed.audience == "notified"
        reached = targeting.target(session, outage, audience="notified")
        assert [r.address for r in reached.recipients] == ["+8613800000001"]


@pytest.mark.parametrize(
    ("start", "end", "now", "short_notice", "problem"),
    [
        ("12-10 10:00", "12-10 14:00", "12-02 09:00", False, "nothing to change"),
        ("12-12 10:00", "12-12 09:00", "12-02 09:00", False, "is not before end"),
        ("12-01 10:00", "12-01 12:00", "12-02 09:00", False, "is in the past"),
        ("12-02 20:00", "12-02 22:00", "12-02 09:00", False, "less than schedule.min_notice"),
        ("12-11 10:00", "12-11 12:00", "12-10 11:00", False, "started at 2026-12-10 10:00"),
    ],
)
def test_bad_reschedule_is_refused(
    city: Database,
    settings: Settings,
    start: str,
    end: str,
    now: str,
    short_notice: bool,
    problem: str,
) -> None:
    outage_id = plan(city, settings)
    with pytest.raises(InputError) as caught, city.session() as session:
        outages.reschedule(
            session,
            outage_id,
            start=at(start),
            end=at(end),
            settings=settings,
            now=at(now),
            actor="a",
            short_notice=short_notice,
        )
    assert any(problem in p for p in caught.value.problems), caught.value.problems
    assert history(city, outage_id) == [(1, "created", "alice", "planned")]


def test_moving_later_needs_no_short_notice(city: Database, settings: Settings) -> None:
    outage_id = plan(city, settings)
    with city.session() as session:
        outage = outages.reschedule(
            session,
            outage_id,
            start=at("12-10 12:00"),
            end=at("12-10 16:00"),
            settings=settings,
            now=at("12-10 01:00"),
            actor="a",
        )
        assert outage.revision == 2
        assert not outage.short_notice


def test_extend_adds_extended_and_reissues_pending_reminders(
    city: Database, settings: Settings
) -> None:
    outage_id = plan(city, settings)
    with city.session() as session:
        outage = outages.extend(
            session,
            outage_id,
            end=at("12-10 18:00"),
            settings=settings,
            now=at("12-08 09:00"),
            actor="carol",
        )
        assert outage.end_at == at("12-10 18:00")
    assert history(city, outage_id)[-1] == (2, "extended", "carol", "planned")
    assert notice_rows(city, outage_id) == [
        (1, "advance", "critical", "superseded"),
        (1, "advance", "all", "superseded"),
        (1, "reminder", "all", "superseded"),
        (1, "reminder", "all", "superseded"),
        (2, "advance", "critical", "pending"),
        (2, "advance", "all", "pending"),
        (2, "extended", "notified", "pending"),
        (2, "reminder", "all", "pending"),
        (2, "reminder", "all", "pending"),
    ]
    event = audit_events(city, outage_id)[-1]
    assert event.before is not None
    assert event.before["end_at"] == at("12-10 14:00").isoformat()


@pytest.mark.parametrize(
    ("end", "problem"),
    [("12-10 14:00", "is not after the current end"), ("12-10 12:00", "to shorten")],
)
def test_extend_needs_a_later_end(
    city: Database, settings: Settings, end: str, problem: str
) -> None:
    outage_id = plan(city, settings)
    with pytest.raises(InputError) as caught, city.session() as session:
        outages.extend(session, outage_id, end=at(end), settings=settings, now=NOW, actor="a")
    assert problem in caught.value.problems[0]


def test_cancel_supersedes_pending_and_tells_the_notified(
    city: Database, settings: Settings
) -> None:
    outage_id = plan(city, settings)
    with city.session() as session:
        deliver(session, outage_id, "advance", [("sms", "+8613800000001")])
    with city.session() as session:
        outage = outages.cancel(
            session,
            outage_id,
            reason="crew reassigned",
            settings=settings,
            now=at("12-08 09:00"),
            actor="dave",
        )
        assert (outage.status, outage.cancel_reason) == ("cancelled", "crew reassigned")
        cancelled = session.exec(select(Notice).where(Notice.kind == "cancelled")).one()
        assert (cancelled.audience, cancelled.deadline) == ("notified", at("12-10 14:00"))
        reached = targeting.target(session, outage, audience=cancelled.audience)
        assert [r.address for r in reached.recipients] == ["+8613800000001"]
        revision = session.exec(select(OutageRevision).where(OutageRevision.revision == 2)).one()
        assert (revision.change, revision.reason, revision.status) == (
            "cancelled",
            "crew reassigned",
            "cancelled",
        )
    assert [r[3] for r in notice_rows(city, outage_id)] == [
        "expanded",
        "superseded",
        "superseded",
        "superseded",
        "pending",
    ]
    assert audit_events(city, outage_id)[-1].action == "outage.cancelled"


def test_restore_sets_the_time_and_tells_the_notified(city: Database, settings: Settings) -> None:
    outage_id = plan(city, settings)
    with city.session() as session:
        outage = outages.restore(
            session, outage_id, settings=settings, now=at("12-10 13:00"), actor="erin"
        )
        assert (outage.status, outage.restored_at) == ("restored", at("12-10 13:00"))
    rows = notice_rows(city, outage_id)
    assert rows[-1] == (2, "restored", "notified", "pending")
    assert {r[3] for r in rows[:-1]} == {"superseded"}
    assert history(city, outage_id)[-1] == (2, "restored", "erin", "restored")


@pytest.mark.parametrize(
    ("step", "now", "problem"),
    [
        ("cancel", "12-10 11:00", "use `outage-notify outages restore`"),
        ("restore", "12-09 11:00", "has not started"),
    ],
)
def test_cancel_before_start_restore_after(
    city: Database, settings: Settings, step: str, now: str, problem: str
) -> None:
    outage_id = plan(city, settings)
    with pytest.raises(InputError, match=problem), city.session() as session:
        getattr(outages, step)(session, outage_id, settings=settings, now=at(now), actor="a")


@pytest.mark.parametrize("step", ["reschedule", "extend", "cancel", "restore"])
def test_a_cancelled_outage_cannot_change(city: Database, settings: Settings, step: str) -> None:
    outage_id = plan(city, settings)
    with city.session() as session:
        outages.cancel(session, outage_id, settings=settings, now=NOW, actor="a")
    arguments: dict[str, Any] = {
        "reschedule": {"start": at("12-12 10:00"), "end": at("12-12 12:00")},
        "extend": {"end": at("12-10 20:00")},
    }.get(step, {})
    with pytest.raises(InputError) as caught, city.session() as session:
        getattr(outages, step)(
            session, outage_id, settings=settings, now=NOW, actor="a", **arguments
        )
    assert "is cancelled" in " ".join([str(caught.value), *caught.value.problems])


def test_edit_is_a_revision_without_new_notices(city: Database, settings: Settings) -> None:
    outage_id = plan(city, settings)
    with city.session() as session:
        outages.edit(session, outage_id, title="Valve replacement", actor="a")
    assert history(city, outage_id)[-1][:2] == (2, "edited")
    kinds = [(r[0], r[1]) for r in notice_rows(city, outage_id) if r[3] == "pending"]
    assert kinds == [(2, "advance"), (2, "advance"), (2, "reminder"), (2, "reminder")]


def test_unknown_outage(city: Database, settings: Settings) -> None:
    with pytest.raises(NotFoundError, match="no outage #99"), city.session() as session:
        outages.cancel(session, 99, settings=settings, now=NOW, actor="a")


def test_every_step_bumps_the_revision_once(city: Database, settings: Settings) -> None:
    outage_id = plan(city, settings)
    steps = [
        lambda s: outages.reschedule(
            s,
            outage_id,
            start=at("12-11 10:00"),
            end=at("12-11 14:00"),
            settings=settings,
            now=NOW,
            actor="a",
        ),
        lambda s: outages.extend(
            s, outage_id, end=at("12-11 16:00"), settings=settings, now=NOW, actor="a"
        ),
        lambda s: outages.restore(
            s, outage_id, settings=settings, now=at("12-11 17:00"), actor="a"
        ),
    ]
    for expected, step in enumerate(steps, start=2):
        with city.session() as session:
            assert step(session).revision == expected
    assert [r[0] for r in history(city, outage_id)] == [1, 2, 3, 4]
    assert len(audit_events(city, outage_id)) == 4
