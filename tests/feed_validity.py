"""Validators for the published documents, as third-party checkers see them.

Atom: RFC 4287's RELAX NG schema (``tests/data/atom.rng``, made from the RFC's appendix B,
``atom.rnc``) plus the rules the schema cannot say (RFC 4287's Schematron rules, unique ids,
RFC 4151 tag: ids). CAP: the rules of CAP 1.2 beyond the OASIS schema.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path

from lxml import etree

DATA = Path(__file__).parent / "data"
ATOM = "http://www.w3.org/2005/Atom"
CAP = "urn:oasis:names:tc:emergency:cap:1.2"
# RFC 4151: tag:<DNS name or email>,<YYYY[-MM[-DD]]>:<specific>; a DNS name has no port.
TAG = re.compile(
    r"tag:(?:[a-z0-9]([a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*"
    r"|[^@\s,]+@[a-z0-9.-]+),\d{4}(?:-\d\d(?:-\d\d)?)?:\S*",
    re.IGNORECASE,
)
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


@cache
def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(DATA / "atom.rng")))


def _atom(element: etree._Element, path: str) -> list[etree._Element]:
    found: list[etree._Element] = element.xpath(path, namespaces={"a": ATOM})
    return found


def valid_atom(data: bytes, *, served_at: str | None = None) -> etree._Element:
    """Parse an Atom feed and check it as RFC 4287 (and a feed validator) does."""
    root = etree.fromstring(data)
    schema = atom_schema()
    if not schema.validate(root):
        raise AssertionError(f"invalid Atom (RFC 4287 schema): {schema.error_log}")
    problems = []
    entries = _atom(root, "a:entry")
    if not _atom(root, "a:author") and any(not _atom(e, "a:author") for e in entries):
        problems.append("an entry has no author, nor has the feed")
    ids = [e.text or "" for e in _atom(root, "a:id | a:entry/a:id")]
    for value in ids:
        if not SCHEME.fullmatch(value):
            problems.append(f"id {value!r} is not an IRI")
        elif value.startswith("tag:") and not TAG.fullmatch(value):
            problems.append(f"id {value!r} is not an RFC 4151 tag")
    if len(set(ids)) != len(ids):
        problems.append("ids repeat")
    for entry in entries:
        if not _atom(entry, "a:link[@rel='alternate' or not(@rel)] | a:content"):
            problems.append("an entry has neither an alternate link nor content")
    for owner in [root, *entries]:
        alternates = [
            (link.get("type"), link.get("hreflang"))
            for link in _atom(owner, "a:link[@rel='alternate' or not(@rel)]")
        ]
        if len(set(alternates)) != len(alternates):
            problems.append("two alternate links of the same type and language")
    selves = [link.get("href") for link in _atom(root, "a:link[@rel='self']")]
    if len(selves) != 1:
        problems.append(f"{len(selves)} self links")
    elif served_at is not None and selves[0] != served_at:
        problems.append(f"self link {selves[0]} is not the URL served, {served_at}")
    if problems:
        raise AssertionError("invalid Atom: " + "; ".join(problems))
    return root


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("-00:00", "+00:00"))


def cap_rules(root: etree._Element) -> list[str]:
    """What CAP 1.2 requires beyond its schema, for one alert: what is wrong (empty: fine)."""
    ns = {"cap": CAP}
    problems = []
    msg_type = root.findtext("cap:msgType", namespaces=ns)
    references = (root.findtext("cap:references", namespaces=ns) or "").split()
    if msg_type in ("Update", "Cancel", "Ack", "Error") and not references:
        problems.append(f"an {msg_type} without references")
    for reference in references:
        if len(reference.split(",")) != 3:
            problems.append(f"reference {reference!r} is not sender,identifier,sent")
    for info in root.findall("cap:info", namespaces=ns):
        onset = info.findtext("cap:onset", namespaces=ns)
        expires = info.findtext("cap:expires", namespaces=ns)
        if onset and expires and _time(expires) <= _time(onset):
            problems.append(f"expires {expires} is not after onset {onset}")
        for polygon in info.findall("cap:area/cap:polygon", namespaces=ns):
            points = (polygon.text or "").split()
            if len(points) < 4 or points[0] != points[-1]:
                problems.append(f"polygon {polygon.text!r} is not closed (4 points at least)")
    return problems
