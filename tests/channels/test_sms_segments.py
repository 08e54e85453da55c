from __future__ import annotations

import pytest

from channels.sms_segments import count_segments, is_gsm7


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
        ("€" * 81, "GSM-7", 162, 2),
        # 152 plain septets then an extension character: it does not fit the first part's
        # last septet, so it moves whole to the second segment.
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
        ("Café [12319] {ok} ~ | ^ \\", "GSM-7", 33, 1),
        ("停水" * 35, "UCS-2", 70, 1),
        ("停水" * 35 + "。", "UCS-2", 71, 2),
        ("停" * 134, "UCS-2", 134, 2),
        ("停" * 135, "UCS-2", 135, 3),
        ("a" * 69 + "ç", "UCS-2", 70, 1),  # ç is not GSM-7 (only Ç is): the whole text is UCS-2
        ("💧" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
        ("a" * 66 + "💧" + "a", "UCS-2", 69, 1),
        ("a" * 66 + "💧" + "a" * 10, "UCS-2", 78, 2),
    ],
)
def test_count_segments(text: str, encoding: str, units: int, segments: int) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)
    assert count.characters == len(text)


def test_an_emoji_is_not_split_across_ucs2_segments() -> None:
    # 66 units then a two-unit emoji: 68 > 67, so the emoji opens the second segment.
    assert count_segments("停" * 66 + "💧" + "停" * 65).segments == 2
    assert count_segments("停" * 66 + "💧" + "停" * 66).segments == 3


@pytest.mark.parametrize(("text", "expected"), [("Hello 12319", True), ("水", False), ("é", True)])
def test_is_gsm7(text: str, expected: bool) -> None:
    assert is_gsm7(text) is expected
