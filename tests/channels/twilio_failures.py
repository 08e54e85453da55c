"""The shared failure table (timeout, connection error, 4xx, 5xx, 429) as Twilio's API gives
it, replayed by each Twilio channel's tests (SMS, voice) against its own endpoint."""

from __future__ import annotations

from typing import Any

import pytest
import requests


def twilio_error(status: int, code: int, text: str = "error") -> dict[str, object]:
    """The JSON body of a Twilio API error."""
    return {"status": status, "code": code, "message": text, "more_info": "https://x"}


def failure_table(rejected: int) -> list[Any]:
    """``(answer, permanent, code)`` rows: ``answer`` is what ``responses.post`` is given for
    the channel's endpoint; ``rejected`` the Twilio code of the channel's 4xx (a bad number)."""
    return [
        pytest.param(
            {"body": requests.exceptions.ReadTimeout("slow")}, False, "timeout", id="timeout"
        ),
        pytest.param(
            {"body": requests.exceptions.ConnectionError("refused")},
            False,
            "connection",
            id="connection error",
        ),
        pytest.param(
            {"json": twilio_error(400, rejected), "status": 400}, True, str(rejected), id="4xx"
        ),
        pytest.param({"body": "Service Unavailable", "status": 503}, False, "503", id="5xx"),
        pytest.param({"json": twilio_error(429, 20429), "status": 429}, False, "20429", id="429"),
    ]
