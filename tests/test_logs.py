from __future__ import annotations

import json
import logging

from outage_notify.logs import JsonFormatter, TextFormatter


def _record(**extra: object) -> logging.LogRecord:
    fields = {"name": "outage_notify.delivery.dispatcher", "levelname": "INFO", "levelno": 20}
    record = logging.makeLogRecord({**fields, "msg": "delivery sent %s", "args": ("ok",)})
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_lines_carry_the_extra_fields() -> None:
    line = JsonFormatter().format(_record(delivery_id=7, recipient="customer:12"))
    entry = json.loads(line)
    assert entry["message"] == "delivery sent ok"
    assert (entry["delivery_id"], entry["recipient"], entry["level"]) == (7, "customer:12", "info")


def test_text_lines_show_the_extra_fields() -> None:
    line = TextFormatter().format(_record(delivery_id=7))
    assert line == "info    outage_notify.delivery.dispatcher: delivery sent ok [delivery_id=7]"
