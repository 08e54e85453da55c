from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from channels.sms_segments import count_segments
from outage_notify.db import Database
from outage_notify.models import AuditEvent, InboundMessage, OptOut, ServiceArea, Subscriber
from outage_notify.residents import optouts
from outage_notify.residents.inbound import InboundResult, Keyword, handle_inbound, parse
from outage_notify.settings import Settings
from tests.sms_records import (
    NOW,
    add_area,
    add_customer,
    add_outage,
    add_subscriber,
)

PHONE = "+8613800138000"
STRANGER = "+8613900139000"

STOP_WORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"]
STOP_WORDS_ZH = ["退订", "TD", "T"]


def variants(word: str) -> list[str]:
    """As written, lower case, full width, padded, with a full stop."""
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
    return [
        word,
        word.lower(),
        full_width,
        f"  {word}\n",
        f"{word.lower()}.",
        f"{word}！",
        f"{word}？",
    ]


@pytest.mark.parametrize(
    ("word", "keyword"),
    [
        *((w, Keyword.STOP) for w in STOP_WORDS + STOP_WORDS_ZH),
        *((w, Keyword.START) for w in ["START", "UNSTOP", "YES"]),
        *((w, Keyword.HELP) for w in ["HELP", "INFO", "帮助"]),
        *((w, Keyword.STATUS) for w in ["STATUS", "状态"]),
    ],
)
def test_every_keyword_is_recognised_in_every_variant(word: str, keyword: Keyword) -> None:
    for text in variants(word):
        assert parse(text).keyword == keyword, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SUB A12", "A12"),
        ("sub a12", "A12"),
        ("ＳＵＢ　Ａ１２", "A12"),  # full width, ideographic space
        ("订阅 A12", "A12"),
        ("订阅A12", "A12"),
        ("订阅　Ａ１２", "A12"),
        ("SUB", ""),
    ],
)
def test_sub_takes_an_area_code(text: str, code: str) -> None:
    parsed = parse(text)
    assert (parsed.keyword, parsed.argument) == (Keyword.SUB, code)


@pytest.mark.parametrize(
    "text", ["", "please stop", "stop it", "STOPP", "hello", "TDX", "SUBA12", "状态查询", "T D"]
)
def test_other_messages_are_no_keyword(text: str) -> None:
    assert parse(text).keyword is None


def text_of(result: InboundResult) -> str:
    assert result.reply is not None
    return result.reply


def handle(db: Database, settings: Settings, body: str, sender: str = PHONE, sid: str = ""):  # type: ignore[no-untyped-def]
    with db.session() as session:
        return handle_inbound(
            session, settings, sid=sid or None, from_address=sender, body=body, now=NOW
        )


@pytest.mark.parametrize("word", STOP_WORDS + STOP_WORDS_ZH)
def test_stop_records_an_opt_out_and_confirms(db: Database, settings: Settings, word: str) -> None:
    result = handle(db, settings, word.lower())
    with db.read() as session:
        row = session.exec(select(OptOut)).one()
        assert (row.channel, row.address, row.source) == ("sms", PHONE, "sms")
        assert session.exec(select(InboundMessage.keyword)).one() == "stop"
    expected_language = "zh-CN" if word in STOP_WORDS_ZH else settings.default_language
    assert result.language == expected_language
    assert "START" in text_of(result)
    assert "12319" in text_of(result)


def test_stop_twice_keeps_one_opt_out(db: Database, settings: Settings) -> None:
    handle(db, settings, "STOP", sid="SM1")
    handle(db, settings, "退订", sid="SM2")
    with db.read() as session:
        assert len(session.exec(select(OptOut)).all()) == 1
        assert len(session.exec(select(InboundMessage)).all()) == 2


@pytest.mark.parametrize("word", ["START", "unstop", "Ｙｅｓ"])
def test_start_opts_in_again(db: Database, settings: Settings, word: str) -> None:
    handle(db, settings, "STOP")
    result = handle(db, settings, word)
    with db.read() as session:
        assert not optouts.is_opted_out(session, "sms", PHONE)
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert actions == ["opt_out", "opt_in"]
    assert result.keyword == Keyword.START
    assert "回复TD退订" in text_of(result)  # default_language zh-CN


@pytest.mark.parametrize(
    ("word", "language", "expected"),
    [
        ("HELP", "zh-CN", "城市供水"),  # default_language
        ("info", "zh-CN", "客服热线12319"),
        ("帮助", "zh-CN", "回复TD退订"),
    ],
)
def test_help_names_the_utility_the_hotline_and_how_to_stop(
    db: Database, settings: Settings, word: str, language: str, expected: str
) -> None:
    result = handle(db, settings, word)
    assert result.language == language
    assert expected in text_of(result)


def test_help_in_english_for_an_english_speaking_customer(db: Database, settings: Settings) -> None:
    with db.session() as session:
        add_customer(session, "ACC-1", PHONE, language="en")
    result = handle(db, settings, "帮助")  # their record wins over the keyword's language
    assert result.language == "en"
    assert result.reply == (
        "City Water and City Gas: shutoff notices by SMS. Reply STATUS for planned work in "
        "your area, SUB <area code> to follow an area, STOP to opt out. Hotline 12319."
    )


def test_english_default_language_answers_english_keywords_in_english(
    db: Database,
    config_values: dict,
    config_file,  # type: ignore[no-untyped-def]
) -> None:
    from outage_notify.settings import load_settings

    config_values["default_language"] = "en"
    english = load_settings(config_file(), environ={})
    assert handle(db, english, "HELP").language == "en"
    assert handle(db, english, "帮助", sid="SM2").language == "zh-CN"


def test_status_lists_a_customers_outages(db: Database, settings: Settings) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区", "Cuiyuan 1")
        add_area(session, "G-07", "西湖燃气七区", utility="gas", lon=121)
        add_area(session, "XH-02", "翠苑二区")
        add_customer(session, "ACC-1", PHONE, water_area="XH-01", gas_area="G-07")
        add_outage(session, ["XH-01", "XH-02"])  # tomorrow 10:00-14:00 local
        add_outage(session, ["G-07"], utility="gas", start=NOW - timedelta(hours=1))  # ongoing
        add_outage(session, ["XH-02"], start=NOW + timedelta(days=2))  # not their area
        add_outage(session, ["XH-01"], start=NOW - timedelta(days=2))  # over
        add_outage(session, ["XH-01"], status="cancelled")
    result = handle(db, settings, "状态")
    assert result.reply == (
        "【城市供水】您所在区域的停水停气安排：\n"
        "停气中，预计11月30日(周一) 13:00恢复 西湖燃气七区\n"
        "停水 12月1日(周二) 10:00-14:00 翠苑一区\n"
        "客服热线12319"
    )


def test_status_for_a_customer_without_outages(db: Database, settings: Settings) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区")
        add_customer(session, "ACC-1", PHONE, water_area="XH-01", language="en")
        add_outage(session, ["XH-09"])
    result = handle(db, settings, "status")
    assert result.reply == (
        "City Water and City Gas: no planned water or gas shutoffs in your area. Hotline 12319."
    )


def test_status_finds_a_customer_by_location_too(db: Database, settings: Settings) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区", "Cuiyuan 1", lon=120.0, lat=30.0)
        add_customer(session, "ACC-1", PHONE, language="en", latitude=30.005, longitude=120.005)
        add_outage(session, ["XH-01"])
    result = handle(db, settings, "STATUS")
    assert "Water off Tue 1 Dec 10:00-14:00, Cuiyuan 1" in text_of(result)


def test_status_for_a_subscriber(db: Database, settings: Settings) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区", "Cuiyuan 1")
        add_area(session, "XH-02", "翠苑二区", "Cuiyuan 2")
        add_subscriber(session, STRANGER, "XH-02", language="en")
        add_subscriber(session, STRANGER, "XH-01", language="en", status="unsubscribed")
        add_outage(session, ["XH-01"])
        add_outage(session, ["XH-02"], start=NOW + timedelta(days=3), hours=30)
    result = handle(db, settings, "STATUS", sender=STRANGER)
    assert result.reply == (
        "City Water and City Gas: planned shutoffs for your area:\n"
        "Water off Thu 3 Dec 10:00 - Fri 4 Dec 16:00, Cuiyuan 2\n"
        "Hotline 12319"
    )


def test_status_from_an_unknown_number_explains_sub(db: Database, settings: Settings) -> None:
    result = handle(db, settings, "状态", sender=STRANGER)
    assert "订阅 区域代码" in text_of(result)


@pytest.mark.parametrize("count", [1, 3, 6, 12])
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_status_never_exceeds_two_segments(
    db: Database, settings: Settings, count: int, language: str
) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区翠苑一区", "Cuiyuan Residential District One")
        add_customer(session, "ACC-1", PHONE, water_area="XH-01", language=language)
        for n in range(count):
            add_outage(session, ["XH-01"], start=NOW + timedelta(days=n + 1))
    reply = handle(db, settings, "STATUS").reply
    assert reply is not None
    assert count_segments(reply).segments <= 2
    assert "12319" in reply
    if count > 3:
        assert "https://outages.example.org" in reply  # the rest is on the website


def test_sub_creates_an_active_subscriber_and_confirms(db: Database, settings: Settings) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区", "Cuiyuan 1")
    result = handle(db, settings, "订阅 xh-01", sender=STRANGER)
    with db.session() as session:
        subscriber = session.exec(select(Subscriber)).one()
        audit_actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert (subscriber.channel, subscriber.address, subscriber.area_code) == (
        "sms",
        STRANGER,
        "XH-01",
    )
    assert (subscriber.status, subscriber.consent_source, subscriber.language) == (
        "active",
        "sms",
        "zh-CN",
    )
    assert subscriber.consent_at == NOW
    assert audit_actions == ["subscriber.subscribe"]
    assert result.reply == "【城市供水】您已订阅翠苑一区（XH-01）的停水停气通知。回复TD退订。"


def test_sub_again_reactivates_and_never_duplicates(db: Database, settings: Settings) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区", "Cuiyuan 1")
        add_subscriber(session, STRANGER, "XH-01", status="unsubscribed")
    handle(db, settings, "SUB XH-01", sender=STRANGER, sid="SM1")
    handle(db, settings, "SUB XH-01", sender=STRANGER, sid="SM2")
    with db.read() as session:
        assert session.exec(select(Subscriber.status)).all() == ["active"]
        assert len(session.exec(select(AuditEvent)).all()) == 1


def test_sub_with_an_unknown_area_says_so(db: Database, settings: Settings) -> None:
    result = handle(db, settings, "SUB NOPE-9", sender=STRANGER)
    with db.read() as session:
        assert session.exec(select(Subscriber)).all() == []
    assert "NOPE-9" in text_of(result)


def test_sub_without_a_code_explains_how_with_a_real_code(db: Database, settings: Settings) -> None:
    with db.session() as session:
        add_area(session, "W02", "二区")
        add_area(session, "W01", "一区")
    result = handle(db, settings, "订阅", sender=STRANGER)
    assert "订阅 区域代码" in text_of(result)
    assert "例如：订阅 W01。" in text_of(result)


def test_sub_from_an_opted_out_number_says_start_is_needed(
    db: Database, settings: Settings
) -> None:
    with db.session() as session:
        add_area(session, "XH-01", "翠苑一区", "Cuiyuan 1")
    handle(db, settings, "STOP", sender=STRANGER, sid="SM1")
    result = handle(db, settings, "SUB XH-01", sender=STRANGER, sid="SM2")
    assert "START" in text_of(result)
    with db.read() as session:
        assert optouts.is_opted_out(session, "sms", STRANGER)  # SUB is no opt-in


def test_anything_else_is_stored_changes_nothing_and_gets_help_once_a_day(
    db: Database, settings: Settings
) -> None:
    first = handle(db, settings, "When will the water come back?", sid="SM1")
    second = handle(db, settings, "Hello?", sid="SM2")
    with db.read() as session:
        stored = session.exec(
            select(InboundMessage.body, InboundMessage.keyword).order_by(col(InboundMessage.id))
        ).all()
        assert session.exec(select(OptOut)).all() == []
        assert session.exec(select(AuditEvent)).all() == []
    assert [tuple(row) for row in stored] == [
        ("When will the water come back?", None),
        ("Hello?", None),
    ]
    assert "12319" in text_of(first)
    assert second.reply is None


def test_a_repeated_webhook_is_stored_once(db: Database, settings: Settings) -> None:
    first = handle(db, settings, "STOP", sid="SMrepeat")
    again = handle(db, settings, "STOP", sid="SMrepeat")
    with db.read() as session:
        assert len(session.exec(select(InboundMessage)).all()) == 1
        assert len(session.exec(select(OptOut)).all()) == 1
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.reply == first.reply


def test_every_inbound_message_is_stored_with_its_keyword(db: Database, settings: Settings) -> None:
    for n, body in enumerate(["HELP", "状态", "SUB X", "START", "TD", "hi"]):
        handle(db, settings, body, sid=f"SM{n}")
    with db.read() as session:
        keywords = list(session.exec(select(InboundMessage.keyword)).all())
    assert sorted(keywords, key=str) == sorted(
        ["help", "status", "sub", "start", "stop", None], key=str
    )


@pytest.mark.parametrize(
    ("body", "opt_out_type", "keyword"),
    [
        ("ARRET", "STOP", Keyword.STOP),  # a keyword configured only in the Twilio console
        ("STOP", "STOP", Keyword.STOP),
        ("START", "START", Keyword.START),
        ("帮助", "HELP", Keyword.HELP),
    ],
)
def test_keywords_twilio_answered_are_acted_on_without_a_second_reply(
    db: Database, settings: Settings, body: str, opt_out_type: str, keyword: Keyword
) -> None:
    with db.session() as session:
        result = handle_inbound(
            session,
            settings,
            sid="SM1",
            from_address=PHONE,
            body=body,
            now=NOW,
            opt_out_type=opt_out_type,
        )
    assert (result.keyword, result.reply) == (keyword, None)
    with db.read() as session:
        assert optouts.is_opted_out(session, "sms", PHONE) is (keyword == Keyword.STOP)
        assert session.exec(select(InboundMessage.keyword)).one() == keyword.value


def test_status_is_answered_even_when_twilio_sends_an_opt_out_type(
    db: Database, settings: Settings
) -> None:
    with db.session() as session:
        result = handle_inbound(
            session,
            settings,
            sid="SM1",
            from_address=PHONE,
            body="状态",
            now=NOW,
            opt_out_type="",
        )
    assert result.reply is not None


# -- YES confirms a sign-up from the website ------------------------------------------------


def _sign_up(db: Database, settings: Settings, areas: tuple[str, ...], *, language: str = "en"):  # type: ignore[no-untyped-def]
    from outage_notify.residents.subscriptions import SignUp, request_subscription

    with db.session() as session:
        for code, name, name_en in [("XH-01", "徐汇一", "Xuhui 1"), ("XH-02", "徐汇二", "Xuhui 2")]:
            if session.exec(select(ServiceArea).where(ServiceArea.code == code)).first() is None:
                add_area(session, code, name, name_en)
        return request_subscription(
            session, settings, SignUp("sms", PHONE, areas, language), now=NOW - timedelta(minutes=5)
        )


def _statuses(db: Database) -> list[tuple[str, str, str | None]]:
    with db.read() as session:
        rows = session.exec(select(Subscriber).order_by(col(Subscriber.id))).all()
        return [(s.area_code, s.status, s.consent_source) for s in rows]


@pytest.mark.parametrize("word", ["YES", "yes.", "Ｙｅｓ", "START"])
def test_yes_confirms_the_numbers_pending_sign_up(
    db: Database, settings: Settings, word: str
) -> None:
    _sign_up(db, settings, ("XH-01", "XH-02"))
    result = handle(db, settings, word)
    assert _statuses(db) == [("XH-01", "active", "sms"), ("XH-02", "active", "sms")]
    assert result.language == "en"  # the language chosen on the sign-up form
    assert text_of(result).startswith("City Water and City Gas: you now follow Xuhui 1, Xuhui 2:")
    assert count_segments(text_of(result)).segments <= 2
    with db.read() as session:
        confirmations = session.exec(
            select(AuditEvent).where(AuditEvent.action == "subscriber.confirm")
        ).all()
        assert [e.actor for e in confirmations] == ["sms:subscriber:1"] * 2
        assert all(e.after and e.after["consent_source"] == "sms" for e in confirmations)


def test_yes_without_a_pending_sign_up_keeps_its_meaning(db: Database, settings: Settings) -> None:
    with db.session() as session:
        add_subscriber(session, PHONE, "XH-01")  # active already: nothing to confirm
    handle(db, settings, "STOP")
    result = handle(db, settings, "YES")
    with db.read() as session:
        assert not optouts.is_opted_out(session, "sms", PHONE)
    assert text_of(result).endswith("Reply STOP to opt out, HELP for help.")
    assert "you will get shutoff notices by SMS again" in text_of(result)
    assert _statuses(db) == [("XH-01", "active", "web")]


def test_yes_after_the_sign_up_expired_confirms_nothing(db: Database, settings: Settings) -> None:
    from outage_notify.residents.subscriptions import SMS_CODE_VALID, SignUp, request_subscription

    with db.session() as session:
        add_area(session, "XH-01", "徐汇一", "Xuhui 1")
        request_subscription(
            session,
            settings,
            SignUp("sms", PHONE, ("XH-01",), "en"),
            now=NOW - SMS_CODE_VALID - timedelta(seconds=1),
        )
    result = handle(db, settings, "YES")
    assert _statuses(db) == [("XH-01", "pending", "web")]
    assert "you will get shutoff notices by SMS again" in text_of(result)


def test_yes_from_an_opted_out_number_turns_texts_on_and_confirms(
    db: Database, settings: Settings
) -> None:
    handle(db, settings, "STOP")
    requested = _sign_up(db, settings, ("XH-02",), language="zh-CN")
    assert requested.outcome == "reply_yes"  # no code can be texted to it
    result = handle(db, settings, "YES")
    with db.read() as session:
        assert not optouts.is_opted_out(session, "sms", PHONE)
    assert _statuses(db) == [("XH-02", "active", "sms")]
    assert text_of(result).startswith("【城市供水】订阅成功：徐汇二")
