"""Nothing personal in the logs, even when the database fails: a failed statement's message
carries no bound values (no phone number, no email), during a send and during a webhook."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError
from twilio.request_validator import RequestValidator

from outage_notify.db import Database
from outage_notify.logs import JsonFormatter, TextFormatter, private
from outage_notify.models import OptOut
from outage_notify.settings import load_settings
from outage_notify.web.app import create_app
from tests.engine import ScriptedChannel, make_dispatcher
from tests.factories import T0, add_area, add_customers, add_notice, add_outage

PERSONAL = re.compile(r"\+86\d{11}|[\w.]+@example\.org")
TOKEN = "test-auth-token"
PUBLIC = "https://outages.example.org"


@contextmanager
def failing_statements(db: Database) -> Iterator[list[str]]:
    """Every statement that binds a phone number or an email fails in the database."""
    failed: list[str] = []

    def sabotage(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> tuple[str, Any]:
        if PERSONAL.search(str(parameters)):
            failed.append(statement)
            return "FORCED ERROR " + statement, parameters
        return statement, parameters

    event.listen(db.engine, "before_cursor_execute", sabotage, retval=True)
    try:
        yield failed
    finally:
        event.remove(db.engine, "before_cursor_execute", sabotage)


def logged_as_a_server_would(caplog: pytest.LogCaptureFixture, error: BaseException) -> str:
    """The exception as the daemon's "tick failed" or uvicorn's "Exception in ASGI
    application" logs it, in both of our formats, after every record captured so far."""
    logging.getLogger("outage_notify.test").error("failed", exc_info=error)
    json_lines, text = JsonFormatter(), TextFormatter()
    return "\n".join(json_lines.format(r) + "\n" + text.format(r) for r in caplog.records)


def test_a_database_error_during_a_send_logs_no_number_or_email(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with db.session() as session:
        add_area(session, "W1")
        add_customers(session, 3)
        add_notice(session, add_outage(session))
    dispatcher = make_dispatcher(db, sms=ScriptedChannel(), email=ScriptedChannel())
    with failing_statements(db) as failed, pytest.raises(DBAPIError) as caught:
        dispatcher.run_once(T0)
    assert failed  # the send path did bind contacts, and that statement failed
    text = logged_as_a_server_would(caplog, caught.value)
    assert "hidden" in str(caught.value)
    assert not PERSONAL.findall(text)


def test_a_database_error_during_an_inbound_webhook_logs_no_number(
    db: Database,
    caplog: pytest.LogCaptureFixture,
    config_values: dict[str, Any],
    config_file: Callable[[], Path],
) -> None:
    caplog.set_level(logging.DEBUG)
    config_values["sms"]["auth_token"] = TOKEN
    settings = load_settings(config_file(), environ={})
    form = {"Body": "STOP", "From": "+8613800138000", "MessageSid": "SM" + "1" * 32}
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/twilio/inbound", form)
    app = create_app(settings, db, clock=lambda: T0)
    with (
        TestClient(app) as client,
        failing_statements(db) as failed,
        pytest.raises(DBAPIError) as caught,
    ):
        client.post("/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature})
    assert failed
    text = logged_as_a_server_would(caplog, caught.value)
    assert not PERSONAL.findall(text)


def test_a_database_detail_quoting_a_contact_is_left_out(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL's DETAIL quotes the refused key; hide_parameters does not reach it."""
    with db.session() as session:
        session.add(OptOut(channel="sms", address="+8613800138000", source="sms"))
    with pytest.raises(IntegrityError) as caught, db.session() as session:
        session.add(OptOut(channel="sms", address="+8613800138000", source="sms"))
    assert not PERSONAL.findall(logged_as_a_server_would(caplog, caught.value))


def test_private_drops_only_the_detail_line() -> None:
    text = "duplicate key\nDETAIL:  Key (address)=(+8613800138000) already exists.\n[SQL: x]"
    assert private(text).splitlines()[0::2] == ["duplicate key", "[SQL: x]"]
    assert "+86" not in private(text)
