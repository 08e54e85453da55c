"""Polling sources against a local publisher: the lifecycle of an entry, end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from outage_notify.db import Database
from outage_notify.models import (
    Customer,
    Notice,
    Outage,
    OutageRevision,
    OutageStatus,
    Source,
    SourceEntry,
)
from outage_notify.planning import review
from outage_notify.planning.sources import records
from outage_notify.planning.targeting import target
from outage_notify.publishing.publication import read_snapshot
from outage_notify.settings import Settings
from tests.builders import make_city
from tests.planning.sources.feed_server import FeedServer, sample
from tests.planning.sources.support import NOW, RSS, add_source, poll


def outage_of(db: Database, ref: str) -> Outage:
    with db.read() as session:
        found = session.exec(select(Outage).where(Outage.ref == ref)).one()
    return found


def changes(db: Database, outage_id: int) -> list[str]:
    with db.read() as session:
        rows = session.exec(
            select(OutageRevision)
            .where(OutageRevision.outage_id == outage_id)
            .order_by(col(OutageRevision.revision))
        ).all()
    return [r.change for r in rows]


def notice_count(db: Database) -> int:
    with db.read() as session:
        return len(session.exec(select(Notice)).all())


def test_an_rss_entry_is_created_not_modified_revised_cancelled_and_replayed(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    url = feed_server.serve("/planned.rss", RSS, etag='"v1"')
    add_source(db, "city", url, "rss")

    first = poll(db, settings, "city")
    assert first.status == "ok"
    assert first.entries == 3
    assert len(first.applied.created) == 2
    assert first.applied.held == ["WO-2026-11950"]
    valve = outage_of(db, "city:WO-2026-11873")
    assert valve.status == OutageStatus.PLANNED
    assert valve.title == "Valve replacement on Renmin Road"
    assert valve.description.startswith("Replacing a 300 mm gate valve. Water will be off & ")
    assert valve.start_at == datetime(2026, 12, 10, 1, 0, tzinfo=UTC)
    assert valve.area_codes == ["W01"]  # the area its GeoRSS polygon lies in
    assert valve.geometry is not None
    assert valve.geometry["type"] == "Polygon"
    flushing = outage_of(db, "city:WO-2026-11901")
    assert flushing.area_codes == ["W02"]
    assert flushing.geometry is None
    notices = notice_count(db)
    assert notices > 0

    second = poll(db, settings, "city", NOW + timedelta(minutes=5))
    assert second.status == "not_modified"
    assert feed_server.requests[-1].if_none_match == '"v1"'

    revised = (
        RSS.replace(b"2026-12-10T09:00:00", b"2026-12-10T10:00:00")
        .replace(b"2026-12-10T13:00:00", b"2026-12-10T15:00:00")
        .replace(b"2026-12-12T11:00:00", b"2026-12-12T12:00:00")
    )
    feed_server.serve("/planned.rss", revised, etag='"v2"')
    third = poll(db, settings, "city", NOW + timedelta(minutes=10))
    assert sorted(third.applied.changed) == sorted([valve.id or 0, flushing.id or 0])
    assert changes(db, valve.id or 0) == ["created", "rescheduled"]
    assert changes(db, flushing.id or 0) == ["created", "extended"]
    assert outage_of(db, "city:WO-2026-11873").end_at == datetime(2026, 12, 10, 7, tzinfo=UTC)

    cancelled = revised.replace(
        b"<category>maintenance</category>", b"<category>cancelled</category>"
    )
    feed_server.serve("/planned.rss", cancelled, etag='"v3"')
    fourth = poll(db, settings, "city", NOW + timedelta(minutes=15))
    assert fourth.applied.cancelled == [valve.id]
    assert outage_of(db, "city:WO-2026-11873").status == OutageStatus.CANCELLED

    # The same document again (a publisher that changes its ETag on every build).
    feed_server.serve("/planned.rss", cancelled, etag='"v4"')
    notices = notice_count(db)
    fifth = poll(db, settings, "city", NOW + timedelta(minutes=20))
    assert fifth.status == "ok"
    assert (fifth.applied.created, fifth.applied.changed, fifth.applied.cancelled) == ([], [], [])
    assert fifth.applied.unchanged == 2
    assert changes(db, valve.id or 0) == ["created", "rescheduled", "cancelled"]
    assert notice_count(db) == notices


def test_an_entry_that_vanishes_is_noted_never_cancelled(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    url = feed_server.serve("/planned.rss", RSS)
    add_source(db, "city", url, "rss")
    poll(db, settings, "city")
    start = RSS.index(b'<item>\n      <guid isPermaLink="false">WO-2026-11901')
    end = RSS.index(b"</item>", start) + len(b"</item>")
    feed_server.serve("/planned.rss", RSS[:start] + RSS[end:])

    result = poll(db, settings, "city", NOW + timedelta(minutes=5))
    assert result.applied.vanished == ["WO-2026-11901"]
    assert outage_of(db, "city:WO-2026-11901").status == OutageStatus.PLANNED
    with db.read() as session:
        (listed,) = records.describe_sources(session, settings.zone)
    assert listed["vanished"] == 1
    gone = next(e for e in listed["entries"] if e["key"] == "WO-2026-11901")
    assert gone["vanished_at"] is not None


def test_entries_lacking_times_or_place_are_held_with_the_reason(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    bare = RSS.replace(b"<category>W02</category>", b"<category>W99</category>")
    add_source(db, "city", feed_server.serve("/planned.rss", bare), "rss")
    result = poll(db, settings, "city")
    assert sorted(result.applied.held) == ["WO-2026-11901", "WO-2026-11950"]
    with db.read() as session:
        reasons = {e.entry_key: e.reason for e in session.exec(select(SourceEntry)).all()}
    assert "no start time" in (reasons["WO-2026-11950"] or "")
    assert "no place" in (reasons["WO-2026-11901"] or "")
    assert "W99" in (reasons["WO-2026-11901"] or "")


def test_a_cap_alert_its_update_and_its_cancel_are_one_outage(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    url = feed_server.serve("/cap.xml", sample("cap-alert.xml"))
    add_source(db, "neighbour", url, "cap")

    created = poll(db, settings, "neighbour")
    assert len(created.applied.created) == 1
    (outage_id,) = created.applied.created
    ref = "neighbour:urn:oid:2.49.0.1.156.0.2026.12.1.1001"
    outage = outage_of(db, ref)
    assert outage.utility == "water"  # from the eventCode
    assert outage.area_codes == ["W03"]
    assert outage.geometry is not None
    assert outage.geometry["coordinates"][0][0] == [121.62, 31.22]  # CAP's lat,lon turned
    assert outage.start_at == datetime(2026, 12, 11, 1, tzinfo=UTC)

    feed_server.serve("/cap.xml", sample("cap-update.xml"))
    updated = poll(db, settings, "neighbour", NOW + timedelta(minutes=5))
    assert updated.applied.changed == [outage_id]
    outage = outage_of(db, ref)
    assert (outage.start_at, outage.end_at) == (
        datetime(2026, 12, 11, 2, tzinfo=UTC),
        datetime(2026, 12, 11, 9, tzinfo=UTC),
    )
    assert outage.title.endswith("(new times)")
    assert changes(db, outage_id) == ["created", "rescheduled", "edited"]

    feed_server.serve("/cap.xml", sample("cap-cancel.xml"))
    cancelled = poll(db, settings, "neighbour", NOW + timedelta(minutes=10))
    assert cancelled.applied.cancelled == [outage_id]
    assert outage_of(db, ref).status == OutageStatus.CANCELLED

    replayed = poll(db, settings, "neighbour", NOW + timedelta(minutes=15))
    assert replayed.applied.unchanged == 1
    assert not replayed.applied.cancelled
    assert changes(db, outage_id) == ["created", "rescheduled", "edited", "cancelled"]
    with db.read() as session:
        assert len(session.exec(select(SourceEntry)).all()) == 1


def test_a_georss_polygon_targets_the_customers_inside_it(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    with db.session() as session:
        for account, lon, lat in [("inside", 121.53, 31.24), ("outside", 121.45, 31.25)]:
            session.add(
                Customer(
                    account_id=account,
                    phone=None,
                    email=f"{account}@example.org",
                    language="en",
                    longitude=lon,
                    latitude=lat,
                    gas_area="G01",
                )
            )
        session.add(
            Customer(account_id="unplaced", email="u@example.org", language="en", gas_area="G01")
        )
    add_source(
        db, "gasco", feed_server.serve("/planned.atom", sample("planned-works.atom")), "atom"
    )
    result = poll(db, settings, "gasco")
    assert len(result.applied.created) == 2
    tie_in = outage_of(db, "gasco:tag:gas.example.com,2026:works/GW-5521")
    assert tie_in.utility == "gas"
    assert tie_in.area_codes == ["G01"]
    with db.read() as session:
        emails = {r.address for r in target(session, tie_in).recipients}
        whole_area = outage_of(db, "gasco:tag:gas.example.com,2026:works/GW-5530")
        everyone = {r.address for r in target(session, whole_area).recipients}
    assert emails == {"inside@example.org", "u@example.org"}
    assert everyone == {"inside@example.org", "outside@example.org", "u@example.org"}


def test_an_untrusted_source_waits_for_review_then_approve(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    url = feed_server.serve("/planned.rss", RSS)
    add_source(db, "city", url, "rss", trusted=False)
    poll(db, settings, "city")
    valve = outage_of(db, "city:WO-2026-11873")
    assert valve.status == OutageStatus.REVIEW
    assert notice_count(db) == 0
    with db.read() as session:
        assert read_snapshot(session, settings, now=NOW).outages == ()

    # Still in review: a new version is applied in place, and still nobody hears of it.
    feed_server.serve("/planned.rss", RSS.replace(b"2026-12-10T13:00", b"2026-12-10T14:00"))
    result = poll(db, settings, "city", NOW + timedelta(minutes=5))
    assert result.applied.changed == [valve.id]
    assert notice_count(db) == 0

    with db.session() as session:
        review.approve(session, valve.id or 0, settings=settings, now=NOW, actor="planner")
    approved = outage_of(db, "city:WO-2026-11873")
    assert approved.status == OutageStatus.PLANNED
    assert approved.end_at == datetime(2026, 12, 10, 6, tzinfo=UTC)
    assert changes(db, valve.id or 0) == ["created", "edited", "approved"]
    assert notice_count(db) > 0
    with db.read() as session:
        assert [o.id for o in read_snapshot(session, settings, now=NOW).outages] == [valve.id]
        source = session.exec(select(Source)).one()
    assert source.last_status == "ok"


def test_an_outage_cancelled_while_in_review_is_never_published(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    add_source(db, "city", feed_server.serve("/planned.rss", RSS), "rss", trusted=False)
    poll(db, settings, "city")
    cancelled = RSS.replace(b"<category>maintenance</category>", b"<category>cancelled</category>")
    feed_server.serve("/planned.rss", cancelled)
    result = poll(db, settings, "city", NOW + timedelta(minutes=5))
    valve = outage_of(db, "city:WO-2026-11873")
    assert result.applied.cancelled == [valve.id]
    assert valve.status == OutageStatus.CANCELLED
    assert notice_count(db) == 0
    with db.read() as session:
        assert read_snapshot(session, settings, now=NOW).outages == ()


def test_the_published_outage_shows_the_work_zone_not_the_whole_area(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    add_source(db, "city", feed_server.serve("/planned.rss", RSS), "rss")
    poll(db, settings, "city")
    with db.read() as session:
        published = {o.title: o for o in read_snapshot(session, settings, now=NOW).outages}
    (valve_area,) = published["Valve replacement on Renmin Road"].areas
    (ring,) = valve_area.shapes[0]
    lons, lats = {p[0] for p in ring}, {p[1] for p in ring}
    assert (min(lons), max(lons), min(lats), max(lats)) == (121.41, 121.44, 31.21, 31.24)
    (flushing_area,) = published["Hydrant flushing, Jiefang Road district"].areas
    assert flushing_area.shapes[0][0][0] == (121.5, 31.2)  # no polygon: the whole area


def test_a_change_the_lifecycle_refuses_is_noted_and_the_rest_applies(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    add_source(db, "city", feed_server.serve("/planned.rss", RSS), "rss")
    poll(db, settings, "city")
    valve = outage_of(db, "city:WO-2026-11873")
    flushing = outage_of(db, "city:WO-2026-11901")
    revised = RSS.replace(b"2026-12-10T09:00:00", b"2026-11-30T09:00:00").replace(
        b"2026-12-12T11:00:00", b"2026-12-12T12:00:00"
    )
    feed_server.serve("/planned.rss", revised)

    result = poll(db, settings, "city", NOW + timedelta(minutes=5))

    assert result.applied.changed == [flushing.id]
    assert changes(db, valve.id or 0) == ["created"]
    assert changes(db, flushing.id or 0) == ["created", "extended"]
    with db.read() as session:
        entry = session.exec(
            select(SourceEntry).where(SourceEntry.entry_key == "WO-2026-11873")
        ).one()
    assert "was not rescheduled" in (entry.reason or "")
    assert "is in the past" in (entry.reason or "")
    assert entry.state == "outage"
    # Noted once: the same document again changes nothing and says nothing new.
    feed_server.serve("/planned.rss", revised, etag='"again"')
    again = poll(db, settings, "city", NOW + timedelta(minutes=10))
    assert again.applied.unchanged == 2
    assert again.applied.notes == []


def test_an_entry_whose_ref_a_planner_took_is_held(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    with db.session() as session:
        session.add(
            Outage(
                ref="city:WO-2026-11901",
                utility="water",
                title="Typed in by hand",
                start_at=NOW + timedelta(days=3),
                end_at=NOW + timedelta(days=3, hours=2),
                area_codes=["W02"],
            )
        )
    add_source(db, "city", feed_server.serve("/planned.rss", RSS), "rss")
    result = poll(db, settings, "city")
    assert len(result.applied.created) == 1
    assert sorted(result.applied.held) == ["WO-2026-11901", "WO-2026-11950"]
    with db.read() as session:
        entry = session.exec(
            select(SourceEntry).where(SourceEntry.entry_key == "WO-2026-11901")
        ).one()
    assert entry.state == "held"
    assert "ref city:WO-2026-11901 is already outage #1" in (entry.reason or "")
