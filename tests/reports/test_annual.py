"""The annual report on a seeded year; every expected figure is a hand count from the comments
in ``tests/report_seeds.py`` (Asia/Shanghai, UTC+8; W1 has 4 premises, G1 has 2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from outage_notify.db import Database
from outage_notify.errors import InputError, NotFoundError
from outage_notify.reports.annual import (
    AnnualReport,
    annual_report,
    csv_rows,
    report_years,
    year_bounds,
)
from outage_notify.settings import Settings
from tests.report_seeds import BACKENDS, YearSeed, module_database, seed_year, utc

NOW = utc(2027, 2, 1)


def _annual(
    db: Database, year: int | str = 2026, settings: Settings | None = None, now: datetime = NOW
) -> AnnualReport:
    with db.read() as session:
        return annual_report(session, year, settings=settings or Settings(), now=now)


Seeded = tuple[Database, YearSeed, AnnualReport]


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    """One seeded year per backend, shared by the tests that only read it."""
    with module_database(request, tmp_path_factory) as db:
        seed = seed_year(db)
        yield db, seed, _annual(db)


def test_outages_by_utility_and_final_status(seeded: Seeded) -> None:
    _db, _seed, report = seeded
    # 2026 locally: OG (its first minute), OA, OB, OE, OF (water); OC, OD (gas). Not OI (the
    # last minute of 2025) nor OH (the first of 2027).
    assert report.outages == {
        "water": {"planned": 4, "cancelled": 0, "restored": 1},
        "gas": {"planned": 0, "cancelled": 1, "restored": 1},
    }
    assert report.as_dict()["outages"]["total"] == 7


def test_customer_hours_planned_actual_and_the_estimate(seeded: Seeded) -> None:
    _db, _seed, report = seeded
    # water: OG 4 x 1 h, OA 4 x 4 h (restored after 5 h), OB 4 x 2 h, OE 4 x 1 h, OF 0 x 2 h.
    # gas: OD 2 x 6 h (restored after 4 h); OC was cancelled and interrupted nobody.
    assert report.customer_hours == {
        "water": {"planned": 4 + 16 + 8 + 4 + 0, "actual": 20, "estimate": 4 + 20 + 8 + 4},
        "gas": {"planned": 12, "actual": 8, "estimate": 8},
    }
    assert report.premises_affected == {"water": 16, "gas": 2}
    hours = report.as_dict()["customer_hours"]
    assert (hours["planned"], hours["actual"], hours["estimate"]) == (44, 28, 44)
    assert hours["restored_outages"] == 2


def test_messages_sent_by_channel_and_kind(seeded: Seeded) -> None:
    _db, _seed, report = seeded
    # W1 notices (OG, OA advance, reminder and restored, OB): sms 1 sent each (PW2 failed,
    # PW4 opted out), email 2 each (one bounced later: still sent). G1 notices: OC advance
    # and cancelled, sms 2 and email 1 each; OD advance, email 1 (its SMS expired).
    assert report.messages == {
        "sms": {
            "advance": 1 + 1 + 1 + 2,
            "reminder": 1,
            "changed": 0,
            "extended": 0,
            "cancelled": 2,
            "restored": 1,
        },
        "email": {
            "advance": 2 + 2 + 2 + 1 + 1,
            "reminder": 2,
            "changed": 0,
            "extended": 0,
            "cancelled": 1,
            "restored": 2,
        },
        "voice": dict.fromkeys(
            ["advance", "reminder", "changed", "extended", "cancelled", "restored"], 0
        ),
    }


def test_first_notice_lead_time_and_the_minimum(seeded: Seeded) -> None:
    _db, seed, report = seeded
    first = report.first_notice
    ids = seed.outages
    # OC was cancelled; OF affects nobody; OE went ahead with no notice at all.
    assert first.lead_hours == {ids["OG"]: 48, ids["OA"]: 72, ids["OB"]: 20, ids["OD"]: 30}
    assert first.without_notice == [ids["OE"]]
    assert first.median_hours == (30 + 48) / 2
    assert (first.met_min_notice, first.measured) == (3, 5)  # OG, OA, OD of five
    assert report.as_dict()["first_notice"] == {
        "outages_measured": 5,
        "without_notice": 1,
        "median_lead_hours": 39.0,
        "min_notice_hours": 24.0,
        "met_min_notice": 3,
        "share_met_min_notice": 0.6,
    }


def test_the_minimum_notice_comes_from_the_settings(seeded: Seeded) -> None:
    db, _seed, _report = seeded
    report = _annual(db, settings=Settings(schedule={"min_notice": "48h"}))  # type: ignore[arg-type]
    assert (report.first_notice.met_min_notice, report.first_notice.share_met) == (2, 2 / 5)


def test_an_outage_still_ahead_without_a_notice_is_not_counted_late(seeded: Seeded) -> None:
    db, _seed, _report = seeded
    report = _annual(db, now=utc(2026, 9, 15))  # OE starts on 1 October
    assert report.first_notice.without_notice == []
    assert report.first_notice.measured == 4


def test_delivery_success_rate_per_channel(seeded: Seeded) -> None:
    _db, _seed, report = seeded
    sms, email = report.delivery["sms"], report.delivery["email"]
    # sms: 9 sent; 5 failed (PW2, one per W1 notice) and 2 expired (OD) count against it;
    # 5 skipped (PW4 opted out) were never meant to go.
    assert (
        sms.states["sent"],
        sms.states["failed"],
        sms.states["expired"],
        sms.states["skipped"],
    ) == (9, 5, 2, 5)
    assert (sms.attempted, sms.succeeded, sms.rate) == (16, 9, 9 / 16)
    # email: 13 handed over; one bounced later (undelivered), one confirmed delivered.
    assert (email.states["sent"], email.states["delivered"], email.states["undelivered"]) == (
        11,
        1,
        1,
    )
    assert (email.attempted, email.succeeded) == (13, 12)
    assert report.as_dict()["delivery_success"]["email"]["rate"] == round(12 / 13, 4)


def test_superseded_deliveries_are_not_attempts(db: Database) -> None:
    from sqlalchemy import update
    from sqlmodel import col

    from outage_notify.models import Delivery

    seed_year(db)
    before = _annual(db)
    with db.session() as session:
        session.execute(
            update(Delivery).where(col(Delivery.state) == "failed").values(state="superseded")
        )
    sms = _annual(db).delivery["sms"]
    assert (sms.attempted, sms.succeeded) == (before.delivery["sms"].attempted - 5, 9)


def test_opt_outs_replies_and_subscribers_in_the_year(seeded: Seeded) -> None:
    _db, _seed, report = seeded
    # Opt-outs: the 2025 one and the one at 2027-01-01 00:00 local are not in 2026.
    assert report.opt_outs == {
        "email": {"sms": 0, "email": 1, "voice": 0},
        "planner": {"sms": 1, "email": 0, "voice": 0},
        "sms": {"sms": 1, "email": 0, "voice": 0},
    }
    assert report.inbound == {"stop": 2, "start": 1, "help": 1, "status": 0, "sub": 0, "other": 1}
    # Consent in 2026, whatever the status now; a pending sign-up has not consented.
    assert report.subscribers == {
        "sms": {"web": 1, "sms": 1},
        "email": {"web": 1},
        "voice": {},
    }
    data = report.as_dict()
    assert (data["opt_outs"]["total"], data["subscribers_gained"]["total"]) == (3, 3)


def test_year_boundaries_follow_the_configured_time_zone(seeded: Seeded) -> None:
    db, seed, _report = seeded
    assert year_bounds(2026, Settings().zone) == (utc(2025, 12, 31, 16), utc(2026, 12, 31, 16))
    report = _annual(db, settings=Settings(timezone="UTC"))
    # In UTC, OG starts in 2025 and OH in 2026.
    assert seed.outages["OH"] in report.first_notice.lead_hours
    assert seed.outages["OG"] not in report.first_notice.lead_hours
    with db.read() as session:
        assert report_years(session, Settings().zone) == [2027, 2026, 2025]


def test_a_year_without_outages_is_not_found(seeded: Seeded) -> None:
    db, _seed, _report = seeded
    with pytest.raises(NotFoundError, match=r"no report for 2024: .*years: 2027, 2026, 2025"):
        _annual(db, 2024)


@pytest.mark.parametrize(
    ("year", "message"),
    [
        ("1969", "year 1969 is out of range"),
        ("10000", "year 10000 is out of range"),
        ("20x6", "'20x6' is not a year"),
        ("", "'' is not a year"),
    ],
)
def test_a_year_out_of_range_or_not_a_number_is_rejected(
    db: Database, year: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        _annual(db, year)


def test_csv_rows_hold_every_figure(seeded: Seeded) -> None:
    _db, _seed, report = seeded
    rows = {(figure, breakdown): value for figure, breakdown, value in csv_rows(report)}
    assert rows[("outages", "")] == 7
    assert rows[("outages_restored", "gas")] == 1
    assert rows[("customer_hours_estimate", "")] == 44
    assert rows[("messages_sent", "sms/cancelled")] == 2
    assert rows[("first_notice_median_lead_hours", "")] == 39.0
    assert rows[("delivery_rate", "sms")] == 0.5625
    assert rows[("opt_outs", "planner/sms")] == 1
    assert rows[("inbound", "stop")] == 2
    assert rows[("subscribers_gained", "sms/web")] == 1
