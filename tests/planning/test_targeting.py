from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from outage_notify.db import Database
from outage_notify.models import (
    Customer,
    Delivery,
    Notice,
    OptOut,
    Outage,
    ServiceArea,
    Subscriber,
)
from outage_notify.planning.matching import count_recipients
from outage_notify.planning.targeting import target

START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def square(lon: float, lat: float, size: float = 0.1) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def area(code: str, utility: str, lon: float, lat: float) -> ServiceArea:
    return ServiceArea(
        code=code,
        name=code,
        utility=utility,
        geometry=square(lon, lat),
        min_lon=lon,
        min_lat=lat,
        max_lon=lon + 0.1,
        max_lat=lat + 0.1,
    )


def customer(account: str, **values: Any) -> Customer:
    values.setdefault("language", "zh-CN")
    return Customer(account_id=account, **values)


def outage(session: Session, utility: str, codes: list[str]) -> Outage:
    row = Outage(
        utility=utility,
        title="t",
        start_at=START,
        end_at=START + timedelta(hours=4),
        area_codes=codes,
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def city(db: Database) -> Database:
    """W1 at (121.0, 31.0), W2 at (121.2, 31.0), G1 overlapping W1; customers placed by hand."""
    with db.session() as session:
        session.add_all(
            [
                area("W1", "water", 121.0, 31.0),
                area("W2", "water", 121.2, 31.0),
                area("G1", "gas", 121.0, 31.0),
            ]
        )
        session.add_all(
            [
                # by code only (no coordinates)
                customer("c1", phone="+8613800000001", water_area="W1"),
                # by code and polygon
                customer(
                    "c2", phone="+8613800000002", water_area="W1", latitude=31.05, longitude=121.05
                ),
                # by polygon only: no area code, inside W1
                customer(
                    "c3", email="c3@example.org", latitude=31.02, longitude=121.03, language="en"
                ),
                # on W1's boundary: counts as inside
                customer("c4", email="c4@example.org", latitude=31.0, longitude=121.05),
                # code says W2 but stands inside W1: affected by W1 through the polygon
                customer(
                    "c5", phone="+8613800000005", water_area="W2", latitude=31.01, longitude=121.01
                ),
                # outside everything
                customer(
                    "c6", phone="+8613800000006", water_area="W2", latitude=31.05, longitude=121.25
                ),
                # shares c1's phone: one SMS for both accounts
                customer("c7", phone="+8613800000001", water_area="W1", critical=True),
                # wants email only although it has a phone
                customer(
                    "c8",
                    phone="+8613800000008",
                    email="c8@example.org",
                    water_area="W1",
                    channels="email",
                ),
                # wants sms but its phone was flagged invalid by the provider; email as well
                customer(
                    "c9",
                    phone="+8613800000009",
                    email="c9@example.org",
                    water_area="W1",
                    channels="sms;email",
                    phone_invalid=True,
                ),
                # wants sms but has no phone
                customer("c10", email="c10@example.org", water_area="W1", channels="sms"),
                # opted out of sms
                customer("c11", phone="+8613800000011", water_area="W1", critical=True),
                # a gas customer in G1
                customer("c12", phone="+8613800000012", gas_area="G1"),
            ]
        )
        session.add(OptOut(channel="sms", address="+8613800000011", source="sms"))
        session.add_all(
            [
                Subscriber(
                    channel="email",
                    address="sub@example.org",
                    area_code="W1",
                    language="en",
                    status="active",
                    consent_source="web",
                ),
                Subscriber(
                    channel="email",
                    address="pending@example.org",
                    area_code="W1",
                    language="en",
                    status="pending",
                    consent_source="web",
                ),
                # a subscriber who is also customer c3: still one email
                Subscriber(
                    channel="email",
                    address="c3@example.org",
                    area_code="W1",
                    language="en",
                    status="active",
                    consent_source="web",
                ),
            ]
        )
    return db


def _accounts(db: Database, result: Any) -> dict[str, set[str]]:
    with db.read() as session:
        ids = {c.id: c.account_id for c in session.exec(Customer.__table__.select())}  # type: ignore[attr-defined]
    out: dict[str, set[str]] = {"sms": set(), "email": set()}
    for r in result.recipients:
        out[r.channel].add(ids[r.customer_id] if r.customer_id else f"sub:{r.address}")
    return out


def test_water_outage_by_code_and_polygon(city: Database) -> None:
    with city.session() as session:
        result = target(session, outage(session, "water", ["W1"]))
    assert result.affected_customers == 10  # c1-c5, c7-c11
    assert result.by_match == {"area_code": 6, "both": 1, "polygon": 3, "subscription": 2}
    got = _accounts(city, result)
    assert got["sms"] == {"c1", "c2", "c5"}  # c7 shares c1's phone; c11 opted out
    # c10 wants sms but has only an email: reached by email rather than not at all.
    assert got["email"] == {"c3", "c4", "c8", "c9", "c10", "sub:sub@example.org"}
    reasons = sorted((s.channel, s.reason) for s in result.skipped)
    assert reasons == [("sms", "invalid_contact"), ("sms", "no_contact"), ("sms", "opted_out")]
    assert len({(r.channel, r.address) for r in result.recipients}) == len(result.recipients)


def test_counted_recipients_match_the_targeted_ones_or_err_high(city: Database) -> None:
    with city.session() as session:
        water = outage(session, "water", ["W1"])
        exact = _accounts(city, target(session, water))
        counted = {c: count_recipients(session, water, c) for c in ("sms", "email")}
    # Shared phones, opt-outs, flagged and unwanted contacts are left out as targeting does.
    assert counted["sms"] == len(exact["sms"]) == 3
    # The subscriber who is also customer c3 counts twice: the count errs high, never low.
    assert counted["email"] == len(exact["email"]) + 1


def test_counted_recipients_of_two_areas_and_of_gas(city: Database) -> None:
    with city.session() as session:
        both = count_recipients(session, outage(session, "water", ["W1", "W2"]), "sms")
        gas = outage(session, "gas", ["G1"])
        exact = _accounts(city, target(session, gas))
        gas_sms = count_recipients(session, gas, "sms")
    assert both == 4  # c6 too
    assert gas_sms == len(exact["sms"])


def test_counted_recipients_of_an_outage_with_its_own_polygon(city: Database) -> None:
    # An upstream feed's polygon: the matched ids are counted in one query on PostgreSQL
    # (= ANY of an array), in chunks of IN (...) on SQLite; the same figure either way.
    with city.session() as session:
        own = outage(session, "water", ["W1"])
        own.geometry = square(121.0, 31.0, size=0.04)  # c3 and c5 inside; c1 not located
        exact = _accounts(city, target(session, own))
        counted = {c: count_recipients(session, own, c) for c in ("sms", "email")}
    assert exact["sms"] == {"c1", "c5"}
    assert counted["sms"] == 2
    assert counted["email"] == len(exact["email"]) + 1  # the subscriber c3 counts twice


def test_the_first_account_of_a_shared_contact_is_named(city: Database) -> None:
    with city.session() as session:
        result = target(session, outage(session, "water", ["W1"]))
    shared = [r for r in result.recipients if r.address == "+8613800000001"]
    assert len(shared) == 1
    assert shared[0].recipient_id.startswith("customer:")


def test_outage_over_two_areas_is_the_union(city: Database) -> None:
    with city.session() as session:
        result = target(session, outage(session, "water", ["W1", "W2"]))
    assert result.affected_customers == 11  # c6 too
    assert "c6" in _accounts(city, result)["sms"]


def test_areas_of_the_other_utility_do_not_match(city: Database) -> None:
    with city.session() as session:
        gas = target(session, outage(session, "gas", ["G1"]))
    # G1 covers W1's ground: everyone with coordinates inside matches by polygon, plus c12.
    assert gas.by_match == {"area_code": 1, "polygon": 4}
    with city.session() as session:
        # A water outage naming a gas area code matches no polygon (the area is gas).
        result = target(session, outage(session, "water", ["G1"]))
    assert result.affected_customers == 0


def test_critical_audience(city: Database) -> None:
    with city.session() as session:
        result = target(session, outage(session, "water", ["W1"]), audience="critical")
    assert result.affected_customers == 2  # c7, c11
    assert [r.address for r in result.recipients] == ["+8613800000001"]
    assert result.recipients[0].critical
    assert [s.reason for s in result.skipped] == ["opted_out"]


def test_notified_audience_is_who_an_earlier_notice_reached(city: Database) -> None:
    with city.session() as session:
        row = outage(session, "water", ["W1"])
        assert row.id is not None
        notice = Notice(
            outage_id=row.id,
            revision=1,
            kind="advance",
            due_at=START,
            sms_due_at=START,
            deadline=START,
        )
        session.add(notice)
        session.flush()
        assert notice.id is not None
        for address, channel, state in [
            ("+8613800000001", "sms", "delivered"),
            ("c3@example.org", "email", "sent"),
            ("+8613800000002", "sms", "failed"),
            ("+8613800000005", "sms", "pending"),
        ]:
            session.add(
                Delivery(
                    notice_id=notice.id,
                    channel=channel,
                    address=address,
                    language="zh-CN",
                    state=state,
                    next_attempt_at=START,
                    deadline=START,
                )
            )
        session.add(OptOut(channel="email", address="c3@example.org", source="email"))
        session.flush()
        result = target(session, row, audience="notified")
    assert [(r.channel, r.address) for r in result.recipients] == [("sms", "+8613800000001")]
    assert [(s.address, s.reason) for s in result.skipped] == [("c3@example.org", "opted_out")]


def test_unknown_audience_is_refused(city: Database) -> None:
    with city.session() as session, pytest.raises(ValueError, match="audience"):
        target(session, outage(session, "water", ["W1"]), audience="everyone")
