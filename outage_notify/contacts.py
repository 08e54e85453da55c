"""Contact addresses in their one normal form, so the same person is the same recipient.

Phone numbers become E.164 (``+8613812345678``) with ``phonenumbers``; email addresses are
checked by ``email-validator`` (syntax only: no DNS lookups on import) and lower-cased, as
the outbox, opt-outs and subscriptions compare them as plain strings.
"""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class ContactError(ValueError):
    """The text is not a usable phone number or email address; the message says why."""


def normalise_phone(raw: str, region: str) -> str:
    """E.164 for ``raw``, read as a number of ``region`` when it has no ``+country``."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ContactError(f"not a phone number ({_parse_reason(exc)})") from None
    if not phonenumbers.is_valid_number(number):
        raise ContactError(f"not a valid phone number for region {_region_of(number, region)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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


def normalise_email(raw: str) -> str:
    """The lower-cased, NFC-normalised address; ContactError with the validator's reason."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ContactError(f"not a valid email address ({exc})") from None
    return result.normalized.lower()
