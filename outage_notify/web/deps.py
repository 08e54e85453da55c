"""What route handlers need, taken from the app's state (set by ``create_app``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request

from outage_notify.db import Database
from outage_notify.settings import Settings


def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


def database(request: Request) -> Database:
    value: Database = request.app.state.database
    return value


def now(request: Request) -> datetime:
    value: datetime = request.app.state.clock()
    return value
