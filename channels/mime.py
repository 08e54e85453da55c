"""Writing MIME (RFC 5322, 2045-2047, 2231) directly: header fields, bodies, multiparts.

``email.message.EmailMessage`` with the modern policy parses every header it is given into a
tree and folds it back: about 2 ms a notice, where these functions take 0.2 ms
(``python -m bench email_build``); the demo's 7,500 emails spent most of their time there.
They write the few shapes a notice needs: 7-bit clean (UTF-8 only in an SMTPUTF8 local part),
CRLF line ends, every line within 998 octets. The tests parse the result back with the
stdlib's parser and compare it with what went in.
"""

from __future__ import annotations

import binascii
import random
import re
import sys
from collections.abc import Mapping
from email.utils import encode_rfc2231, getaddresses
from urllib.parse import quote

CRLF = "\r\n"
_LINE = 78  # RFC 5322: lines SHOULD stay within 78 characters
_MAX_LINE = 998  # RFC 5322: and MUST within 998

FIELD_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII but the colon
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 2045 token
# Everything str.splitlines() breaks at: any of them in a header would end it.
LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_PLAIN = re.compile(r"[ -~]*")  # printable ASCII: written as it is
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')  # a display name with these is quoted
_QUOTED = re.compile(r'[\\"]')
_PARAM = re.compile(r'([^\s;=]+)\s*(?:=\s*(?:("(?:[^"\\]|\\.)*")|([^;]*)))?')
_UNQUOTE = re.compile(r"\\(.)")
_FOLD = re.compile(r"(?<=\S)(?= )")  # fold before a space that follows a word
_LINK_SEPARATOR = re.compile(r"(?<=>)\s*,\s*")  # commas between <links>, not inside one
_ASCII = "".join(map(chr, range(128)))
# An encoded-word is at most 75 characters (RFC 2047): 12 of markup and 60 of base64 carry
# 45 octets of UTF-8.
_WORD_OCTETS = 45


def unstructured(name: str, value: str) -> str:
    """``Name: value`` folded at spaces, or as encoded-words when it is not printable ASCII.

    Also as encoded-words: a value that would read back as something else (it holds what
    looks like an encoded-word, or starts or ends with a space) or has a word too long for a
    line.
    """
    if _PLAIN.fullmatch(value) and "=?" not in value and value == value.strip(" "):
        first, *chunks = _FOLD.split(value)
        lines = [f"{name}: {first}"]
        for chunk in chunks:  # each a run of spaces and then a word
            if len(lines[-1]) + len(chunk) > _LINE:
                lines.append(chunk)
            else:
                lines[-1] += chunk
        if all(len(line) <= _LINE for line in lines):
            return CRLF.join(lines) + CRLF
    return f"{name}: " + f"{CRLF} ".join(_encoded_words(value, len(name) + 2)) + CRLF


def _encoded_words(text: str, taken: int) -> list[str]:
    """RFC 2047 base64 encoded-words for ``text``, split between characters, the first one
    short enough for a line that already holds ``taken`` characters.

    RFC 2047 keeps a line holding encoded-words within 76 characters.
    """
    data = text.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError: a bad message
    room = max((76 - taken - 12) // 4 * 3, 6)  # 6 octets: a UTF-8 character always fits
    words: list[str] = []
    start = 0
    while start < len(data) or not words:
        end = min(start + room, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a UTF-8 sequence
            end -= 1
        encoded = binascii.b2a_base64(data[start:end], newline=False).decode("ascii")
        words.append(f"=?utf-8?b?{encoded}?=")
        start, room = end, _WORD_OCTETS
    return words


def address_list(name: str, value: str) -> str:
    """``From``, ``To``, ``Reply-To``: display names outside ASCII as encoded-words, domains
    in IDNA form. A local part outside ASCII stays UTF-8 (RFC 6532): only SMTPUTF8 takes it.
    """
    taken = len(name) + 2
    mailboxes = [_mailbox(d, a, taken) for d, a in getaddresses([value]) if a]
    if not mailboxes:
        raise ValueError(f"header {name} has no address")
    separator = ", " if taken + sum(len(m) + 2 for m in mailboxes) <= _LINE else f",{CRLF} "
    return f"{name}: " + separator.join(mailboxes) + CRLF


def _mailbox(display: str, address: str, taken: int) -> str:
    local, at, domain = address.rpartition("@")
    if at and not domain.isascii():
        address = f"{local}@{idna(domain)}"
    if not display:
        return address
    if _PLAIN.fullmatch(display):
        # ASCII as the address string gave it: it may hold encoded-words of its own.
        if _SPECIALS.search(display):
            display = '"' + _QUOTED.sub(r"\\\g<0>", display) + '"'
        return f"{display} <{address}>"
    return f"{CRLF} ".join(_encoded_words(display, taken)) + f" <{address}>"


def idna(domain: str) -> str:
    return domain if domain.isascii() else domain.encode("idna").decode("ascii")


def link_list(name: str, value: str) -> str:
    """``List-Unsubscribe``: links in angle brackets that must arrive verbatim.

    Never as encoded-words (the stdlib writes any word longer than a line that way, and a
    signed unsubscribe URL is one): mail providers do not decode them in this header and the
    one-click button would not work. So fold between the links only, and write a character
    outside ASCII percent-encoded in UTF-8, as RFC 3987 maps an IRI to a URI.
    """
    if not value.isascii():
        value = quote(value, safe=_ASCII)
    links = _LINK_SEPARATOR.split(value.strip())
    return f"{name}: " + f",{CRLF} ".join(links) + CRLF


def content_header(name: str, value: str, params: Mapping[str, str]) -> str:
    """``Content-Type`` or ``Content-Disposition`` with its parameters, quoted, or RFC 2231
    encoded when not printable ASCII; one parameter a line when they do not fit on one."""
    items = [value]
    for key, param in params.items():
        if not TOKEN.fullmatch(key):
            raise ValueError(f"bad {name} parameter name {key!r}")
        if _PLAIN.fullmatch(param) and "=?" not in param:  # readers decode those even here
            items.append(f'{key}="' + _QUOTED.sub(r"\\\g<0>", param) + '"')
        else:
            items.append(f"{key}*={encode_rfc2231(param, 'utf-8')}")
    line = f"{name}: " + "; ".join(items)
    if len(line) > _LINE:
        line = f"{name}: " + f";{CRLF} ".join(items)
    return line + CRLF


def parse_params(text: str) -> dict[str, str]:
    """``method=PUBLISH; name="a;b"`` -> ``{"method": "PUBLISH", "name": "a;b"}``."""
    params = {}
    for key, quoted, bare in _PARAM.findall(text):
        params[key] = _UNQUOTE.sub(r"\1", quoted[1:-1]) if quoted else bare.strip()
    return params


def text_body(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, body) of ``text`` in UTF-8 with CRLF line ends (MIME's
    canonical form): quoted-printable or base64, whichever is shorter; 7bit when there is
    nothing to escape, then the body holds no ``=`` and so no boundary either."""
    data = b"\r\n".join(text.encode("utf-8").splitlines()) + b"\r\n"
    printable = binascii.b2a_qp(data, istext=True)  # CRLF in, CRLF out; lines of 76
    if printable == data:
        return "7bit", data
    encoded = base64_body(data)
    if len(printable) <= len(encoded):
        return "quoted-printable", printable
    return "base64", encoded


def base64_body(data: bytes) -> bytes:
    """Base64 in lines of 76 characters, each ending in CRLF."""
    return b"".join(
        binascii.b2a_base64(data[i : i + 57], newline=False) + b"\r\n"
        for i in range(0, len(data), 57)
    )


def boundary() -> str:
    """As the stdlib makes them: QP and base64 never write ``==`` (and a 7bit body from
    :func:`text_body` holds no ``=``), so no body line can look like one."""
    return f"==============={random.randrange(sys.maxsize):019d}=="


def entity(headers: str, body: bytes) -> bytes:
    """A MIME entity: its header fields, an empty line, its body."""
    return headers.encode("ascii") + b"\r\n" + body


def multipart(subtype: str, parts: list[bytes]) -> bytes:
    """A multipart entity holding ``parts`` (each an :func:`entity`).

    The CRLF before a delimiter belongs to the delimiter (RFC 2046), so each part keeps the
    line end it ends with.
    """
    mark = boundary()
    delimiter = f"\r\n--{mark}\r\n".encode("ascii")
    body = delimiter[2:] + delimiter.join(parts) + f"\r\n--{mark}--\r\n".encode("ascii")
    return entity(content_header("Content-Type", f"multipart/{subtype}", {"boundary": mark}), body)


def check_line_lengths(data: bytes) -> None:
    if max(map(len, data.split(b"\r\n"))) > _MAX_LINE:
        raise ValueError(f"a line is longer than {_MAX_LINE} octets")
