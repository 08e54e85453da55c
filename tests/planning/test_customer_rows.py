from __future__ import annotations

import pytest

from outage_notify.planning.customer_rows import COLUMNS, CustomerRow, RowRules, check_row

RULES = RowRules(
    region="CN", default_language="zh-CN", water_areas={"W01", "W02"}, gas_areas={"G01"}
)


def row(**values: str) -> dict[str, str]:
    base = {column: "" for column in COLUMNS}
    base.update(account_id="A1", phone="13800138000")
    base.update(values)
    return base


def valid(**values: str) -> CustomerRow:
    outcome = check_row(row(**values), RULES)
    assert isinstance(outcome, CustomerRow), outcome
    return outcome


BAD_ROWS = [
    ("no account", {"account_id": "  "}, "account_id is empty"),
    ("long account", {"account_id": "A" * 65}, "account_id is longer than 64 characters"),
    ("long name", {"name": "n" * 201}, "name is longer than 200 characters"),
    ("long address", {"address": "a" * 501}, "address is longer than 500 characters"),
    ("no contact", {"phone": ""}, "needs a phone or an email"),
    ("short phone", {"phone": "123"}, "phone is not a valid phone number for region CN"),
    ("letters for phone", {"phone": "call me"}, "phone is not a phone number"),
    ("bad country code", {"phone": "+999 1234"}, "phone is not a phone number (unknown country"),
    ("email without @", {"email": "li.example.org"}, "email is not a valid email address"),
    ("email without domain dot", {"email": "li@localhost"}, "email is not a valid email address"),
    ("unshipped language", {"language": "fr"}, "language 'fr' is not one we ship (zh-CN, en)"),
    ("latitude alone", {"latitude": "31.2"}, "latitude and longitude go together"),
    ("not a number", {"latitude": "north", "longitude": "121"}, "are not numbers"),
    ("not finite", {"latitude": "nan", "longitude": "121"}, "must be finite numbers"),
    ("swapped", {"latitude": "121.4", "longitude": "31.2"}, "are latitude and longitude swapped?"),
    ("out of range", {"latitude": "95", "longitude": "200"}, "out of range (-90..90 / -180..180)"),
    ("unknown water area", {"water_area": "W09"}, "water_area 'W09' is not a known area"),
    ("gas area as water", {"water_area": "G01"}, "water_area 'G01' is a gas area"),
    ("water area as gas", {"gas_area": "W01"}, "gas_area 'W01' is a water area"),
    (
        "unknown channel",
        {"channels": "sms;fax"},
        "channels 'sms;fax': use sms, email, voice, separated by ;",
    ),
    ("control character", {"name": "Li\x00"}, "name contains a control character"),
    ("critical not a flag", {"critical": "maybe"}, "critical 'maybe' is not true or false"),
]


@pytest.mark.parametrize(("case", "values", "reason"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_bad_row_gives_its_reason(case: str, values: dict[str, str], reason: str) -> None:
    outcome = check_row(row(**values), RULES)
    assert isinstance(outcome, list)
    assert any(reason in problem for problem in outcome), outcome


def test_reasons_never_repeat_a_contact_address() -> None:
    outcome = check_row(row(phone="+86 999", email="secret@@x"), RULES)
    assert isinstance(outcome, list)
    assert not any("999" in p or "secret" in p for p in outcome)


def test_every_problem_of_a_row_is_reported() -> None:
    outcome = check_row(row(language="fr", critical="maybe", water_area="X"), RULES)
    assert isinstance(outcome, list)
    assert len(outcome) == 3


@pytest.mark.parametrize(
    ("values", "field", "expected"),
    [
        ({"phone": "138 0013 8000"}, "phone", "+8613800138000"),
        ({"phone": "+86-138-0013-8000"}, "phone", "+8613800138000"),
        ({"email": " Li.Wei@Example.ORG "}, "email", "li.wei@example.org"),
        ({"language": ""}, "language", "zh-CN"),
        ({"language": "EN"}, "language", "en"),
        ({"language": "zh_cn"}, "language", "zh-CN"),
        ({"channels": "email;SMS", "email": "a@example.org"}, "channels", "sms;email"),
        ({"channels": " sms "}, "channels", "sms"),
        ({"critical": "TRUE"}, "critical", True),
        ({"critical": "yes"}, "critical", True),
        ({"critical": "0"}, "critical", False),
        ({"critical": ""}, "critical", False),
        ({"latitude": " 31.25 ", "longitude": "121.45"}, "latitude", 31.25),
        ({"water_area": " W01 "}, "water_area", "W01"),
        ({"name": "  王 芳  "}, "name", "王 芳"),
    ],
)
def test_values_are_normalised(values: dict[str, str], field: str, expected: object) -> None:
    assert getattr(valid(**values), field) == expected


def test_phone_of_another_region_needs_its_country_code() -> None:
    assert valid(phone="+1 415 555 2671").phone == "+14155552671"


def test_the_digest_follows_the_normalised_values() -> None:
    assert valid(phone="138 0013 8000").row_hash == valid(phone="+8613800138000").row_hash
    assert valid(name="a").row_hash != valid(name="b").row_hash
    assert valid(critical="true").row_hash != valid(critical="false").row_hash


def test_service_node_is_kept_and_leaves_the_digest_of_rows_without_it_alone() -> None:
    from outage_notify.planning.customer_rows import row_digest

    plain = valid()
    assert plain.service_node is None
    assert plain.row_hash == row_digest(tuple(plain[:12]))  # as before the column existed
    fed = valid(service_node="J-1024")
    assert fed.service_node == "J-1024"
    assert fed.row_hash != plain.row_hash
