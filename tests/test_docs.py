"""The docs promise every command and every config key; these fail when one goes missing."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from outage_notify.cli import cli
from outage_notify.settings import all_keys
from tests.test_cli import COMMANDS

REPO = Path(__file__).resolve().parents[1]


def _docs_text() -> str:
    files = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


DOCS = _docs_text()


@pytest.mark.parametrize(
    "path", sorted(p for p, c in COMMANDS.items() if not isinstance(c, click.Group))
)
def test_every_command_is_documented(path: str) -> None:
    assert f"outage-notify {path}" in DOCS, f"`outage-notify {path}` is not in README.md or docs/"


@pytest.mark.parametrize("key", all_keys())
def test_every_config_key_is_documented(key: str) -> None:
    assert f"`{key}`" in DOCS, f"config key {key} is not in docs/ (write it as `{key}`)"


def test_the_cli_has_a_group_for_the_docs_to_walk() -> None:
    assert isinstance(cli, click.Group)


def test_decision_records_are_numbered_once_and_linked_by_their_names() -> None:
    records = sorted((REPO / "docs" / "decisions").glob("*.md"))
    numbers = [path.name.split("-", 1)[0] for path in records]
    assert len(numbers) == len(set(numbers)), f"a number is used twice: {numbers}"
    sources = [
        REPO / "README.md",
        *(REPO / "docs").rglob("*.md"),
        *(REPO / "outage_notify").rglob("*.py"),
    ]
    names = {path.name for path in records}
    for source in sources:
        for link in re.findall(
            r"decisions/(\d{4}-[a-z0-9-]+\.md)", source.read_text(encoding="utf-8")
        ):
            assert link in names, f"{source.relative_to(REPO)} links to a missing record {link}"
