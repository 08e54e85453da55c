from __future__ import annotations

import pytest
from email_validator import validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from outage_notify.contacts import (
    ContactError,
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
