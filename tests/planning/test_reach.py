"""Which channels a customer is reached on when its preference names a contact it lacks."""

from __future__ import annotations

import pytest

from outage_notify.planning.reach import Reach, reach

PHONE, EMAIL = "+8613800000001", "a@example.org"


@pytest.mark.parametrize(
    ("chosen", "phone", "email", "expected"),
    [
        ("", PHONE, EMAIL, Reach(("sms", "email"))),
        ("", None, EMAIL, Reach(("email",))),
        ("sms;email", PHONE, EMAIL, Reach(("sms", "email"))),
        ("email", PHONE, EMAIL, Reach(("email",))),
        # drift: the rest of the chosen channels
        ("sms;email", PHONE, None, Reach(("sms",), missing=("email",))),
        ("sms;email", None, EMAIL, Reach(("email",), missing=("sms",))),
        # none of the chosen has a contact: every channel it has a contact for
        ("email", PHONE, None, Reach(("sms",), missing=("email",), fallback=True)),
        ("sms", None, EMAIL, Reach(("email",), missing=("sms",), fallback=True)),
        # no contact at all (not importable, but rows can lose one): nothing to fall back to
        ("sms", None, None, Reach((), missing=("sms",))),
    ],
)
def test_the_channels_a_customer_is_reached_on(
    chosen: str, phone: str | None, email: str | None, expected: Reach
) -> None:
    assert reach(chosen, {"sms": phone, "email": email}) == expected
