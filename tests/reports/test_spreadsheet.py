from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from outage_notify.reports.spreadsheet import cell, neutralise, write_csv


@pytest.mark.parametrize(
    ("text", "written"),
    [
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("  =1+1", "'  =1+1"),  # spaces in front do not stop every spreadsheet
        ("+8613800000000", "'+8613800000000"),  # E.164 numbers too
        ("Zhang Wei", "Zhang Wei"),
        ("1 Water St", "1 Water St"),
        ("a=b", "a=b"),
        ("王芳", "王芳"),
        ("", ""),
    ],
)
def test_text_a_spreadsheet_would_run_is_neutralised(text: str, written: str) -> None:
    assert neutralise(text) == written


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (3, 3),
        (-1.5, -1.5),  # a number is read as a value, never as a formula
        (datetime(2026, 1, 1, tzinfo=UTC), "2026-01-01T00:00:00+00:00"),
        ("-x", "'-x"),
    ],
)
def test_cells_keep_numbers_and_neutralise_text(value: object, written: object) -> None:
    assert cell(value) == written


def test_write_csv_quotes_what_needs_quoting_and_counts_rows() -> None:
    stream = io.StringIO()
    count = write_csv(stream, ["a", "b"], [["x,y", '=1"2'], ["line\nbreak", 7]])
    assert count == 2
    assert list(csv.reader(io.StringIO(stream.getvalue()))) == [
        ["a", "b"],
        ["x,y", "'=1\"2"],
        ["line\nbreak", "7"],
    ]
