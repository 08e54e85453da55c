"""``outages list`` reads the outage table through SQLAlchemy Core (planning/outage_list.py):
its columns must be the model's, and a row must read as the model does."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from outage_notify.db import Database, UTCDateTime
from outage_notify.models import Outage
from outage_notify.planning.outage_list import OUTAGE, describe_outage, outage_rows
from outage_notify.planning.outage_views import list_outages
from tests.factories import T0, add_outage

ZONE = ZoneInfo("Asia/Shanghai")


def test_the_core_columns_are_the_models() -> None:
    model = Outage.__table__.columns  # type: ignore[attr-defined]
    for column in OUTAGE.columns:
        assert column.name in model, column.name
        affinity = model[column.name].type._type_affinity  # String, Integer, DateTime, JSON...
        assert column.type._type_affinity is affinity, column.name
        if isinstance(model[column.name].type, UTCDateTime):  # aware UTC in and out
            assert isinstance(column.type, UTCDateTime), column.name


def test_a_row_reads_as_the_model_does(db: Database) -> None:
    with db.session() as session:
        add_outage(session, codes=["W1", "W2"], start=T0 + timedelta(days=3))
        gas = add_outage(session, utility="gas", codes=["G1"], start=T0 + timedelta(days=1))
        gas.ref, gas.short_notice, gas.restored_at = "WO-7", True, T0 + timedelta(days=2)
    with db.read() as session:
        models = [describe_outage(o, ZONE) for o in list_outages(session)]
    with db.read_connection() as connection:
        rows = [describe_outage(r, ZONE) for r in outage_rows(connection)]
        gas_only = outage_rows(connection, utility="gas", status="planned")
    assert rows == models
    assert [r["utility"] for r in rows] == ["gas", "water"]  # by start time
    assert rows[0]["restored_at"] == (T0 + timedelta(days=2)).astimezone(ZONE).isoformat()
    assert [r.ref for r in gas_only] == ["WO-7"]
