"""A local fake of Twilio's Messages API, for tests, benchmarks and crash tests.

It speaks enough of the REST API for the real ``twilio`` client: ``POST .../Messages.json``
(form fields recorded exactly, basic auth checked, a Twilio-shaped JSON body with a fresh
``SM...`` SID), ``GET .../Messages.json?To=&DateSent>=`` and ``GET .../Messages/{sid}.json``.
As at Twilio, an accepted message may stay queued (``hold_queued``, ``queue_seconds``): it has
no ``date_sent`` yet, so a list filtered on ``DateSent`` leaves it out.
It answers the Calls API too (``POST .../Calls.json``, ``GET .../Calls.json?To=``,
``GET .../Calls/{sid}.json``); how a call to a number ends is scripted with
``fake.answer(to, "machine")`` and :meth:`FakeTwilio.call_events` gives the signed status
callbacks of its life (posted by the fake itself when ``callback_base`` is set).
Faults are scriptable (a share of 429s with ``Retry-After``, a 5xx storm for a number of
requests or some seconds, a Twilio error code for one number, a delay), and every request is
recorded with its arrival time on the monotonic clock, so a test can measure the send rate.

In-process::

    with FakeTwilio() as fake:                   # or the ``fake_twilio`` pytest fixture
        fake.fail_number("+8613800000000", 21211)
        ...  # TwilioSMS(api_base_url=fake.url, account_sid=fake.account_sid, ...)
        assert fake.accepted_count("+8613900000000") == 1

As a process (benchmarks, tests that kill the sender)::

    python -m tests.fake_twilio --port 8765

then script it over HTTP: ``POST /_fake/script`` with a JSON object of faults (the keyword
arguments of :meth:`FaultScript.script`), ``POST /_fake/release`` (hand held messages to the
carrier), ``POST /_fake/reset``, ``GET /_fake/stats`` (accepted
messages per recipient) and ``GET /_fake/requests`` (every request with its arrival time).
"""

from __future__ import annotations

from tests.fake_twilio.calls import CallStore
from tests.fake_twilio.faults import FaultScript
from tests.fake_twilio.messages import MessageStore
from tests.fake_twilio.server import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
    RecordedRequest,
    running,
)

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "CallStore",
    "FakeTwilio",
    "FaultScript",
    "MessageStore",
    "RecordedRequest",
    "running",
]
