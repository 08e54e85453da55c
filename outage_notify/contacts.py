"""Contact addresses in their one normal form, so the same person is the same recipient.

Phone numbers become E.164 (``+8613812345678``) with ``phonenumbers``; email addresses are
checked by ``email-validator`` (syntax only: no DNS lookups on import) and lower-cased, as
the outbox, opt-outs and subscriptions compare them as plain strings.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import NamedTuple

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

# A plain ASCII address: dot-separated words of letters, digits, "_", "+" and "-" before the
# @, and a host name of letter/digit labels with single hyphens, ending in a letters-only TLD.
# Every address this accepts, email-validator accepts too, with the address itself as its
# normal form (tests/test_contacts.py holds the two together); anything else, the validator
# decides. It spares the validator's domain checks, most of an import's time per row.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]{2,63}", re.IGNORECASE
)


class ContactError(ValueError):
    """The text is not a usable phone number or email address; the message says why."""


def normalise_phone(raw: str, region: str) -> str:
    """E.164 for ``raw``, read as a number of ``region`` when it has no ``+country``."""
    return phone_contact(raw, region)[0]


def phone_contact(raw: str, region: str) -> tuple[str, bool]:
    """(E.164, is a landline) for ``raw``: one check for both.

    A landline is phonenumbers' ``FIXED_LINE``: it cannot take SMS, so it is called instead.
    ``FIXED_LINE_OR_MOBILE`` (the US and Canada cannot tell them apart) is not one.
    """
    number, landline, problem = _checked_phone(raw.strip(), region)
    if problem:
        raise ContactError(problem)
    return number, landline


# A household's accounts share a number: a recently checked (text, region) is not checked
# again, its answer (number and type, or reason) remembered. Bounded: a million distinct
# numbers would otherwise hold over 200 MB.
@lru_cache(maxsize=8192)
def _checked_phone(text: str, region: str) -> tuple[str, bool, str]:
    fast = _plain_valid_number(text, region)
    if fast is not None:
        return fast[0], fast[1], ""
    try:
        number, landline = _parse_phone(text, region)
    except ContactError as exc:
        return "", False, str(exc)
    return number, landline, ""


def _parse_phone(text: str, region: str) -> tuple[str, bool]:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ContactError(f"not a phone number ({_parse_reason(exc)})") from None
    if not phonenumbers.is_valid_number(number):
        raise ContactError(f"not a valid phone number for region {_region_of(number, region)}")
    landline = phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), landline


class _Rules(NamedTuple):
    """What validating a national number of one region takes, compiled once."""

    country_code: str
    general_lengths: frozenset[int]
    general: re.Pattern[str]
    # Per length, one pattern: the union of the number types that allow that length.
    types_by_length: dict[int, re.Pattern[str]]
    types_any_length: re.Pattern[str] | None  # the types that list no lengths of their own
    national_prefix: re.Pattern[str] | None
    international_prefix: re.Pattern[str] | None
    # For the landline test, each type's (lengths, pattern), as phonenumbers tries them.
    descriptions: dict[str, tuple[frozenset[int], re.Pattern[str]]]
    same_mobile_and_fixed_line_pattern: bool


# The number types phonenumbers' is_valid_number accepts: valid means matching the general
# description and one of these (phonenumberutil._number_type_helper), in whatever order.
_TYPES = (
    "mobile",
    "fixed_line",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
_SEPARATORS = str.maketrans("", "", " -")
_PLAIN_DIGITS = re.compile(r"\+?[0-9]{4,17}")


def _union(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


@cache
def _rules(region: str) -> _Rules | None:
    """The region's rules, or None where the fast path cannot be sure to agree with
    phonenumbers: unknown regions, and regions that share a country code without being its
    main one (which phonenumbers resolves by leading digits)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None:
        return None
    regions = COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ())
    general = metadata.general_desc
    if not regions or regions[0] != region or metadata.leading_digits is not None:
        return None
    if general is None or not general.national_number_pattern:
        return None
    types = [
        (frozenset(desc.possible_length or ()), desc.national_number_pattern)
        for desc in (getattr(metadata, name) for name in _TYPES)
        if desc is not None and desc.national_number_pattern
    ]
    lengths = {length for allowed, _ in types for length in allowed}
    by_length = {
        length: _union([p for allowed, p in types if not allowed or length in allowed])
        for length in lengths
    }

    def pattern(text: str | None) -> re.Pattern[str] | None:
        return re.compile(text) if text else None

    descriptions = {
        name: (
            frozenset(desc.possible_length or ()),
            re.compile(f"(?:{desc.national_number_pattern})"),
        )
        for name, desc in ((name, getattr(metadata, name)) for name in _TYPES)
        if desc is not None and desc.national_number_pattern
    }
    return _Rules(
        str(metadata.country_code),
        frozenset(general.possible_length or ()),
        re.compile(f"(?:{general.national_number_pattern})"),
        {length: p for length, p in by_length.items() if p is not None},
        _union([p for allowed, p in types if not allowed]),
        pattern(metadata.national_prefix_for_parsing),
        pattern(metadata.international_prefix),
        descriptions,
        bool(metadata.same_mobile_and_fixed_line_pattern),
    )


def _is_valid_national(number: str, rules: _Rules) -> bool:
    size = len(number)
    if rules.general_lengths and size not in rules.general_lengths:
        return False
    if not rules.general.fullmatch(number):
        return False
    # A type that lists no lengths takes the general description's (checked above).
    types = rules.types_by_length.get(size, rules.types_any_length)
    return types is not None and types.fullmatch(number) is not None


def _matches(number: str, rules: _Rules, name: str) -> bool:
    found = rules.descriptions.get(name)
    if found is None:
        return False
    lengths, pattern = found
    return (not lengths or len(number) in lengths) and pattern.fullmatch(number) is not None


def _is_landline(number: str, rules: _Rules) -> bool:
    """phonenumbers' number_type() == FIXED_LINE for a valid number (_number_type_helper)."""
    if any(_matches(number, rules, name) for name in _TYPES[2:]):
        return False  # premium rate, toll free, ... come first
    if not _matches(number, rules, "fixed_line"):
        return False
    return not rules.same_mobile_and_fixed_line_pattern and not _matches(number, rules, "mobile")


def _plain_valid_number(text: str, region: str) -> tuple[str, bool] | None:
    """(E.164, is a landline) for a number written as plain digits (``+8613812345678``,
    ``+86 138-1234-5678``, ``13812345678``) when it is valid, without phonenumbers' parser;
    None to let it decide.

    The parser's per-row cost was most of an import's time. Anything it might read otherwise
    (a national or international prefix, the region's own country code without the ``+``, a
    country code shared by several regions) goes to it. tests/test_contacts.py compares the
    two over numbers of many regions.
    """
    digits = text.translate(_SEPARATORS)
    if not _PLAIN_DIGITS.fullmatch(digits):
        return None
    if digits[0] == "+":
        if digits[1] == "0":
            return None
        for size in (1, 2, 3):
            code = int(digits[1 : 1 + size])
            if code in COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        rules = _rules(COUNTRY_CODE_TO_REGION_CODE[code][0])
        national = digits[1 + size :]
    else:
        rules = _rules(region)
        national = digits
        if rules is None or national.startswith(rules.country_code):
            return None
        if rules.international_prefix and rules.international_prefix.match(national):
            return None
    if rules is None or (rules.national_prefix and rules.national_prefix.match(national)):
        return None
    if not _is_valid_national(national, rules):
        return None
    return f"+{rules.country_code}{national}", _is_landline(national, rules)


def _parse_reason(exc: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "no digits where digits belong",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(exc.error_type, "unreadable")


def _region_of(number: phonenumbers.PhoneNumber, default: str) -> str:
    return phonenumbers.region_code_for_country_code(number.country_code or 0) or default


def is_plain_email(text: str) -> bool:
    if len(text) > 254 or not _PLAIN_EMAIL.fullmatch(text):
        return False
    local, _, domain = text.lower().rpartition("@")
    if len(local) > 64 or len(domain) > 253 or any(len(label) > 63 for label in domain.split(".")):
        return False
    return not any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAIN_NAMES)


def normalise_email(raw: str) -> str:
    """The lower-cased, NFC-normalised address; ContactError with the validator's reason."""
    text = raw.strip()
    if is_plain_email(text):
        return text.lower()
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ContactError(f"not a valid email address ({exc})") from None
    return result.normalized.lower()
