"""A CAP source may serve an Atom index of alerts (as most CAP publishers do, ours too)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import Outage
from outage_notify.planning.outages import OutageDraft, plan_outage
from outage_notify.publishing.export import render_site
from outage_notify.settings import Settings
from tests.builders import make_city
from tests.planning.sources.feed_server import FeedServer, sample
from tests.planning.sources.support import NOW, add_source, poll


def index(*hrefs: str) -> bytes:
    entries = "".join(
        f"<entry><id>e{i}</id><title>t</title><updated>2026-12-01T00:00:00Z</updated>"
        f'<link rel="alternate" type="application/cap+xml" href="{href}"/>'
        f'<link rel="related" type="text/html" href="/page/{i}"/></entry>'
        for i, href in enumerate(hrefs)
    )
    return (
        '<feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>CAP</title>'
        f"<updated>2026-12-01T00:00:00Z</updated>{entries}</feed>"
    ).encode()


def test_a_cap_index_is_read_alert_by_alert(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    feed_server.serve("/alerts/1001.xml", sample("cap-alert.xml"))
    feed_server.serve("/alerts/1002.xml", sample("cap-update.xml"))
    url = feed_server.serve("/cap.atom", index("alerts/1001.xml"))
    add_source(db, "neighbour", url, "cap")
    assert len(poll(db, settings, "neighbour").applied.created) == 1

    feed_server.serve("/cap.atom", index("/alerts/1002.xml"))
    result = poll(db, settings, "neighbour", NOW + timedelta(minutes=5))
    assert len(result.applied.changed) == 1
    with db.read() as session:
        (outage,) = session.exec(select(Outage)).all()
    assert outage.title.endswith("(new times)")


def test_an_alert_the_index_links_that_fails_fails_the_poll(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    feed_server.serve("/alerts/1001.xml", sample("cap-alert.xml"))
    url = feed_server.serve("/cap.atom", index("/alerts/1001.xml", "/alerts/missing.xml"))
    add_source(db, "neighbour", url, "cap")
    result = poll(db, settings, "neighbour")
    assert result.status == "error"
    assert "missing.xml answered HTTP 404" in (result.error or "")
    with db.read() as session:
        assert session.exec(select(Outage)).all() == []


def test_our_own_cap_feed_reads_back_as_the_same_outage(
    db: Database, settings: Settings, feed_server: FeedServer
) -> None:
    make_city(db)
    with db.session() as session:
        planned = plan_outage(
            session,
            OutageDraft(
                utility="water",
                title="Main replacement",
                start=NOW + timedelta(days=3),
                end=NOW + timedelta(days=3, hours=4),
                areas=["W01", "W02"],
                description="Replacing a 300 mm main.",
            ),
            settings=settings,
            now=NOW,
            actor="planner",
        )
    published = settings.model_copy(update={"public_url": feed_server.url("")})
    for path, body in render_site(published, db, now=NOW).items():
        feed_server.serve(f"/{path}", body)
    add_source(db, "self", feed_server.url("/feeds/cap.atom"), "cap", utility="water")

    result = poll(db, settings, "self")

    assert len(result.applied.created) == 1
    with db.read() as session:
        copy = session.get(Outage, result.applied.created[0])
    assert copy is not None
    assert (copy.start_at, copy.end_at) == (planned.start_at, planned.end_at)
    assert copy.area_codes == ["W01", "W02"]  # from the geocodes, not the polygons
    assert copy.geometry is None
    assert copy.status == "planned"
