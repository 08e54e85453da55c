"""End to end: people who signed up on the website get the next notice of their area through
the delivery engine, exactly as customers do; a sign-up never confirmed gets nothing."""

from __future__ import annotations

import re
from datetime import datetime
from email import message_from_bytes, policy
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from outage_notify.db import Database
from outage_notify.planning import outages
from outage_notify.planning.outages import OutageDraft
from outage_notify.residents.inbound import handle_inbound
from outage_notify.settings import Settings
from tests.engine import ScriptedChannel, make_dispatcher
from tests.web.conftest import Clock
from tests.web.factory import City
from tests.web.test_subscribe import field, sign_up

ZONE = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def confirm_by_link(client: TestClient, tmp_path: Path, address: str) -> None:
    for path in (tmp_path / "outbox" / "email").glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == address:
            text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            break
    else:
        raise AssertionError(f"no confirmation email to {address}")
    link = re.search(r"https://outages\.example\.org(/subscribe/confirm/\S+)", text)
    assert link
    page = client.get(link.group(1))
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action
    done = client.post(
        unescape(action.group(1)), data={"csrf_token": field(page.text, "csrf_token")}
    )
    assert done.status_code == 200


def test_confirmed_subscribers_get_the_next_notice_through_the_dispatcher(
    client: TestClient, city: City, db: Database, settings: Settings, tmp_path: Path, clock: Clock
) -> None:
    assert sign_up(client, email="follower@example.net", area=["A1"]).status_code == 200
    confirm_by_link(client, tmp_path, "follower@example.net")
    assert sign_up(client, email="undecided@example.net", area=["A1"]).status_code == 200
    texted = sign_up(
        client, channel="sms", phone="13800138000", area=["A1", "A2"], language="zh-CN"
    )
    assert texted.status_code == 200
    with db.session() as session:  # the resident answers the code's text with YES
        handle_inbound(
            session, settings, sid="SM1", from_address="+8613800138000", body="YES", now=clock.now
        )

    engine_sms, engine_email = ScriptedChannel(), ScriptedChannel()
    dispatcher = make_dispatcher(db, sms=engine_sms, email=engine_email)
    with db.session() as session:
        outages.plan_outage(
            session,
            OutageDraft(
                utility="water",
                title="Valve work",
                start=local("2026-12-05T09:00"),
                end=local("2026-12-05T13:00"),
                areas=["A1"],
            ),
            settings=settings,
            now=clock.now,
            actor="planner",
        )
    dispatcher.run_once(local("2026-12-02T09:05"))  # the 72-hour advance notice falls due

    assert [(m.address, m.recipient_id.split(":")[0]) for m in engine_email.sent] == [
        ("follower@example.net", "subscriber")
    ]
    assert [(m.address, m.language) for m in engine_sms.sent] == [("+8613800138000", "zh-CN")]
