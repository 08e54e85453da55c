"""iCalendar (RFC 5545) events for outages: one VEVENT per outage, from plain values.

The email attachment and the public ``.ics`` feed both build their events here, so an outage
has the same UID everywhere and a calendar that imported it once recognises every update:
SEQUENCE is the outage revision, so a rescheduled outage moves and a cancelled one is
cancelled in the resident's calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from icalendar import Calendar, Event, Timezone, vDuration

PRODID = "-//outage-notify//outage-notify//EN"


def outage_uid(outage_id: int, public_url: str) -> str:
    """``outage-12@outages.example.org``: stable for the life of the outage."""
    host = urlsplit(public_url).hostname or "localhost"
    return f"outage-{outage_id}@{host}"


def outage_vevent(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    summary: str,
    stamp: datetime,
    description: str = "",
    url: str | None = None,
    location: str | None = None,
    cancelled: bool = False,
    organizer: str | None = None,
    categories: Iterable[str] = (),
) -> Event:
    """One outage as a VEVENT.

    ``start`` and ``end`` must be aware; a ``zoneinfo`` time zone is written as TZID (add the
    VTIMEZONE with :func:`calendar_document`). ``stamp`` is DTSTAMP, the time the iCalendar
    object was made; ``organizer`` an email address, which iTIP (RFC 5546) requires in the
    PUBLISH and CANCEL messages that email attachments are.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("outage_vevent needs aware start and end times")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    if url:
        event.add("url", url)
    if organizer:
        event.add("organizer", f"mailto:{organizer}")
    wanted = list(categories)
    if wanted:
        event.add("categories", wanted)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # A shutoff is not an appointment: it must not mark the resident busy.
    event.add("transp", "TRANSPARENT")
    return event


def calendar_document(
    events: Iterable[Event],
    *,
    method: str | None = None,
    name: str | None = None,
    refresh: timedelta | None = None,
) -> bytes:
    """A VCALENDAR holding ``events`` and the VTIMEZONEs they use, as bytes (CRLF lines).

    ``method`` is the iTIP method of an email attachment (``PUBLISH`` or ``CANCEL``); a
    subscribed feed has none. ``name`` is the feed's display name (X-WR-CALNAME and NAME).
    ``refresh`` is how often a subscribed feed asks to be fetched again (REFRESH-INTERVAL,
    RFC 7986, and X-PUBLISHED-TTL, which Outlook and Apple Calendar read).
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
    if refresh is not None:
        calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(refresh))
    times: list[datetime] = []
    for event in events:
        calendar.add_component(event)
        times.extend(event.decoded(key) for key in ("dtstart", "dtend") if key in event)
    if times:
        first, last = min(times).year - 1, max(times).year + 1
        for tzid in sorted(calendar.get_missing_tzids()):
            zone = _vtimezone(tzid, first, last)
            if zone is not None:
                calendar.subcomponents.insert(0, zone)
    return calendar.to_ical()


@lru_cache(maxsize=64)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone | None:
    """The VTIMEZONE of ``tzid`` for whole years, computed once (about 20 ms each time).

    Cut to the years the events need: a zone's full history is kilobytes that every
    attachment would carry for nothing. Shared between calendars, so never modified.
    """
    try:
        return Timezone.from_tzid(
            tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
        )
    except ValueError:
        return None
