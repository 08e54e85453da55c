"""The REST API against its own OpenAPI document, with schemathesis: a bounded run.

Every answer must be one the document lists for that operation, with the documented media type
(errors: ``application/problem+json``) and body schema; nothing may be a 500. The document's
own examples are sent first, at today's date on the app's clock, so an example that plans
work in the past fails here. (Hypothesis drives the cases directly: schemathesis's pytest
plugin does not run under this pytest.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from outage_notify.db import Database, utcnow
from outage_notify.settings import Settings
from outage_notify.web.app import create_app
from tests.web.factory import City, add_area
from tests.web.test_api import AUTH

MAX_EXAMPLES = 20  # per operation: a bounded run


def operations(settings: Settings, db: Database) -> tuple[Any, list[Any]]:
    with db.session() as session:  # the areas the document's examples name
        for code, utility in (("W01", "water"), ("W02", "water"), ("G03", "gas")):
            add_area(session, code, utility=utility)
    app = create_app(settings, db, clock=utcnow)  # today: the examples must plan ahead of it
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/api/")
    return schema, [result.ok() for result in schema.get_all_operations()]


def run(strategy: Any, examples: int, *, excluded: list[Any] | None = None) -> None:
    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        case.call_and_validate(headers=AUTH, excluded_checks=excluded)

    check()


@pytest.mark.slow
def test_the_documents_examples_are_answered_as_documented(
    settings: Settings, db: Database, city: City
) -> None:
    schema, found = operations(settings, db)
    assert len(found) == 4
    for operation in found:
        strategies = schema.get_strategies_from_examples(operation)
        if strategies:
            run(st.one_of(strategies), 10 * len(strategies))


@pytest.mark.slow
def test_generated_requests_are_answered_as_documented(
    settings: Settings, db: Database, city: City
) -> None:
    _schema, found = operations(settings, db)
    for operation in found:
        # Generated data fits the schema but rarely the city (its areas, enough notice): a
        # 422 for it is right. The examples above must be accepted.
        run(operation.as_strategy(), MAX_EXAMPLES, excluded=[positive_data_acceptance])
