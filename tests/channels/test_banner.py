from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from channels import banner
from channels.feeds import FeedArea
from tests.channels.feed_values import NOW, outage, square

H = timedelta(hours=1)


def document(values, now: datetime = NOW, area: str | None = None, **kw):  # type: ignore[no-untyped-def]
    return banner.banner_document(
        values, now=now, area=area, hotline="12319", default_language="zh-CN", **kw
    )


@pytest.mark.parametrize(
    ("start_in", "hours", "status", "restored_ago", "shown"),
    [
        (73 * H, 4, "planned", None, False),  # more than 72 h ahead
        (72 * H, 4, "planned", None, True),  # exactly 72 h ahead
        (2 * H, 4, "planned", None, True),
        (-1 * H, 4, "planned", None, True),  # under way
        (-4 * H, 4, "planned", None, False),  # just ended
        (24 * H, 4, "cancelled", None, True),  # off, over its planned time
        (-5 * H, 4, "cancelled", None, False),  # its planned time is over
        (-6 * H, 8, "restored", 11 * H, True),  # restored 11 h ago
        (-6 * H, 8, "restored", 12 * H, False),  # restored 12 h ago
    ],
)
def test_what_the_banner_shows_now(  # type: ignore[no-untyped-def]
    start_in, hours, status, restored_ago, shown
) -> None:
    value = outage(
        start=NOW + start_in,
        hours=hours,
        status=status,
        revision=1 if status == "planned" else 2,
        restored_at=NOW - restored_ago if restored_ago is not None else None,
    )
    assert bool(document([value])["outages"]) is shown


def test_the_banner_filters_by_area() -> None:
    a1 = outage(id=1, areas=(FeedArea("A1", (square(121.0, 31.0),)),))
    both = outage(id=2, areas=(FeedArea("A2", ()), FeedArea("A1", ())))
    a2 = outage(id=3, areas=(FeedArea("A2", ()),))
    assert [o["id"] for o in document([a1, both, a2], area="A1")["outages"]] == [1, 2]
    assert [o["id"] for o in document([a1, both, a2], area="A2")["outages"]] == [2, 3]
    assert [o["id"] for o in document([a1, both, a2])["outages"]] == [1, 2, 3]
    assert document([a1], area="ZZ")["outages"] == []


def test_active_outages_come_first() -> None:
    later = outage(id=1, start=NOW + 3 * H)
    live = outage(id=2, start=NOW - 1 * H)
    items = document([later, live])["outages"]
    assert [(o["id"], o["active"]) for o in items] == [(2, True), (1, False)]


def test_an_item_has_what_the_script_needs() -> None:
    (item,) = document([outage(revision=2)])["outages"]
    assert item == {
        "id": 7,
        "revision": 2,
        "state": "CHANGED",
        "utility": "water",
        "title": "Main replacement",
        "text": {"zh-CN": "When: Tue 1 Dec", "en": "When: Tue 1 Dec"},
        "start": "2026-12-03T08:00:00+08:00",
        "end": "2026-12-03T12:00:00+08:00",
        "url": "https://outages.example.org/outages/7",
        "areas": ["A1"],
        "active": False,
        "show_from": "2026-11-30T08:00:00+08:00",
        "show_until": "2026-12-03T12:00:00+08:00",
    }


def test_ahead_of_time_keeps_later_outages_for_a_static_export() -> None:
    far = outage(start=NOW + 10 * 24 * H)
    assert document([far])["outages"] == []
    assert len(document([far], ahead_of_time=True)["outages"]) == 1
    ended = outage(start=NOW - 10 * H)
    assert document([ended], ahead_of_time=True)["outages"] == []


def test_the_script_is_small() -> None:
    assert len(banner.BANNER_JS) < 5 * 1024


def test_the_script_never_writes_markup() -> None:
    script = banner.BANNER_JS.decode()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    assert re.search(r"textContent", script)


def test_the_script_is_self_contained() -> None:
    script = banner.BANNER_JS.decode()
    assert "import " not in script
    assert "require(" not in script
    assert not re.search(r"https?://(?!\w*HOST)", script.split("*/", 1)[1])
