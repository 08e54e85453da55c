"""Who gets which notice, end to end: outages planned and changed with the planning
functions, notices expanded and sent by the delivery engine at the injected times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from outage_notify.db import Database
from outage_notify.models import Customer
from outage_notify.planning import outages
from outage_notify.planning.outages import OutageDraft
from outage_notify.settings import Settings
from tests.builders import make_city
from tests.engine import ScriptedChannel, make_dispatcher

ZONE = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE).astimezone(UTC)


class Town:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database, self.settings = database, settings
        self.sms, self.email = ScriptedChannel(), ScriptedChannel()
        self.dispatcher = make_dispatcher(database, sms=self.sms, email=self.email)

    def move_in(self, account: str, **contact: str) -> None:
        with self.database.session() as session:
            session.add(Customer(account_id=account, language="zh-CN", water_area="W01", **contact))

    def tick(self, when: str) -> set[tuple[str, str]]:
        """Run the engine at ``when``; (notice kind, address) of what it sent."""
        sms, email = len(self.sms.sent), len(self.email.sent)
        self.dispatcher.run_once(at(when))
        sent = self.sms.sent[sms:] + self.email.sent[email:]
        return {(m.text.split("(")[1].rstrip(")"), m.address) for m in sent}


@pytest.fixture
def town(sqlite_db: Database) -> Town:
    settings = Settings()  # Asia/Shanghai, quiet 21:00-08:00, water 72h/24h/2h
    make_city(sqlite_db)
    town = Town(sqlite_db, settings)
    town.move_in("c1", phone="+8613800000001")
    town.move_in("c2", email="c2@example.org")
    with sqlite_db.session() as session:
        outages.plan_outage(
            session,
            OutageDraft(
                utility="water",
                title="Main replacement",
                start=at("12-10 10:00"),
                end=at("12-10 14:00"),
                areas=["W01"],
            ),
            settings=settings,
            now=at("12-01 09:00"),
            actor="planner",
        )
    return town


def test_reschedule_inside_the_first_lead_time_tells_everyone_once(town: Town) -> None:
    assert town.tick("12-07 10:00") == {
        ("advance", "+8613800000001"),
        ("advance", "c2@example.org"),
    }
    town.move_in("c9", phone="+8613800000009")  # newly affected after the advance
    with town.database.session() as session:
        outages.reschedule(
            session,
            1,
            start=at("12-09 15:00"),
            end=at("12-09 19:00"),
            settings=town.settings,
            now=at("12-08 09:00"),
            actor="planner",
        )
    assert town.tick("12-08 09:00") == {
        ("changed", "+8613800000001"),
        ("changed", "c2@example.org"),
        ("changed", "+8613800000009"),
    }
    # The old 24h reminder (12-09 10:00) was superseded; the new one is at 12-08 15:00.
    assert {kind for kind, _ in town.tick("12-08 15:00")} == {"reminder"}
    assert town.tick("12-09 10:00") == set()


def test_reschedule_with_the_advance_ahead_tells_only_the_notified(town: Town) -> None:
    town.tick("12-07 10:00")
    town.move_in("c9", phone="+8613800000009")
    with town.database.session() as session:
        outages.reschedule(
            session,
            1,
            start=at("12-20 10:00"),
            end=at("12-20 14:00"),
            settings=town.settings,
            now=at("12-08 09:00"),
            actor="planner",
        )
    assert town.tick("12-08 09:00") == {
        ("changed", "+8613800000001"),
        ("changed", "c2@example.org"),
    }
    assert town.tick("12-17 10:00") == {
        ("advance", "+8613800000001"),
        ("advance", "c2@example.org"),
        ("advance", "+8613800000009"),
    }


def test_cancel_tells_the_notified_and_nothing_else_goes(town: Town) -> None:
    town.tick("12-07 10:00")
    town.move_in("c9", phone="+8613800000009")
    with town.database.session() as session:
        outages.cancel(
            session,
            1,
            reason="crew reassigned",
            settings=town.settings,
            now=at("12-08 09:00"),
            actor="planner",
        )
    assert town.tick("12-08 09:00") == {
        ("cancelled", "+8613800000001"),
        ("cancelled", "c2@example.org"),
    }
    assert town.tick("12-10 09:00") == set()


def test_extend_and_restore_go_to_the_notified(town: Town) -> None:
    town.tick("12-07 10:00")
    town.tick("12-09 10:00")
    town.tick("12-10 08:00")
    with town.database.session() as session:
        outages.extend(
            session,
            1,
            end=at("12-10 18:00"),
            settings=town.settings,
            now=at("12-10 13:00"),
            actor="crew",
        )
    assert town.tick("12-10 13:00") == {
        ("extended", "+8613800000001"),
        ("extended", "c2@example.org"),
    }
    with town.database.session() as session:
        outages.restore(session, 1, settings=town.settings, now=at("12-10 17:30"), actor="crew")
    assert town.tick("12-10 17:30") == {
        ("restored", "+8613800000001"),
        ("restored", "c2@example.org"),
    }
