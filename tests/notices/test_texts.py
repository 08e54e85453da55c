"""What a notice states a change against: what residents were last told."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from outage_notify.db import Database
from outage_notify.models import Notice, NoticeState
from outage_notify.notices.sms import sms_text
from outage_notify.notices.texts import build_context
from outage_notify.planning import outages
from outage_notify.settings import Settings
from tests.builders import make_city

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tue 1 Dec 09:00 local


def local(text: str) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def _told(db: Database, outage_id: int, revision: int) -> None:
    """Revision ``revision``'s notices went out (as the dispatcher marks them)."""
    with db.session() as session:
        session.execute(
            update(Notice)
            .where(col(Notice.outage_id) == outage_id, col(Notice.revision) == revision)
            .values(state=NoticeState.EXPANDED)
        )


def _follow_up(db: Database, settings: Settings, outage_id: int, language: str) -> tuple[str, str]:
    """(kind, SMS text) of the newest revision's follow-up notice."""
    with db.session() as session:
        outage = outages.get_outage(session, outage_id)
        notice = session.exec(
            select(Notice).where(
                Notice.outage_id == outage_id,
                Notice.revision == outage.revision,
                col(Notice.kind).in_(["changed", "extended"]),
            )
        ).one()
        ctx = build_context(session, outage, kind=notice.kind, language=language, settings=settings)
        return ctx.kind, sms_text(ctx)


@pytest.fixture
def planned(db: Database, settings: Settings) -> int:
    """Planned for Thu 10 Dec 08:00-12:00; its advance notice went out."""
    make_city(db)
    draft = outages.OutageDraft(
        utility="water",
        title="Main",
        start=local("2026-12-10T08:00"),
        end=local("2026-12-10T12:00"),
        areas=["W01"],
    )
    with db.session() as session:
        outage = outages.plan_outage(session, draft, settings=settings, now=NOW, actor="t")
        assert outage.id is not None
        outage_id = outage.id
    _told(db, outage_id, 1)
    return outage_id


def _reschedule_then_extend(db: Database, settings: Settings, outage_id: int) -> None:
    with db.session() as session:
        outages.reschedule(
            session,
            outage_id,
            start=local("2026-12-11T08:00"),
            end=local("2026-12-11T12:00"),
            settings=settings,
            now=NOW,
            actor="t",
        )
    with db.session() as session:
        outages.extend(
            session, outage_id, end=local("2026-12-11T15:00"), settings=settings, now=NOW, actor="t"
        )


@pytest.mark.parametrize(
    ("language", "was"),
    [
        ("en", "is now Fri 11 Dec 08:00-15:00, was Thu 10 Dec 08:00-12:00"),
        ("zh-CN", "改为12月11日(周五)08:00-15:00，原12月10日08:00-12:00"),
    ],
)
def test_a_merged_notice_states_the_change_against_what_was_last_told(
    db: Database, settings: Settings, planned: int, language: str, was: str
) -> None:
    # Rescheduled to Friday, then extended before the change went out: residents know only
    # Thursday, so the one notice they get says Friday 08:00-15:00, was Thursday.
    _reschedule_then_extend(db, settings, planned)
    kind, text = _follow_up(db, settings, planned, language)
    assert kind == "changed"
    assert was in text


@pytest.mark.parametrize(
    ("language", "was"),
    [
        ("en", "is extended, now Fri 11 Dec 08:00-15:00, was until Fri 11 Dec 12:00"),
        ("zh-CN", "延长为12月11日(周五)08:00-15:00，原定12月11日12:00恢复"),
    ],
)
def test_an_extension_after_a_change_that_went_out_is_an_extension(
    db: Database, settings: Settings, planned: int, language: str, was: str
) -> None:
    with db.session() as session:
        outages.reschedule(
            session,
            planned,
            start=local("2026-12-11T08:00"),
            end=local("2026-12-11T12:00"),
            settings=settings,
            now=NOW,
            actor="t",
        )
    _told(db, planned, 2)
    with db.session() as session:
        outages.extend(
            session, planned, end=local("2026-12-11T15:00"), settings=settings, now=NOW, actor="t"
        )
    kind, text = _follow_up(db, settings, planned, language)
    assert kind == "extended"
    assert was in text


@pytest.mark.parametrize(
    ("language", "opening"),
    [("zh-CN", "【海港水务】"), ("en", "Harbour City Water: ")],
)
def test_notices_carry_the_configured_name_and_signature(
    db: Database, settings: Settings, planned: int, language: str, opening: str
) -> None:
    named = settings.model_copy(
        update={
            "utility": settings.utility.model_copy(
                update={
                    "water_name": "海港水务",
                    "water_name_en": "Harbour City Water",
                    "water_sms_signature": "【海港水务】",
                }
            )
        }
    )
    with db.session() as session:
        outage = outages.get_outage(session, planned)
        ctx = build_context(session, outage, kind="advance", language=language, settings=named)
    assert sms_text(ctx).startswith(opening)
    assert "城市供水" not in sms_text(ctx)


def test_a_signature_must_be_in_brackets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from outage_notify.errors import SettingsError
    from outage_notify.settings import load_settings

    with pytest.raises(SettingsError, match=r"utility\.water_sms_signature"):
        load_settings(None, environ={"OUTAGE_NOTIFY_UTILITY__WATER_SMS_SIGNATURE": "City Water"})
