from __future__ import annotations

from datetime import timedelta

import pytest

from outage_notify.db import Database
from outage_notify.errors import InputError, NotFoundError
from outage_notify.publishing.publication import (
    OutageFilter,
    fingerprint,
    outage_state,
    parse_filter,
    read_all_revisions,
    read_outage,
    read_snapshot,
    shapes_of,
)
from outage_notify.settings import Settings
from tests.web.factory import HOSTILE, NOW, City, add_area, add_outage, build_city, revise


@pytest.fixture
def city(db: Database) -> City:
    return build_city(db)


def titles(db: Database, settings: Settings, now=NOW) -> set[str]:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return {o.title for o in read_snapshot(session, settings, now=now).outages}


def test_the_window_holds_upcoming_current_and_the_last_seven_days(
    db: Database, settings: Settings, city: City
) -> None:
    assert titles(db, settings) == {
        "Upcoming A1",
        "Live A2",
        "Gas G1",
        "Changed A1+A2",
        "Cancelled A1",
        "Restored A2",
        "Ended 3 days ago",
    }


@pytest.mark.parametrize(
    ("ended_days_ago", "in_window"),
    [(6.9, True), (7, True), (7.1, False)],
)
def test_the_window_edge(
    db: Database, settings: Settings, ended_days_ago: float, in_window: bool
) -> None:
    with db.session() as s:
        add_area(s, "A1")
        add_outage(s, title="edge", start=NOW - timedelta(days=ended_days_ago, hours=2), hours=2)
    assert ("edge" in titles(db, settings)) is in_window


def test_a_cancelled_outage_leaves_seven_days_after_the_cancellation(
    db: Database, settings: Settings
) -> None:
    with db.session() as s:
        add_area(s, "A1")
        outage = add_outage(s, title="off", start=NOW + timedelta(days=30))
        revise(s, outage, "cancelled", at=NOW)
    assert "off" in titles(db, settings, NOW + timedelta(days=6))
    assert "off" not in titles(db, settings, NOW + timedelta(days=7, seconds=1))


def test_states(db: Database, settings: Settings, city: City) -> None:
    with db.read() as session:
        snapshot = read_snapshot(session, settings, now=NOW)
    states = {o.title: o.state for o in snapshot.outages}
    assert states["Upcoming A1"] == "PLANNED"
    assert states["Changed A1+A2"] == "CHANGED"
    assert states["Cancelled A1"] == "CANCELLED"
    assert states["Restored A2"] == "RESTORED"


@pytest.mark.parametrize(
    ("status", "revision", "state"),
    [
        ("planned", 1, "PLANNED"),
        ("planned", 2, "CHANGED"),
        ("cancelled", 1, "CANCELLED"),
        ("cancelled", 3, "CANCELLED"),
        ("restored", 2, "RESTORED"),
    ],
)
def test_outage_state(status: str, revision: int, state: str) -> None:
    assert outage_state(status, revision) == state


def test_values_are_in_local_time_with_urls_and_texts(
    db: Database, settings: Settings, city: City
) -> None:
    with db.read() as session:
        value = read_outage(session, settings, city.ids["changed"])
    assert value.start.isoformat() == "2026-12-04T08:00:00+08:00"
    assert value.url == f"https://outages.example.org/outages/{city.ids['changed']}"
    assert [t.language for t in value.texts] == ["zh-CN", "en"]
    en = value.text("en")
    assert en.title == "RESCHEDULED: Changed A1+A2"
    assert value.text("zh-CN").title == "已改期：Changed A1+A2"
    assert en.area_names == ("Zhongshan Rd", "Renmin Rd")
    assert "Fri 4 Dec 08:00-13:00 (UTC+08:00)" in en.summary
    assert "Previously: Thu 3 Dec 08:00-12:00." in en.summary
    assert "12319" in en.summary
    assert value.text("zh-CN").area_names == ("中山路", "人民路")
    assert [r.change for r in value.history] == ["created", "rescheduled"]


def test_an_outage_at_an_earlier_revision(db: Database, settings: Settings, city: City) -> None:
    with db.read() as session:
        first = read_outage(session, settings, city.ids["changed"], revision=1)
    assert (first.revision, first.state) == (1, "PLANNED")
    assert first.start.isoformat() == "2026-12-03T08:00:00+08:00"
    assert len(first.history) == 1


@pytest.mark.parametrize(("outage_id", "revision"), [(999, None), (1, 0), (1, 5)])
def test_an_unknown_outage_or_revision_is_not_found(
    db: Database, settings: Settings, city: City, outage_id: int, revision: int | None
) -> None:
    with db.read() as session, pytest.raises(NotFoundError):
        read_outage(session, settings, outage_id, revision=revision)


def test_every_revision_for_the_export(db: Database, settings: Settings, city: City) -> None:
    with db.read() as session:
        values = read_all_revisions(session, settings, [city.ids["changed"], city.ids["live"]])
    assert sorted((v.id, v.revision) for v in values) == sorted(
        [(city.ids["changed"], 1), (city.ids["changed"], 2), (city.ids["live"], 1)]
    )


def test_hostile_text_is_kept_as_written(db: Database, settings: Settings) -> None:
    with db.session() as s:
        add_area(s, "A1")
        outage = add_outage(s, title=HOSTILE, description=HOSTILE)
    with db.read() as session:
        value = read_outage(session, settings, outage.id or 0)
    assert value.title == HOSTILE
    assert HOSTILE in value.text("en").summary
    assert value.text("en").title == f"PLANNED: {HOSTILE}"


@pytest.mark.parametrize(
    ("utilities", "areas", "message"),
    [
        (["steam"], [], "unknown utility 'steam' (use water or gas)"),
        ([], ["Z9"], "unknown area 'Z9'"),
        (
            ["water", "oil"],
            ["A1", "Q"],
            "unknown utility 'oil' (use water or gas); unknown area 'Q'",
        ),
    ],
)
def test_an_unknown_filter_value_is_an_error(
    utilities: list[str], areas: list[str], message: str
) -> None:
    with pytest.raises(InputError) as raised:
        parse_filter(utilities, areas, ["A1", "A2"])
    assert str(raised.value) == message


def test_filters_are_normalised() -> None:
    assert parse_filter([" Water ", "water", ""], ["A2", "A1", " "], ["A1", "A2"]) == (
        OutageFilter(("water",), ("A1", "A2"))
    )


def test_filters_match_utility_and_any_area(db: Database, settings: Settings, city: City) -> None:
    with db.read() as session:
        snapshot = read_snapshot(session, settings, now=NOW)

    def chosen(utilities: tuple[str, ...] = (), areas: tuple[str, ...] = ()) -> set[str]:
        return {o.title for o in OutageFilter(utilities, areas).apply(snapshot.outages)}

    assert chosen(("gas",)) == {"Gas G1"}
    assert chosen(areas=("A2",)) == {"Live A2", "Changed A1+A2", "Restored A2"}
    assert chosen(("gas",), ("A2",)) == set()
    assert chosen(areas=("A2", "G1")) == {"Live A2", "Changed A1+A2", "Restored A2", "Gas G1"}


def test_the_snapshot_knows_when_time_alone_changes_it(
    db: Database, settings: Settings, city: City
) -> None:
    with db.read() as session:
        snapshot = read_snapshot(session, settings, now=NOW)
    # "Gas G1" starts in 30 hours: its CAP urgency turns Expected an hour before.
    assert snapshot.valid_until is not None
    assert NOW < snapshot.valid_until <= NOW + timedelta(hours=29)
    with db.read() as session:
        later = read_snapshot(session, settings, now=snapshot.valid_until)
    assert later.valid_until is None or later.valid_until > snapshot.valid_until


def test_the_fingerprint_moves_with_every_change(db: Database, city: City) -> None:
    with db.read() as session:
        before = fingerprint(session)
    with db.session() as s:
        from outage_notify.models import Outage

        outage = s.get(Outage, city.ids["upcoming"])
        assert outage is not None
        revise(s, outage, "extended", at=NOW, end=outage.end_at + timedelta(hours=1))
    with db.read() as session:
        after_revision = fingerprint(session)
    with db.session() as s:
        add_area(s, "NEW")
    with db.read() as session:
        after_area = fingerprint(session)
    assert len({before, after_revision, after_area}) == 3


@pytest.mark.parametrize(
    ("geometry", "count"),
    [
        (None, 0),
        ({"type": "Point", "coordinates": [1, 2]}, 0),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, 1),
        (
            {
                "type": "MultiPolygon",
                "coordinates": [
                    [[[0, 0], [1, 0], [1, 1], [0, 0]], [[0.1, 0.1], [0.2, 0.1], [0.2, 0.2]]],
                    [[[5, 5], [6, 5], [6, 6], [5, 5]]],
                ],
            },
            2,
        ),
    ],
)
def test_shapes_of_geojson(geometry, count: int) -> None:  # type: ignore[no-untyped-def]
    shapes = shapes_of(geometry)
    assert len(shapes) == count
    assert all(isinstance(p, tuple) and len(p) == 2 for s in shapes for r in s for p in r)
