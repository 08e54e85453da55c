"""The per-outage report on a seeded database; every expected figure is a hand count from the
comments in ``tests/report_seeds.py``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from outage_notify.db import Database
from outage_notify.errors import NotFoundError
from outage_notify.reports.outage_report import OutageReport, outage_report
from tests.factories import T0, add_area, add_customer, add_notice, add_outage
from tests.report_seeds import (
    BACKENDS,
    REPORT_AT,
    START,
    OutageSeed,
    customer_ids,
    dispatch_at,
    module_database,
    seed_outage,
    set_delivery,
)

ZONE = ZoneInfo("Asia/Shanghai")


def _report(db: Database, outage_id: int, now: datetime = REPORT_AT) -> OutageReport:
    with db.read() as session:
        return outage_report(session, outage_id, now=now)


@dataclass
class Seeded:
    db: Database
    seed: OutageSeed
    report: OutageReport


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    """One seeded outage per backend, shared by the tests that only read it."""
    with module_database(request, tmp_path_factory) as db:
        seed = seed_outage(db)
        yield Seeded(db, seed, _report(db, seed.outage_id))


def test_every_delivery_state_is_counted_per_channel(seeded: Seeded) -> None:
    report = seeded.report
    # sms, per expanded notice: A001/A002's shared phone, A007 and the subscriber sent (the
    # advance to A007 then delivered), A005 failed, A004 and A013 opted out, A009 without a
    # phone, A010 flagged invalid: skipped. Two notices.
    # email, per notice: A001 and A011 sent, A005, A013 and A009 (wants sms, has no phone: its
    # email is used) failed, A006 pending a retry.
    zero = dict.fromkeys(
        [
            "pending",
            "sending",
            "sent",
            "delivered",
            "undelivered",
            "failed",
            "skipped",
            "expired",
            "superseded",
        ],
        0,
    )
    assert report.deliveries == {
        "sms": {**zero, "sent": 5, "delivered": 1, "failed": 2, "skipped": 8},
        "email": {**zero, "pending": 2, "sent": 4, "failed": 6},
        "voice": zero,
    }
    assert report.as_dict(ZONE)["deliveries"] == report.deliveries


def test_counts_per_notice(seeded: Seeded) -> None:
    report = seeded.report
    advance, reminder, last_call = report.notices
    assert advance.deliveries == {
        "sms": {"sent": 2, "delivered": 1, "failed": 1, "skipped": 4},
        "email": {"sent": 2, "failed": 3, "pending": 1},
    }
    assert reminder.deliveries == {
        "sms": {"sent": 3, "failed": 1, "skipped": 4},
        "email": {"sent": 2, "failed": 3, "pending": 1},
    }
    assert (last_call.state, last_call.deliveries) == ("pending", {})


def test_late_notices_and_deliveries(seeded: Seeded) -> None:
    report = seeded.report
    # The reminder went out 10 minutes after its due time: its three sent SMS (A001's phone,
    # A007, the subscriber) and two sent emails (A001, A011) were late; failures are not "sent".
    assert [(n.kind, n.late) for n in report.notices] == [
        ("advance", False),
        ("reminder", True),
        ("reminder", False),
    ]
    assert report.late_deliveries == {"sms": 3, "email": 2, "voice": 0}
    data = report.as_dict(ZONE)
    assert data["late"] == {
        "deliveries": {"sms": 3, "email": 2, "voice": 0},
        "notices": [report.notices[1].id],
    }
    assert data["expired"] == {"deliveries": {"sms": 0, "email": 0, "voice": 0}, "notices": []}


def test_failures_are_grouped_by_channel_and_error_code(seeded: Seeded) -> None:
    report = seeded.report
    assert [(f.channel, f.state, f.code, f.reason, f.count) for f in report.failures] == [
        ("email", "failed", "550", "mailbox unavailable", 6),  # A005, A013, A009, two notices
        ("sms", "failed", "30007", "carrier filtered", 2),  # A005, two notices
    ]


def test_skipped_deliveries_by_reason(seeded: Seeded) -> None:
    report = seeded.report
    assert report.skipped == {
        "sms": {"invalid_contact": 2, "no_contact": 2, "opted_out": 4},
        "email": {},
        "voice": {},
    }


def test_duplicates_found_by_crash_recovery(seeded: Seeded) -> None:
    db, report = seeded.db, seeded.report
    ids = customer_ids(db)
    assert report.duplicate_counts == {"sms": 0, "email": 1, "voice": 0}
    (line,) = report.duplicates
    assert (line.kind, line.channel, line.recipient, line.state) == (
        "advance",
        "email",
        f"customer:{ids['A011']}",
        "sent",
    )


def test_opt_outs_among_the_affected(seeded: Seeded) -> None:
    report = seeded.report
    cov = report.coverage
    # A004 (source sms; its only contact) and A013 (source web; it still has email).
    assert cov.opted_out == {"sms": 2, "email": 0, "voice": 0}
    assert cov.opted_out_every_channel == 1
    assert cov.opt_out_sources == {"sms": 1, "web": 1}


def test_coverage_is_the_share_of_affected_premises_reached_before_the_start(
    seeded: Seeded,
) -> None:
    report = seeded.report
    cov = report.coverage
    # Affected: A001-A007, A009-A013 (A008 is in W2) = 12. Reached: A001 (sms, email), A002
    # (A001's phone), A007 (delivered), A011 (email) = 4.
    assert (cov.affected_premises, cov.reached) == (12, 4)
    assert cov.share == pytest.approx(4 / 12)
    assert cov.reached_by_channel == {"sms": 3, "email": 2, "voice": 0}
    assert report.as_dict(ZONE)["coverage"] == {
        "affected_premises": 12,
        "reached": 4,
        "not_reached": 8,
        "share": 0.3333,
        "reached_by_channel": {"sms": 3, "email": 2, "voice": 0},
        "channel_without_contact": 0,
        "channel_fallback": 1,
    }


def test_door_hanger_list_names_every_premise_not_reached_with_the_reason(seeded: Seeded) -> None:
    report = seeded.report
    rows = [(h.account_id, h.critical, h.reason, h.detail) for h in report.coverage.door_hangers]
    assert rows == [
        # Critical-needs premises first.
        (
            "A009",
            True,
            "failed",
            "asked for sms, has no phone number, so every channel it has a contact for was "
            "used; email: failed: 550 mailbox unavailable",
        ),
        ("A003", False, "no_contact", "no phone number or email address"),
        ("A004", False, "opted_out", "sms: opted out (sms)"),
        (
            "A005",
            False,
            "failed",
            "sms: failed: 30007 carrier filtered; email: failed: 550 mailbox unavailable",
        ),
        ("A006", False, "not_yet_sent", "email: retrying after: 503 Service Unavailable"),
        ("A010", False, "invalid_contact", "sms: phone number flagged invalid by the provider"),
        ("A012", False, "not_yet_sent", "sms: a notice is still to fall due"),
        ("A013", False, "mixed", "sms: opted out (web); email: failed: 550 mailbox unavailable"),
    ]
    first = report.coverage.door_hangers[0]
    assert (first.name, first.address, first.phone, first.email) == (
        "Zhou Jie",
        "9 Water St",
        None,
        "a009@example.org",
    )
    assert report.coverage.reasons() == {
        "no_contact": 1,
        "opted_out": 1,
        "invalid_contact": 1,
        "failed": 2,
        "not_yet_sent": 2,
        "mixed": 1,
    }


def test_a_premise_is_reached_only_by_what_went_before_the_start(db: Database) -> None:
    seed = seed_outage(db)
    # Say the shared phone's messages all went after the start: A001 still has its email,
    # but A002 (that phone only) is no longer reached.
    for notice_id in (seed.advance_id, seed.reminder_id):
        set_delivery(db, notice_id, "sms", "+8613900000001", sent_at=START + timedelta(minutes=1))
    report = _report(db, seed.outage_id)
    assert report.coverage.reached == 3
    (a002,) = [h for h in report.coverage.door_hangers if h.account_id == "A002"]
    assert (a002.reason, a002.detail) == (
        "sent_after_start",
        "sms: sent only after the work started",
    )


def test_expired_notices_and_deliveries(db: Database) -> None:
    start = T0 + timedelta(hours=6)
    with db.session() as s:
        add_area(s, "W1")
        add_customer(s, "B1", phone="+8613800000001", email="b1@example.org", water_area="W1")
        add_customer(s, "B2", phone="+8613800000002", water_area="W1")
        outage = add_outage(s, start=start)
        # The SMS was held for quiet hours until after the start: it expires unsent.
        add_notice(s, outage, due=T0, sms_due=start + timedelta(hours=1))
        # The daemon was down when this one fell due and came back after the start.
        add_notice(s, outage, kind="reminder", due=T0 + timedelta(hours=4))
        assert outage.id is not None
    dispatch_at(db, [T0, start + timedelta(hours=1)])
    report = _report(db, outage.id, now=start + timedelta(hours=2))
    assert report.expired_deliveries == {"sms": 2, "email": 0, "voice": 0}
    assert [(n.kind, n.state) for n in report.expired_notices] == [("reminder", "expired")]
    assert report.deliveries["email"]["sent"] == 1
    reasons = {h.account_id: (h.reason, h.detail) for h in report.coverage.door_hangers}
    assert reasons == {"B2": ("expired", "sms: expired unsent (the work had started)")}
    assert report.as_dict(ZONE)["expired"]["notices"] == [report.expired_notices[0].id]


def test_messages_of_a_failure_group_differ_only_in_the_attempt_count(db: Database) -> None:
    with db.session() as s:
        add_area(s, "W1")
        add_customer(s, "C1", email="c1@example.org", water_area="W1")
        add_customer(s, "C2", email="c2@example.org", water_area="W1")
        notice = add_notice(s, add_outage(s))
        assert notice.id is not None
    dispatch_at(db, [T0])
    for address, attempts in (("c1@example.org", 2), ("c2@example.org", 3)):
        set_delivery(
            db,
            notice.id,
            "email",
            address,
            state="failed",
            error_code=None,
            error=f"gave up at the deadline after {attempts} attempts: connection refused",
        )
    (group,) = _report(db, notice.outage_id).failures
    assert (group.channel, group.code, group.reason, group.count) == (
        "email",
        None,
        "connection refused",
        2,
    )


def test_an_outage_nobody_is_affected_by_has_no_coverage_share(db: Database) -> None:
    with db.session() as s:
        add_area(s, "W1")
        outage = add_outage(s)
        assert outage.id is not None
    report = _report(db, outage.id)
    assert (report.coverage.affected_premises, report.coverage.share) == (0, None)
    assert report.as_dict(ZONE)["coverage"]["share"] is None
    assert report.coverage.door_hangers == []


def test_an_unknown_outage_is_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError, match="outage 404 does not exist"):
        _report(db, 404)


def test_times_in_json_are_local_with_their_offset(seeded: Seeded) -> None:
    report = seeded.report
    data = report.as_dict(ZONE)
    assert data["outage"]["start_at"] == "2026-12-03T08:00:00+08:00"
    assert data["generated_at"] == "2026-12-02T09:00:00+08:00"
    assert data["notices"][1]["expanded_at"] == "2026-12-02T08:10:00+08:00"
