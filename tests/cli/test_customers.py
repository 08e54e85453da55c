"""customers list, show, opt-out and opt-in through the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.models import AuditEvent, Customer, OptOut


@pytest.fixture
def people(db: Database) -> Database:
    with db.session() as session:
        session.add_all(
            [
                Customer(
                    account_id="A1",
                    name="李伟",
                    phone="+8613800138000",
                    language="zh-CN",
                    water_area="W01",
                    critical=True,
                ),
                Customer(
                    account_id="A2",
                    name="Ann",
                    phone="+8613900139000",
                    email="ann@example.org",
                    language="en",
                    water_area="W02",
                ),
                Customer(
                    account_id="A3",
                    name="王芳",
                    email="wf@example.org",
                    language="zh-CN",
                    gas_area="W01",
                ),
            ]
        )
    return db


def opt_outs(db: Database) -> set[tuple[str, str, str]]:
    with db.read() as session:
        return {(o.channel, o.address, o.source) for o in session.exec(select(OptOut)).all()}


def run_json(run_cli, *args: str) -> Any:  # type: ignore[no-untyped-def]
    result = run_cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_filters_and_pages(run_cli, people: Database) -> None:
    data = run_json(run_cli, "customers", "list")
    assert data["total"] == 3
    assert [c["account_id"] for c in data["customers"]] == ["A1", "A2", "A3"]
    assert [
        c["account_id"]
        for c in run_json(run_cli, "customers", "list", "--area", "W01")["customers"]
    ] == ["A1", "A3"]
    critical = run_json(run_cli, "customers", "list", "--critical")
    assert [c["account_id"] for c in critical["customers"]] == ["A1"]
    page = run_json(run_cli, "customers", "list", "--limit", "1", "--offset", "1")
    assert [c["account_id"] for c in page["customers"]] == ["A2"]
    assert "(2-2 of 3)" in run_cli("customers", "list", "--limit", "1", "--offset", "1").output


def test_show_names_the_opted_out_channels(run_cli, people: Database) -> None:
    assert run_cli("customers", "opt-out", "A2", "--channel", "sms").exit_code == 0
    data = run_json(run_cli, "customers", "show", "A2")
    assert data["phone"] == "+8613900139000"
    assert data["opted_out"] == ["sms"]
    assert "opted_out      sms" in run_cli("customers", "show", "A2").output


def test_show_unknown_account(run_cli, people: Database) -> None:
    result = run_cli("customers", "show", "Z9")
    assert result.exit_code == 1
    assert "no customer with account_id 'Z9'" in result.output


def test_opt_out_by_account_covers_each_contact_and_is_audited(run_cli, people: Database) -> None:
    result = run_cli("customers", "opt-out", "A2", "--actor", "pat", "--reason", "asked by phone")
    assert result.exit_code == 0, result.output
    assert "account A2: opted out of sms" in result.output
    assert "account A2: opted out of email" in result.output
    assert opt_outs(people) == {
        ("sms", "+8613900139000", "planner"),
        ("email", "ann@example.org", "planner"),
    }
    with people.read() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "opt_out")).all()
        assert {e.actor for e in events} == {"pat"}
        assert len(events) == 2

    again = run_cli("customers", "opt-out", "A2", "--channel", "sms")
    assert "already so, nothing changed" in again.output

    back = run_cli("customers", "opt-in", "+86 139 0013 9000")
    assert back.exit_code == 0
    assert "+8613900139000: opted back into sms" in back.output
    assert opt_outs(people) == {("email", "ann@example.org", "planner")}


def test_opt_out_by_email_or_phone_without_an_account(run_cli, people: Database) -> None:
    assert run_cli("customers", "opt-out", "Someone@Example.org").exit_code == 0
    assert run_cli("customers", "opt-out", "13700137000", "--channel", "sms").exit_code == 0
    assert opt_outs(people) == {
        ("email", "someone@example.org", "planner"),
        ("sms", "+8613700137000", "planner"),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("A3", "--channel", "sms"), "account A3 has no phone"),
        (("ann@example.org", "--channel", "sms"), "an email address can only opt out of email"),
        (("13800138000", "--channel", "email"), "a phone number can only opt out of sms"),
        (
            ("nobody",),
            "'nobody' is no customer's account_id, and as a phone number it is not a phone",
        ),
        (("bad@",), "as an email address it is not a valid email address"),
    ],
)
def test_opt_out_errors_exit_1_and_change_nothing(
    run_cli, people: Database, args: tuple[str, ...], message: str
) -> None:
    result = run_cli("customers", "opt-out", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert opt_outs(people) == set()


@pytest.mark.parametrize("terminal", [True, False])
def test_import_shows_a_progress_bar_only_on_a_terminal(
    run_cli, db: Database, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    monkeypatch.setattr("outage_notify.cli.progress.stderr_is_terminal", lambda: terminal)
    path = tmp_path / "c.csv"
    path.write_text("account_id,phone\n" + "".join(f"A{i},138{i:08d}\n" for i in range(50)))
    result = run_cli("customers", "import", str(path))
    assert result.exit_code == 0
    assert "50 inserted" in result.stdout
    assert ("Checking rows" in result.stderr and "Writing" in result.stderr) is terminal
