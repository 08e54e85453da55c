from __future__ import annotations

import random

import phonenumbers
import pytest
from email_validator import validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from outage_notify.contacts import (
    ContactError,
    _parse_phone,
    _plain_valid_number,
    _rules,
    is_plain_email,
    normalise_email,
    normalise_phone,
    phone_contact,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("13800138000", "CN", "+8613800138000"),
        ("138-0013-8000", "CN", "+8613800138000"),
        ("+86 138 0013 8000", "US", "+8613800138000"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("010 6552 9988", "CN", "+861065529988"),
    ],
)
def test_phone_numbers_become_e164(raw: str, region: str, expected: str) -> None:
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12", "not a valid phone number for region CN"),
        ("phone", "not a phone number"),
        ("+999 12345", "not a phone number (unknown country code)"),
    ],
)
def test_bad_phone_numbers_say_why(raw: str, reason: str) -> None:
    with pytest.raises(ContactError) as caught:
        normalise_phone(raw, "CN")
    assert reason in str(caught.value)


def test_emails_are_checked_without_dns_and_lower_cased() -> None:
    assert normalise_email(" Li.Wei@Example.ORG ") == "li.wei@example.org"
    assert normalise_email("a@mail.invalid-but-unresolved-domain.cn") == (
        "a@mail.invalid-but-unresolved-domain.cn"
    )


@pytest.mark.parametrize("raw", ["nope", "a@b", "a@@example.org", "a b@example.org", "a@localhost"])
def test_bad_emails_are_refused(raw: str) -> None:
    with pytest.raises(ContactError, match="not a valid email address"):
        normalise_email(raw)


PLAIN = (
    r"[a-zA-Z0-9_+-]{1,20}(\.[a-zA-Z0-9_+-]{1,10}){0,2}@([a-zA-Z0-9]{1,20}(-[a-zA-Z0-9]{1,5})?\.)"
    r"{1,3}(com|org|cn|TEST|local|arpa|xn|[a-zA-Z]{2,8})"
)


@given(st.from_regex(PLAIN, fullmatch=True) | st.text(max_size=40) | st.emails())
@settings(max_examples=500)
def test_the_plain_address_shortcut_agrees_with_email_validator(address: str) -> None:
    """Whatever the shortcut accepts, the validator accepts with the same normal form."""
    if not is_plain_email(address):
        return
    assert validate_email(address, check_deliverability=False).normalized.lower() == (
        address.lower()
    )


@pytest.mark.parametrize(
    ("address", "plain"),
    [
        ("li.wei+water@mail.example.com", True),
        ("a@b.cn", True),
        ("a@host.local", False),  # special use: the validator refuses it
        ("a@x.test", False),
        ("a..b@example.org", False),
        ("a@xn--fiqs8s.cn", False),  # punycode: the validator decides
        ("a@ab--cd.cn", False),
        ("李@example.org", False),
        ("a@example.123", False),
        ("a" * 65 + "@example.org", False),
    ],
)
def test_which_addresses_take_the_shortcut(address: str, plain: bool) -> None:
    assert is_plain_email(address) is plain


REGIONS = ("CN", "US", "CA", "GB", "IM", "IT", "DE", "FR", "RU", "KZ", "JP", "IN", "BR", "AU", "HK")


def _phonenumbers_answer(text: str, region: str) -> tuple[str, bool] | None:
    try:
        return _parse_phone(text, region)
    except ContactError:
        return None


def _spellings(region: str) -> list[str]:
    """Example numbers of every type of the region (fixed lines, mobiles, toll free, ...), as
    E.164, spaced, national and mangled: the shortcut must agree on the number and on whether
    it is a landline."""
    out = []
    for kind in phonenumbers.PhoneNumberType.values():
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        national = phonenumbers.national_significant_number(example)
        code = str(example.country_code)
        out += [e164, f"+{code} {national}", f"+{code}-{national[:3]}-{national[3:]}", national]
        out += [f"0{national}", f"{code}{national}", f"00{code}{national}", e164[:-1], e164 + "9"]
    return out


@pytest.mark.parametrize("region", REGIONS)
def test_the_plain_number_shortcut_agrees_with_phonenumbers(region: str) -> None:
    texts = _spellings(region)
    rng = random.Random(region)
    for text in list(texts):
        digits = [c for c in text]
        for _ in range(5):
            position = rng.randrange(1, len(digits))
            if digits[position].isdigit():
                digits[position] = str(rng.randrange(10))
            texts.append("".join(digits))
    fast = 0
    for text in texts:
        shortcut = _plain_valid_number(text, region)
        if shortcut is not None:
            fast += 1
            assert shortcut == _phonenumbers_answer(text, region), (text, region)
    # Regions sharing a code without being its main region (RU, KZ, CA, IM) always parse.
    assert fast > 0 or _rules(region) is None


@given(st.sampled_from(REGIONS), st.from_regex(r"\+?[0-9]{4,17}", fullmatch=True))
@settings(max_examples=300, deadline=None)
def test_the_shortcut_never_accepts_what_phonenumbers_refuses(region: str, text: str) -> None:
    shortcut = _plain_valid_number(text, region)
    if shortcut is not None:
        assert shortcut == _phonenumbers_answer(text, region)


def test_a_checked_number_is_remembered_with_its_reason() -> None:
    with pytest.raises(ContactError) as first:
        normalise_phone("+86 1", "CN")
    with pytest.raises(ContactError) as again:
        normalise_phone("+86 1", "CN")
    assert str(first.value) == str(again.value)
    assert normalise_phone(" +86 138-1234-5678 ", "CN") == "+8613812345678"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("020 8877 6655", "CN", ("+862088776655", True)),  # a Guangzhou fixed line
        ("138 0013 8000", "CN", ("+8613800138000", False)),  # a mobile
        ("+1 650 253 0000", "US", ("+16502530000", False)),  # fixed line or mobile: not sure
    ],
)
def test_phone_contact_tells_a_landline(raw: str, region: str, expected: tuple[str, bool]) -> None:
    assert phone_contact(raw, region) == expected
