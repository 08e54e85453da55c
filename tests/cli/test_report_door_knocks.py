"""``report --outage ID``: the critical-needs ladder and the door-knock list, shown, exported."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from click.testing import Result

from outage_notify.db import Database
from outage_notify.delivery.escalation import Ladder
from outage_notify.settings import CriticalSettings
from tests.engine import ScriptedChannel, make_dispatcher
from tests.factories import T0, add_area, add_customer, add_notice, add_outage

Run = Callable[..., Result]
RULES = CriticalSettings(ack_wait="4h", call_wait="2h", door_knock_time="6h")  # type: ignore[arg-type]
AT = "2026-12-01T14:30"  # T0 + 6.5 h, local time


def _listed(db: Database) -> int:
    with db.session() as session:
        add_area(session, "W1")
        add_customer(
            session,
            "C1",
            name="王芳",
            address="人民路 1 号",
            water_area="W1",
            critical=True,
            email="c1@example.org",
        )
        outage = add_outage(session, start=T0 + timedelta(days=1))
        add_notice(session, outage, due=T0)
        outage_id = outage.id
    make_dispatcher(db, email=ScriptedChannel()).run_once(T0)
    ladder = Ladder(db, RULES, call_channel="voice", call_enabled=False)
    for hours in (1, 4):
        ladder.run(T0 + timedelta(hours=hours))
    assert outage_id is not None
    return outage_id


def test_the_report_lists_door_knocks_with_the_time_left(db: Database, run_cli: Run) -> None:
    outage_id = _listed(db)
    result = run_cli("report", "--outage", str(outage_id), "--now", AT)
    assert result.exit_code == 0, result.output
    assert "Door-knock list: 1 critical-needs premises to visit." in result.stdout
    assert "17h 30m" in result.stdout  # T0 + 24 h - (T0 + 6.5 h)
    data = json.loads(run_cli("report", "--outage", str(outage_id), "--json", "--now", AT).stdout)
    [knock] = data["critical"]["door_knocks"]
    assert (knock["account_id"], knock["time_left"]) == ("C1", "17h 30m")
    assert "not called: voice calls are disabled" in knock["history"]
    assert data["critical"]["stages"] == {"door_knock": 1}


def test_the_door_knock_list_is_exported_for_excel(
    db: Database, run_cli: Run, tmp_path: Path
) -> None:
    outage_id = _listed(db)
    target = tmp_path / "knocks.csv"
    result = run_cli(
        "report", "--outage", str(outage_id), "--now", AT, "--door-knocks", str(target)
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 1 door knocks" in result.stderr
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["account_id", "name", "address", "phone"]
    assert rows[1][:3] == ["C1", "王芳", "人民路 1 号"]


def test_door_knocks_go_with_outage(run_cli: Run) -> None:
    result = run_cli("report", "--year", "2026", "--door-knocks", "x.csv")
    assert result.exit_code == 2
