"""Still no water after "restored": NOWATER/没水 by SMS, one report per premise, the threshold
alert (a row, then one email to the dispatch address) and the summary the CLI prints."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import InboundMessage, NoWaterAlert, NoWaterReport, Outage
from outage_notify.residents import nowater
from outage_notify.residents.inbound import Keyword, handle_inbound, parse
from outage_notify.settings import Settings, load_settings
from tests.conftest import write_config
from tests.sms_records import NOW, add_area, add_customer, add_outage, add_subscriber

PHONE = "+8613800138000"


def restored(db: Database, areas: list[str], *, ago: timedelta = timedelta(hours=2)) -> int:
    """A water outage in ``areas``, restored ``ago`` before NOW."""
    with db.session() as session:
        outage = add_outage(session, areas, start=NOW - ago - timedelta(hours=4), status="restored")
        outage.restored_at = NOW - ago
        outage.title = "Valve replacement"
        session.add(outage)
        assert outage.id is not None
        return outage.id


def text(db: Database, settings: Settings, body: str, sender: str = PHONE, sid: str = "") -> Any:
    with db.session() as session:
        return handle_inbound(
            session, settings, sid=sid or None, from_address=sender, body=body, now=NOW
        )


@pytest.mark.parametrize(
    "body", ["NOWATER", "nowater", "No water", "ＮＯＷＡＴＥＲ", "没水", "没水！"]
)
def test_the_keyword_in_both_languages(body: str) -> None:
    assert parse(body).keyword == Keyword.NOWATER


def test_nowater_in_chinese_is_tied_to_the_outage_and_the_premise(
    db: Database, settings: Settings
) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区", "Cuiyuan 1")
        customer = add_customer(session, "ACC-1", PHONE, water_area="XH-01")
        customer_id = customer.id
    outage_id = restored(db, ["XH-01"])
    result = text(db, settings, "没水")
    assert result.keyword == Keyword.NOWATER
    assert result.language == "zh-CN"
    assert result.reply == (
        "【城市供水】已收到您的报告：“Valve replacement”恢复供水后您家仍然没水，调度人员已看到。"
        "如需帮助请拨打服务热线12319。"
    )
    with db.read() as session:
        report = session.exec(select(NoWaterReport)).one()
        assert (report.outage_id, report.area_code, report.reporter, report.source) == (
            outage_id,
            "XH-01",
            f"customer:{customer_id}",
            "sms",
        )
        assert report.customer_id == customer_id
        assert session.exec(select(InboundMessage.keyword)).one() == "nowater"


def test_nowater_in_english_from_a_subscriber(db: Database, settings: Settings) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区", "Cuiyuan 1")
        subscriber = add_subscriber(session, PHONE, "XH-01", language="en")
    restored(db, ["XH-01"])
    result = text(db, settings, "NOWATER")
    assert result.language == "en"
    assert "Hotline" not in result.reply  # the sentence names it: "call the hotline 12319"
    assert result.reply.endswith("For help call the hotline 12319.")
    with db.read() as session:
        assert session.exec(select(NoWaterReport.reporter)).one() == f"subscriber:{subscriber.id}"


def test_a_repeat_is_acknowledged_and_counted_once(db: Database, settings: Settings) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区")
        add_customer(session, "ACC-1", PHONE, water_area="XH-01")
    outage_id = restored(db, ["XH-01"])
    first = text(db, settings, "没水", sid="SM1")
    second = text(db, settings, "NOWATER", sid="SM2")
    assert first.reply == second.reply
    with db.read() as session:
        assert nowater.summary(session, outage_id)["by_area"] == {"XH-01": 1}


@pytest.mark.parametrize(
    ("case", "ago"),
    [("restored too long ago", timedelta(hours=80)), ("no restoration at all", None)],
)
def test_without_a_recent_restoration_the_reply_gives_the_hotline(
    db: Database, settings: Settings, case: str, ago: timedelta | None
) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区", "Cuiyuan 1")
        add_customer(session, "ACC-1", PHONE, water_area="XH-01", language="en")
        add_outage(session, ["XH-01"], start=NOW - timedelta(hours=1))  # under way: planned
    if ago is not None:
        restored(db, ["XH-01"], ago=ago)
    result = text(db, settings, "nowater")
    assert result.reply == (
        "City Water and City Gas: we have no water work restored in your area in the last 72 "
        "hours. If your water is off, please call the hotline 12319."
    ), case
    with db.read() as session:
        assert session.exec(select(NoWaterReport)).all() == []


def test_a_stranger_is_named_by_a_digest_never_by_the_number(
    db: Database, settings: Settings
) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区")
    outage_id = restored(db, ["XH-01"])
    with db.session() as session:
        outage = session.get_one(Outage, outage_id)
        filed = nowater.file_report(
            session,
            settings,
            outage=outage,
            area_code="XH-01",
            reporter=nowater.phone_reporter(PHONE),
            customer_id=None,
            source="web",
            now=NOW,
        )
        assert filed.counted
        assert PHONE[1:] not in filed.report.reporter
        assert filed.report.reporter.startswith("phone:")


@pytest.fixture
def dispatch_settings(tmp_path: Path, config_values: dict[str, Any]) -> Settings:
    config_values["nowater"] = {"threshold": 3, "dispatch_email": "dispatch@water.example"}
    return load_settings(write_config(tmp_path / "nowater.toml", config_values), environ={})


def test_the_threshold_raises_one_alert_and_one_email(
    db: Database, dispatch_settings: Settings, tmp_path: Path
) -> None:
    phones = [f"+861380013800{i}" for i in range(4)]
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区")
        add_area(session, "XH-02", "翠苑二区", lon=121)
        for i, phone in enumerate(phones):
            add_customer(session, f"ACC-{i}", phone, water_area="XH-01")
        add_customer(session, "ACC-X", "+8613900000000", water_area="XH-02")
    outage_id = restored(db, ["XH-01", "XH-02"])
    text(db, dispatch_settings, "没水", sender="+8613900000000")  # the other area: its own count
    for phone in phones[:2]:
        text(db, dispatch_settings, "没水", sender=phone)
    with db.read() as session:
        assert session.exec(select(NoWaterAlert)).all() == []
    text(db, dispatch_settings, "NOWATER", sender=phones[2])
    with db.read() as session:
        alert = session.exec(select(NoWaterAlert)).one()
        assert (alert.outage_id, alert.area_code, alert.reports) == (outage_id, "XH-01", 3)
    assert nowater.send_alerts(db, dispatch_settings, NOW) == 1
    assert nowater.send_alerts(db, dispatch_settings, NOW) == 0  # once
    mails = list((tmp_path / "outbox" / "email").glob("*.eml"))
    assert len(mails) == 1
    mail = mails[0].read_text()
    assert "To: dispatch@water.example" in mail
    assert "3 residents of" in mail
    text(db, dispatch_settings, "NOWATER", sender=phones[3])  # past it: counted, no new alert
    with db.read() as session:
        data = nowater.summary(session, outage_id)
    assert data["reports"] == 5
    assert data["by_area"] == {"XH-01": 4, "XH-02": 1}
    assert [(a["area_code"], a["reports"], a["emailed"]) for a in data["alerts"]] == [
        ("XH-01", 4, True)
    ]
    assert nowater.send_alerts(db, dispatch_settings, NOW) == 0


def test_without_a_dispatch_address_the_alert_waits_in_the_database(
    db: Database, settings: Settings
) -> None:
    assert settings.nowater.dispatch_email == ""
    assert nowater.send_alerts(db, settings, NOW) == 0


def test_outages_show_and_the_outage_report_carry_the_alert(
    db: Database, dispatch_settings: Settings, run_cli: Any
) -> None:
    phones = [f"+861380013800{i}" for i in range(3)]
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区")
        for i, phone in enumerate(phones):
            add_customer(session, f"ACC-{i}", phone, water_area="XH-01")
    outage_id = restored(db, ["XH-01"])
    for phone in phones:
        text(db, dispatch_settings, "没水", sender=phone)
    shown = run_cli("outages", "show", str(outage_id))
    assert shown.exit_code == 0, shown.output
    assert (
        "No water after restoration: 3 report(s) (XH-01 3); ALERT XH-01: 3 reports (not emailed)"
        in shown.output
    )
    data = json.loads(run_cli("outages", "show", str(outage_id), "--json").output)
    assert data["no_water"]["by_area"] == {"XH-01": 3}
    report = json.loads(run_cli("report", "--outage", str(outage_id), "--json").output)
    assert report["no_water"]["reports"] == 3
    assert report["no_water"]["alerts"][0]["area_code"] == "XH-01"
    assert report["no_water"]["alerts"][0]["raised_at"].endswith("+08:00")
    printed = run_cli("report", "--outage", str(outage_id)).output
    assert "ALERT XH-01: 3 reports" in printed


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize(
    "title", ["供水主管更换 Water main replacement " * 3, "Water main replacement " * 5]
)
def test_a_long_title_is_cut_so_the_hotline_stays(language: str, title: str) -> None:
    from channels.sms_segments import count_segments

    outage = Outage(title=title[:120], utility="water")
    reply = nowater.acknowledgement(outage, language, Settings())
    assert reply.endswith("12319。" if language == "zh-CN" else "12319.")
    assert count_segments(reply).segments <= 2
