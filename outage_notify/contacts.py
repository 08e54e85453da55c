"""Contact addresses in their one normal form, so the same person is the same recipient.

Phone numbers become E.164 (``+8613812345678``) with ``phonenumbers``; email addresses are
checked by ``email-validator`` (syntax only: no DNS lookups on import) and lower-cased, as
the outbox, opt-outs and subscriptions compare them as plain strings.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

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
    """(E.164, is a landline) for ``raw``: one parse for both.

    A landline is phonenumbers' ``FIXED_LINE``: it cannot take SMS, so it is called instead.
    ``FIXED_LINE_OR_MOBILE`` (the US and Canada cannot tell them apart) is not one.
    """
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ContactError(f"not a phone number ({_parse_reason(exc)})") from None
    if not phonenumbers.is_valid_number(number):
        raise ContactError(f"not a valid phone number for region {_region_of(number, region)}")
    landline = phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), landline


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
