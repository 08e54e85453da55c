from __future__ import annotations

import pytest

from outage_notify.contacts import ContactError, normalise_email, normalise_phone


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
