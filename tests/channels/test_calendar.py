"""The outage VEVENT shared by the email attachment and the iCalendar feed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from channels.calendar import calendar_document, outage_uid, outage_vevent

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 12, 1, 8, 0, tzinfo=ZONE)
END = datetime(2025, 12, 1, 12, 0, tzinfo=ZONE)
STAMP = datetime(2025, 11, 20, 1, 2, 3, tzinfo=UTC)


def event(**changes: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "uid": "outage-7@outages.example.org",
        "sequence": 3,
        "start": START,
        "end": END,
        "summary": "Water shutoff: Main repair",
        "stamp": STAMP,
        "description": "Line one\nLine two; with, punctuation",
        "url": "https://outages.example.org/outages/7",
        "location": "Riverside, Old Town",
    }
    values.update(changes)
    return outage_vevent(**values)  # type: ignore[arg-type]


def test_the_uid_is_the_outage_at_the_public_host() -> None:
    assert outage_uid(7, "https://outages.example.org:8443/base") == "outage-7@outages.example.org"


def test_an_event_reads_back_with_its_time_zone() -> None:
    document = calendar_document([event()], method="PUBLISH")
    parsed = Calendar.from_ical(document)
    assert parsed["METHOD"] == "PUBLISH"
    [vevent] = parsed.events
    assert str(vevent["UID"]) == "outage-7@outages.example.org"
    assert vevent["SEQUENCE"] == 3
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent["TRANSP"] == "TRANSPARENT"
    assert vevent.get("DTSTART").params["TZID"] == "Asia/Shanghai"
    assert vevent.decoded("DTSTART") == START
    assert vevent.decoded("DTEND") == END
    assert vevent.decoded("DTSTAMP") == STAMP
    assert str(vevent["DESCRIPTION"]) == "Line one\nLine two; with, punctuation"
    assert str(vevent["LOCATION"]) == "Riverside, Old Town"
    assert [tz["TZID"] for tz in parsed.walk("VTIMEZONE")] == ["Asia/Shanghai"]


def test_a_cancelled_outage_is_a_cancelled_event() -> None:
    parsed = Calendar.from_ical(calendar_document([event(cancelled=True)], method="CANCEL"))
    assert parsed["METHOD"] == "CANCEL"
    assert parsed.events[0]["STATUS"] == "CANCELLED"


def test_a_feed_has_no_method_and_carries_its_name() -> None:
    document = calendar_document(
        [event(), event(uid="outage-8@outages.example.org")], name="Planned outages"
    )
    parsed = Calendar.from_ical(document)
    assert "METHOD" not in parsed
    assert str(parsed["X-WR-CALNAME"]) == "Planned outages"
    assert len(parsed.events) == 2
    assert len(parsed.walk("VTIMEZONE")) == 1


def test_the_organizer_is_a_mailto() -> None:
    parsed = Calendar.from_ical(calendar_document([event(organizer="notices@example.org")]))
    assert str(parsed.events[0]["ORGANIZER"]) == "mailto:notices@example.org"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        event(start=datetime(2025, 12, 1, 8, 0))


def test_hostile_text_round_trips_literally() -> None:
    summary = "<script>alert(1)</script> ]]> &amp; ;,\\"
    parsed = Calendar.from_ical(calendar_document([event(summary=summary)]))
    assert str(parsed.events[0]["SUMMARY"]) == summary
