from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import Customer, OptOut, Subscriber
from outage_notify.planning import outages
from outage_notify.planning.outages import OutageDraft
from outage_notify.planning.preview import preview
from outage_notify.settings import Settings, load_settings
from tests.builders import make_city
from tests.conftest import write_config

ZONE = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE).astimezone(UTC)


NOW = at("12-01 09:00")


@pytest.fixture
def city(db: Database) -> Database:
    """c1, c4 (critical) by SMS in W01; c2 by email in W02 (polygon too); c3 in W03."""
    make_city(db)
    with db.session() as session:
        session.add_all(
            [
                Customer(
                    account_id="c1", phone="+8613800000001", language="zh-CN", water_area="W01"
                ),
                Customer(
                    account_id="c2",
                    email="c2@example.org",
                    language="en",
                    water_area="W02",
                    latitude=31.25,
                    longitude=121.55,
                ),
                Customer(
                    account_id="c3", phone="+8613800000003", language="zh-CN", water_area="W03"
                ),
                Customer(
                    account_id="c4",
                    phone="+8613800000004",
                    language="zh-CN",
                    water_area="W01",
                    critical=True,
                ),
                Customer(account_id="c5", phone="+8613800000005", language="en", water_area="W02"),
                Subscriber(
                    channel="email",
                    address="s1@example.org",
                    area_code="W02",
                    language="en",
                    status="active",
                    consent_source="web",
                ),
                OptOut(channel="sms", address="+8613800000005", source="sms"),
            ]
        )
    return db


def planned(db: Database, settings: Settings, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "utility": "water",
        "title": "Main replacement",
        "start": at("12-10 10:00"),
        "end": at("12-10 14:00"),
        "areas": ["W01", "W02"],
    }
    base.update(values)
    with db.session() as session:
        outage = outages.plan_outage(
            session, OutageDraft(**base), settings=settings, now=NOW, actor="t"
        )
        return preview(session, outage, settings=settings, now=NOW)


def test_preview_counts_recipients_costs_and_texts(city: Database, settings: Settings) -> None:
    data = planned(city, settings)
    assert data["recipients"] == {
        "sms": {"total": 2, "by_language": {"zh-CN": 2}},
        "email": {"total": 2, "by_language": {"en": 2}},
        "voice": {"total": 0, "by_language": {}},
    }
    assert data["critical_recipients"]["sms"] == {"total": 1, "by_language": {"zh-CN": 1}}
    assert data["by_match"] == {"area_code": 3, "both": 1, "subscription": 1}
    assert data["affected_customers"] == 4
    assert data["skipped"] == {"sms": {"opted_out": 1}}
    assert [(n["kind"], n["audience"]) for n in data["notices"]] == [
        ("advance", "critical"),
        ("advance", "all"),
        ("reminder", "all"),
        ("reminder", "all"),
    ]
    assert data["notices"][0]["due_at"] == "2026-12-03T10:00:00+08:00"
    # Chinese SMS: 2 segments each. Critical advance 1 SMS, then 2 SMS for each of three.
    assert data["sms_segments"] == {"zh-CN": 2, "en": 1}
    assert data["sms_messages"] == 7
    assert data["sms_cost"] == pytest.approx(14 * 0.0079)
    assert data["sms_cost_per_notice"] == pytest.approx(4 * 0.0079)
    assert data["sms_eta_seconds"] == 2.0
    assert set(data["texts"]) == {"zh-CN", "en"}
    assert set(data["texts"]["en"]) == {"advance", "reminder"}
    sample = data["texts"]["zh-CN"]["advance"]
    assert sample["encoding"] == "UCS-2"
    assert "12319" in sample["sms"]
    assert data["warnings"] == []


def test_preview_warns_when_an_sms_needs_more_than_two_segments(
    city: Database, tmp_path: Any, config_values: dict[str, Any]
) -> None:
    config_values["public_url"] = "https://" + "very-long-host-name." * 5 + "example.org"
    config = load_settings(write_config(tmp_path / "long.toml", config_values), environ={})
    data = planned(city, config)
    assert any("the zh-CN advance SMS needs 3 segments" in w for w in data["warnings"])


def test_preview_warns_when_nobody_is_reached(city: Database, settings: Settings) -> None:
    with city.session() as session:
        session.add(OptOut(channel="sms", address="+8613800000003", source="sms"))
    data = planned(city, settings, areas=["W03"])
    assert data["recipients"]["sms"]["total"] == 0
    assert data["skipped"] == {"sms": {"opted_out": 1}}
    assert any(
        "1 customers and subscribers match W03, and every one is left out" in w
        for w in data["warnings"]
    )
    with city.session() as session:
        session.delete(session.exec(select(Customer).where(Customer.account_id == "c3")).one())
    again = planned(city, settings, areas=["W03"], ref="WO-2")
    assert "nobody would be notified: no customer or subscriber matches W03" in again["warnings"]


def test_preview_warns_about_urgent_quiet_hour_sends(city: Database, settings: Settings) -> None:
    with city.session() as session:
        outage = outages.plan_outage(
            session,
            OutageDraft(
                utility="water",
                title="Burst main",
                start=at("12-02 07:00"),
                end=at("12-02 09:00"),
                areas=["W01"],
            ),
            settings=settings,
            now=at("12-01 23:00"),
            actor="t",
            short_notice=True,
        )
        data = preview(session, outage, settings=settings, now=at("12-01 23:00"))
    assert data["notices"][0]["urgent"] is True
    assert any("during quiet hours" in w and "urgent" in w for w in data["warnings"])


def test_preview_warns_when_sending_runs_into_quiet_hours(
    city: Database, tmp_path: Any, config_values: dict[str, Any]
) -> None:
    config_values["sms"]["max_per_second"] = 0.001  # two SMS take over half an hour
    config = load_settings(write_config(tmp_path / "slow.toml", config_values), environ={})
    data = planned(city, config, start=at("12-10 22:30"), end=at("12-10 23:30"))
    assert data["sms_eta_seconds"] == 2000.0
    assert any("takes 0h33m" in w or "takes 33m20s" in w for w in data["warnings"])
    assert any("run into quiet hours at 2026-12-10 21:00" in w for w in data["warnings"])
