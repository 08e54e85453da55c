"""The sign-up secrets: signed links and numbers, and the code stored with its tries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from outage_notify.errors import InputError
from outage_notify.residents.subscription_secrets import (
    email_token,
    new_code,
    nonce_hash,
    number_token,
    parse_stored_code,
    read_email_token,
    read_number_token,
    stored_code,
)
from outage_notify.settings import Settings

KEY = Settings.model_validate({"web": {"secret_key": "one-key"}})
OTHER_KEY = Settings.model_validate({"web": {"secret_key": "another-key"}})
DAY = timedelta(days=1)


def test_an_email_token_round_trips_and_names_its_address() -> None:
    token = email_token(KEY, "r@example.net", "nonce-1")
    assert read_email_token(KEY, token, DAY) == ("r@example.net", "nonce-1")
    assert "nonce-1" not in nonce_hash("nonce-1")


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        email_token(OTHER_KEY, "r@example.net", "n"),  # signed with another key
        number_token(KEY, "+8613800138000"),  # signed for another purpose
    ],
)
def test_a_foreign_email_token_is_refused(token: str) -> None:
    with pytest.raises(InputError, match="not valid"):
        read_email_token(KEY, token, DAY)


def test_an_old_email_token_has_expired() -> None:
    token = email_token(KEY, "r@example.net", "n")
    with pytest.raises(InputError, match="expired"):
        read_email_token(KEY, token, timedelta(seconds=-1))


def test_a_number_token_round_trips_and_only_for_numbers() -> None:
    assert read_number_token(KEY, number_token(KEY, "+8613800138000"), DAY) == "+8613800138000"
    with pytest.raises(InputError):
        read_number_token(KEY, email_token(KEY, "r@example.net", "n"), DAY)


def test_codes_are_six_digits() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150


def test_a_stored_code_counts_its_tries_and_checks_number_and_code() -> None:
    stored = stored_code(KEY, "+8613800138000", "123456")
    text = str(stored)
    assert text.startswith("hmac-sha256$0$")
    assert "123456" not in text
    parsed = parse_stored_code(text)
    assert parsed == stored
    assert parsed.matches(KEY, "+8613800138000", "123456")
    assert not parsed.matches(KEY, "+8613800138000", "123457")
    assert not parsed.matches(KEY, "+8613900139000", "123456")  # another number's code
    assert not parsed.matches(OTHER_KEY, "+8613800138000", "123456")
    twice = parse_stored_code(str(parsed.failed_once_more().failed_once_more()))
    assert twice is not None
    assert (twice.failed, twice.digest) == (2, stored.digest)


@pytest.mark.parametrize(
    "value", [None, "", nonce_hash("n"), "hmac-sha256$x$abc", "hmac-sha256$1$", "md5$1$abc"]
)
def test_what_is_no_stored_code(value: str | None) -> None:
    assert parse_stored_code(value) is None
