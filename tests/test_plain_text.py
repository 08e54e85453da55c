from __future__ import annotations

import pytest

from outage_notify.plain_text import control_character_problem, has_control_characters


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ("Main replacement", False),
        ("two\nlines\r\nand\ta tab", False),  # text, not control
        ("停水通知 🚰", False),
        ("", False),
        (None, False),
        ("NUL\x00", True),
        ("bell\x07", True),
        ("escape\x1b[31m", True),
        ("vertical\x0btab", True),
        ("delete\x7f", True),
    ],
)
def test_one_rule_for_control_characters(value: str | None, refused: bool) -> None:
    assert has_control_characters(value) is refused
    expected = "title contains a control character" if refused else None
    assert control_character_problem("title", value) == expected
