"""The order people read lists of names in: by pinyin for Chinese, alphabetically for English.

Python's own order sorts Chinese by code point, which is no order a reader knows (中山路
before 东风路). For zh-CN a name is keyed by its pinyin with tone numbers (pypinyin, pure
Python), so 东风路 (dong1) comes before 中山路 (zhong1); Latin letters and digits in a name
sort among the pinyin as they are. English is case-folded.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeVar

from pypinyin import Style, lazy_pinyin

T = TypeVar("T")


def reading_key(name: str, language: str) -> tuple[str, str]:
    """A sort key for ``name`` as a reader of ``language`` expects; the name itself breaks
    ties, so the order is total."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    if language.startswith("zh"):
        # Style.TONE3 puts the tone after each syllable: "zhong1 shan1 lu4".
        return " ".join(lazy_pinyin(folded, style=Style.TONE3, errors="default")), name
    return folded, name


def in_reading_order(items: Iterable[T], label: Callable[[T], str], language: str) -> list[T]:
    return sorted(items, key=lambda item: reading_key(label(item), language))
