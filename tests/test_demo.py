"""``outage-notify demo``: the main job end to end on the bundled city, as `make demo` runs it."""

from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import func, select

from outage_notify.cli import cli
from outage_notify.cli.demo import served_app
from outage_notify.db import Database
from outage_notify.demo import DemoResult, demo_settings
from outage_notify.demo.city import read_rows
from outage_notify.models import Customer, Delivery, OptOut, ServiceArea

pytestmark = pytest.mark.slow
KINDS = {"advance", "reminder", "changed", "extended", "cancelled", "restored"}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One run of `outage-notify demo` for the module (it takes seconds): (DIR, output)."""
    directory = tmp_path_factory.mktemp("demo") / "demo-run"
    result = CliRunner().invoke(
        cli,
        ["demo", "--dir", str(directory)],
        catch_exceptions=False,
        env={"COLUMNS": "200"},  # no line of the story wrapped
    )
    assert result.exit_code == 0, result.output
    return directory, result.stdout


def test_demo_runs_the_whole_flow_and_fills_the_outbox(demo_run: tuple[Path, str]) -> None:
    directory, output = demo_run
    for kind in KINDS:
        assert re.search(rf"│ {kind} +│ sms +│ zh-CN", output), f"no {kind} SMS in zh-CN"
        assert re.search(rf"│ {kind} +│ email +│ en", output), f"no {kind} email in en"
    for change in (
        "rescheduled WO-2026-0416",
        "cancelled WO-2026-0417",
        "extended WO-2026-0415",
        "restored service for WO-2026-0415",
    ):
        assert change in output
    assert "opted_out" in output  # the demo's opted-out residents are skipped, and said so
    # Landlines get calls; the critical-needs ladder climbs: replies, calls, door knocks.
    assert re.search(r"│ advance +│ voice +│ zh-CN", output)
    assert "critical-needs customer(s) replied 1: acknowledged" in output
    assert "not acknowledged in time, called" in output
    assert "door-knock list, emailed to crews@example.org" in output
    for step in ("notified", "acknowledged", "call", "door_knock", "dispatch_email"):
        assert re.search(rf"│ {step} +│ +\d+ │", output), f"no ladder step {step}"
    assert "Demo city Lanxi Bay: 18 service areas, 3,000 customers" in output
    database = Database(f"sqlite:///{directory / 'outage-notify.db'}")
    with database.read() as session:
        assert session.exec(select(func.count()).select_from(ServiceArea)).one() == 18
        assert session.exec(select(func.count()).select_from(Customer)).one() == 3000
        assert session.exec(select(func.count()).select_from(OptOut)).one() > 0
    database.dispose()

    sms = [
        json.loads(line) for line in (directory / "outbox" / "sms.jsonl").read_text().splitlines()
    ]
    everything = sorted((directory / "outbox" / "email").glob("*.eml"))
    # Delivery id 0: the door-knock lists emailed to the crews, not notices to residents.
    crews = [p for p in everything if p.name.startswith("0-")]
    emails = [p for p in everything if not p.name.startswith("0-")]
    calls = [
        json.loads(line)
        for line in (directory / "outbox" / "voice" / "calls.jsonl").read_text().splitlines()
    ]
    total = int(re.search(r"│ all +│ +│ +│ +([\d,]+) │", output).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert len(sms) + len(emails) + len(calls) == total
    # Landlines are called instead of texted, and get no SMS.
    landlines = {m["to"] for m in calls if m["to"].startswith("+865718")}
    assert landlines
    assert not landlines & {m["to"] for m in sms}
    assert crews
    for path in crews:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert str(message["To"]) == "crews@example.org"
    assert all("12319" in m["body"] for m in sms)  # every notice names the hotline
    assert {m["language"] for m in sms} == {"zh-CN", "en"}

    # Nobody who opted out got anything on that channel.
    opted = _opted_out_addresses()
    assert not opted["sms"] & {m["to"] for m in sms}
    sample = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in emails[:50]
    ]
    assert not opted["email"] & {str(m["To"]) for m in sample}
    for message in sample:
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message.get_body(("plain",)) is not None
        assert any(
            part.get_content_type() == "text/calendar" for part in message.iter_attachments()
        )

    public = directory / "public"
    feed = feedparser.parse((public / "feeds" / "outages.rss").read_bytes())
    assert feed.bozo == 0
    assert len(feed.entries) == 5
    titles = " ".join(e.title for e in feed.entries)
    # The export is in the default language (zh-CN): the state words are localised.
    assert "已取消" in titles
    assert "已恢复" in titles
    assert (public / "banner.js").is_file()


def _opted_out_addresses() -> dict[str, set[str]]:
    people = {row["account_id"]: row for row in read_rows("customers.csv")}
    rows = read_rows("opt_outs.csv")
    out: dict[str, set[str]] = {"sms": set(), "email": set()}
    for row in rows:
        person = people[row["account_id"]]
        address = person["phone"] if row["channel"] == "sms" else person["email"]
        if address:
            out[row["channel"]].add(address)
    return out


def test_demo_serves_the_state_at_its_simulated_end(demo_run: tuple[Path, str]) -> None:
    """`demo --serve` stops the app's clock where the story ended: the work the story saw
    done is over, the gas work it moved a day later is the one still ahead."""
    directory, output = demo_run
    settings = demo_settings(directory)
    database = Database(settings.database_url)
    with database.read() as session:
        end = session.exec(select(func.max(Delivery.sent_at))).one()  # the last due time
    database.dispose()
    assert end is not None
    shown = f"{end.astimezone(settings.zone):%a %d %b %H:%M}"
    assert f"up to {shown}." in output
    client = TestClient(served_app(DemoResult(directory, settings, simulated_until=end)))

    home = client.get("/?lang=en")
    assert home.status_code == 200
    upcoming, _, ended = home.text.partition("Ended or cancelled")
    assert "燃气调压阀更换" in upcoming  # WO-2026-0416, rescheduled: still ahead
    for title in ("西南区新建燃气管道碰口", "更换海湾大道DN300供水主管", "Hydrant flushing"):
        assert title in ended, title  # done, restored, cancelled
        assert title not in upcoming, title
    banner = client.get("/banner.json", params={"area": "G02"}).json()
    assert [(o["title"], o["state"]) for o in banner["outages"]] == [("燃气调压阀更换", "CHANGED")]
    feed = feedparser.parse(client.get("/feeds/outages.rss").content)
    titles = " ".join(e.title for e in feed.entries)
    assert "已取消" in titles
    assert "已恢复" in titles
    # The exported files are as of the same moment.
    exported = json.loads((directory / "public" / "banner.json").read_text(encoding="utf-8"))
    assert exported == client.get("/banner.json").json()
