from __future__ import annotations

import logging

import pytest

from outage_notify.web.public_url import insecure_public_url, warn_if_insecure


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("https://outages.example.org", False),
        ("https://outages.example.org:8443/city", False),
        ("http://127.0.0.1:8080", False),
        ("http://127.8.9.1", False),
        ("http://[::1]:8080", False),
        ("http://localhost:8080", False),
        ("http://demo.localhost", False),
        ("http://outages.example.org", True),
        ("http://10.0.0.5:8080", True),  # private, not loopback: Twilio cannot call it anyway
        ("http://0.0.0.0:8080", True),
    ],
)
def test_plain_http_is_warned_about_unless_loopback(url: str, warned: bool) -> None:
    assert (insecure_public_url(url) is not None) is warned


def test_the_warning_is_logged_once_at_start_up(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    warn_if_insecure("http://outages.example.org")
    [record] = caplog.records
    assert "is not https" in record.getMessage()
    assert "RFC 8058" in record.getMessage()
