"""Writing MIME: header fields folded and encoded within the line limits, bodies, parameters."""

from __future__ import annotations

import base64
import binascii
import re
from email import message_from_bytes, policy

import pytest

from channels import mime

ENCODED_WORD = re.compile(r"=\?utf-8\?b\?([A-Za-z0-9+/=]*)\?=")


def read_header(folded: str) -> str:
    parsed = message_from_bytes(folded.encode() + b"\r\n", policy=policy.default)
    [value] = parsed.values()
    return str(value)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("Planned water shutoff", False),
        ("word " * 40 + "end", False),
        ("停水通知 Water", True),
        ("=?utf-8?q?looks_encoded?=", True),
        ("NUL \x00 and tab\t", True),
        (" leading and trailing ", True),
        ("a" * 80, True),  # a word longer than a line
        ("😀" * 50, True),
    ],
)
def test_unstructured_reads_back_and_keeps_lines_short(value: str, encoded: bool) -> None:
    folded = mime.unstructured("Subject", value)
    assert folded.endswith("\r\n")
    assert folded.isascii()
    assert ("=?utf-8?b?" in folded) == encoded
    assert all(len(line) <= 78 for line in folded.split("\r\n"))
    assert read_header(folded) == value


def test_encoded_words_are_whole_characters_and_within_rfc_2047_limits() -> None:
    folded = mime.unstructured("X-A-Longer-Header-Name", "停水😀" * 60)
    for line in folded.removesuffix("\r\n").split("\r\n"):
        assert len(line) <= 76
    words = ENCODED_WORD.findall(folded)
    assert len(words) > 5
    for word in words:
        assert len(f"=?utf-8?b?{word}?=") <= 75
        base64.b64decode(word).decode("utf-8")  # no character split between two words


def test_address_lists_encode_display_names_only() -> None:
    folded = mime.address_list("To", '张三 <z@例子.中国>, "Water, Inc." <w@example.org>, a@b.org')
    assert folded.startswith("To: =?utf-8?b?5byg5LiJ?= <z@xn--fsqu00a.xn--fiqs8s>,")
    assert read_header(folded) == (
        '张三 <z@xn--fsqu00a.xn--fiqs8s>, "Water, Inc." <w@example.org>, a@b.org'
    )


def test_an_address_list_without_an_address_is_refused() -> None:
    with pytest.raises(ValueError, match="no address"):
        mime.address_list("From", "<>")


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Water is off on Tue 1 Dec.\n", "7bit"),
        ("a = b\n", "quoted-printable"),
        ("x" * 200 + "\n", "quoted-printable"),
        ("Trailing space \n.\nFrom here\n", "quoted-printable"),
        ("停水通知：12月1日 08:00-12:00\n" * 5, "base64"),
    ],
)
def test_text_bodies_are_seven_bit_in_short_crlf_lines(text: str, encoding: str) -> None:
    cte, body = mime.text_body(text)
    assert cte == encoding
    assert body.isascii()
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    assert b"\n" not in body.replace(b"\r\n", b"")
    decoded = {
        "7bit": lambda b: b,
        "quoted-printable": binascii.a2b_qp,
        "base64": base64.b64decode,
    }[cte](body)
    assert decoded == text.replace("\n", "\r\n").encode()


@pytest.mark.parametrize("text", ["--{b}\n", "--{b}--\n", "x\n--{b}\r\n停水\n"])
def test_a_body_never_holds_a_boundary(text: str) -> None:
    mark = mime.boundary()
    _, body = mime.text_body(text.format(b=mark))
    assert f"--{mark}".encode() not in body


def test_a_multipart_delimits_each_part() -> None:
    first = mime.entity("Content-Type: text/plain\r\n", b"one\r\n")
    second = mime.entity("Content-Type: text/plain\r\n", b"two\r\n")
    parsed = message_from_bytes(mime.multipart("mixed", [first, second]), policy=policy.default)
    assert [p.get_content() for p in parsed.iter_parts()] == ["one\r\n", "two\r\n"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("", {}),
        (" method=PUBLISH", {"method": "PUBLISH"}),
        (' method="PUB;LISH"; name="a\\"b"', {"method": "PUB;LISH", "name": 'a"b'}),
        (";; method ; x = y ;", {"method": "", "x": "y"}),
    ],
)
def test_parameters_are_parsed_with_quoted_strings(text: str, params: dict[str, str]) -> None:
    assert mime.parse_params(text) == params


@pytest.mark.parametrize("filename", ["outage-7.ics", '停水 "通知".ics', 'a"b\\c.ics', "=?x?="])
def test_parameters_read_back(filename: str) -> None:
    header = mime.content_header("Content-Disposition", "attachment", {"filename": filename})
    assert header.isascii()
    parsed = message_from_bytes(header.encode() + b"\r\n", policy=policy.default)
    assert parsed.get_filename() == filename


def test_a_parameter_name_must_be_a_token() -> None:
    with pytest.raises(ValueError, match="parameter name"):
        mime.content_header("Content-Type", "text/plain", {'a"b': "x"})
