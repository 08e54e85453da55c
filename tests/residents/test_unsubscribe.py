"""Unsubscribe tokens (signed, no database to verify) and the opt-out they lead to."""

from __future__ import annotations

from pathlib import Path

import pytest
from itsdangerous import URLSafeSerializer
from pydantic import SecretStr
from sqlmodel import select

from outage_notify.db import Database
from outage_notify.errors import InputError, SettingsError
from outage_notify.models import AuditEvent, OptOut, Subscriber
from outage_notify.notices.unsubscribe_links import SALT, UnsubscribeToken, make_token, read_token
from outage_notify.residents.unsubscribe import unsubscribe
from outage_notify.settings import Settings, load_settings
from tests.conftest import base_config, write_config

ADDRESS = "resident@example.net"


@pytest.fixture
def sqlite_settings(tmp_path: Path, sqlite_url: str) -> Settings:
    """Settings for the tests that need no database (the token tests run once, not per backend)."""
    return load_settings(write_config(tmp_path / "c.toml", base_config(tmp_path, sqlite_url)), {})


def with_key(settings: Settings, key: str) -> Settings:
    web = settings.web.model_copy(update={"secret_key": SecretStr(key)})
    return settings.model_copy(update={"web": web})


def test_a_token_names_the_channel_and_address(sqlite_settings: Settings) -> None:
    token = make_token(sqlite_settings, channel="email", address=ADDRESS)
    assert read_token(sqlite_settings, token) == UnsubscribeToken("email", ADDRESS)


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


BAD_TOKENS = {
    "empty": lambda good: "",
    "garbage": lambda good: "not-a-token",
    "payload altered": lambda good: _flip(good, 3),
    "signature altered": lambda good: _flip(good, len(good) - 2),
    "signature cut": lambda good: good.rsplit(".", 1)[0],
    "another key": lambda good: URLSafeSerializer("other-key", salt=SALT).dumps(["email", ADDRESS]),
    "another purpose": lambda good: URLSafeSerializer("test-secret-key", salt="confirm").dumps(
        ["email", ADDRESS]
    ),
    "signed nonsense": lambda good: URLSafeSerializer("test-secret-key", salt=SALT).dumps(
        {"address": ADDRESS}
    ),
    "unknown channel": lambda good: URLSafeSerializer("test-secret-key", salt=SALT).dumps(
        ["fax", ADDRESS]
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_TOKENS))
def test_a_bad_token_is_refused(sqlite_settings: Settings, name: str) -> None:
    good = make_token(sqlite_settings, channel="email", address=ADDRESS)
    with pytest.raises(InputError, match="not valid"):
        read_token(sqlite_settings, BAD_TOKENS[name](good))


def test_signing_without_a_secret_key_fails_loudly(sqlite_settings: Settings) -> None:
    keyless = with_key(sqlite_settings, "")
    with pytest.raises(SettingsError, match=r"web\.secret_key"):
        make_token(keyless, channel="email", address=ADDRESS)
    with pytest.raises(SettingsError, match=r"web\.secret_key"):
        read_token(keyless, make_token(sqlite_settings, channel="email", address=ADDRESS))


def subscribe(database: Database, address: str, area: str, channel: str = "email") -> None:
    with database.session() as session:
        session.add(
            Subscriber(
                channel=channel,
                address=address,
                area_code=area,
                language="en",
                status="active",
                consent_source="web",
            )
        )


def test_unsubscribe_opts_out_and_ends_the_subscriptions(db: Database) -> None:
    subscribe(db, ADDRESS, "R1")
    subscribe(db, ADDRESS, "R2")
    subscribe(db, "neighbour@example.net", "R1")
    subscribe(db, ADDRESS, "R1", channel="sms")  # another channel: not this token's business
    with db.session() as session:
        result = unsubscribe(
            session,
            UnsubscribeToken("email", ADDRESS),
            actor="unsubscribe-link",
            reason="one-click",
        )
    assert result.opted_out
    assert result.subscriptions_ended == 2
    with db.read() as session:
        [opt_out] = session.exec(select(OptOut)).all()
        assert (opt_out.channel, opt_out.address, opt_out.source, opt_out.reason) == (
            "email",
            ADDRESS,
            "email",
            "one-click",
        )
        statuses = {
            (s.channel, s.address, s.area_code): s.status for s in session.exec(select(Subscriber))
        }
        actions = sorted(e.action for e in session.exec(select(AuditEvent)))
    assert statuses == {
        ("email", ADDRESS, "R1"): "unsubscribed",
        ("email", ADDRESS, "R2"): "unsubscribed",
        ("email", "neighbour@example.net", "R1"): "active",
        ("sms", ADDRESS, "R1"): "active",
    }
    assert actions == ["opt_out", "subscriber.unsubscribe", "subscriber.unsubscribe"]


def test_unsubscribe_twice_changes_nothing_the_second_time(db: Database) -> None:
    subscribe(db, ADDRESS, "R1")
    token = UnsubscribeToken("email", ADDRESS)
    with db.session() as session:
        unsubscribe(session, token, actor="unsubscribe-link")
    with db.session() as session:
        again = unsubscribe(session, token, actor="unsubscribe-link")
    assert not again.opted_out
    assert again.subscriptions_ended == 0
    with db.read() as session:
        assert len(session.exec(select(OptOut)).all()) == 1
        assert len(session.exec(select(AuditEvent)).all()) == 2
