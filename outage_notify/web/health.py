"""``GET /healthz``: is the database reachable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from outage_notify.db import Database
from outage_notify.web import deps

router = APIRouter()


@router.get("/healthz")
def healthz(database: Annotated[Database, Depends(deps.database)]) -> JSONResponse:
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    try:
        with database.read() as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except SQLAlchemyError as exc:
        body = {"status": "error", "database": type(exc).__name__}
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)
