"""How many SMS segments a text costs.

GSM 03.38 7-bit texts fit 160 septets in one segment, 153 a segment once split (the rest is
the concatenation header); a character of the extension table costs two septets and is never
split across segments. Any other character forces UCS-2 for the whole message: 70 UTF-16
code units in one segment, 67 once split; a character outside the BMP (an emoji) costs two
units and is not split either. Carriers bill per segment, so this decides the SMS cost.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int

    @property
    def per_segment(self) -> int:
        """Units a segment holds at this length (the single-segment size when it fits one)."""
        if self.encoding == "GSM-7":
            return GSM7_SINGLE if self.segments <= 1 else GSM7_PART
        return UCS2_SINGLE if self.segments <= 1 else UCS2_PART


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _unit_costs(text: str) -> tuple[str, list[int]]:
    if is_gsm7(text):
        return "GSM-7", [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return "UCS-2", [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text: str) -> SegmentCount:
    encoding, costs = _unit_costs(text)
    units = sum(costs)
    single, part = (GSM7_SINGLE, GSM7_PART) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PART)
    if units == 0:
        return SegmentCount(encoding, 0, 0, 0)
    if units <= single:
        return SegmentCount(encoding, len(text), units, 1)
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:  # a two-unit character is never split across segments
            segments, used = segments + 1, 0
        used += cost
    return SegmentCount(encoding, len(text), units, segments)
