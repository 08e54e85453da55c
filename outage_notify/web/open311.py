"""Open311 GeoReport v2 (JSON): ``/open311/v2/services.json``, ``/open311/v2/requests.json``
(GET, and POST with ``api_key``) and ``/open311/v2/requests/{id}.json``.

So the city's 311 system and the hotline desk can read the "still no water" reports and file
them (a caller on the phone), and see planned outages as read-only service notices. GETs are
public, like the feeds (CORS ``*``, no personal data). A POST needs ``web.open311_api_key``
(compared in constant time; empty: POST is off) and is form-encoded, as the spec says. Errors
are the spec's array of ``{"code", "description"}``. ``jurisdiction_id`` is accepted and
ignored: one deployment serves one jurisdiction. XML is not offered.
"""

from __future__ import annotations

import hmac
import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel import select

from outage_notify.contacts import ContactError, normalise_phone
from outage_notify.db import Database
from outage_notify.errors import InputError
from outage_notify.models import Customer
from outage_notify.plain_text import CONTROL_CHARACTERS, has_control_characters
from outage_notify.planning.lookup import MAX_ACCOUNT, account_areas, parse_point, point_areas
from outage_notify.publishing import open311
from outage_notify.residents import nowater
from outage_notify.settings import Settings
from outage_notify.times import parse_time
from outage_notify.web import deps
from outage_notify.web.language import page_language
from outage_notify.web.published import Published, published

router = APIRouter(prefix="/open311/v2", tags=["open311"])

SettingsDep = Annotated[Settings, Depends(deps.settings)]
DatabaseDep = Annotated[Database, Depends(deps.database)]
NowDep = Annotated[datetime, Depends(deps.now)]
PublishedDep = Annotated[Published, Depends(published)]
FormText = Annotated[str | None, Form()]
CORS = {"Access-Control-Allow-Origin": "*"}
_REQUEST_ID = re.compile(r"(nowater|outage)-\d{1,18}")


def _errors(status: int, *descriptions: str) -> JSONResponse:
    body = [{"code": status, "description": d} for d in descriptions]
    return JSONResponse(body, status_code=status, headers=CORS)


def _time(value: str | None, name: str, settings: Settings) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value, settings.zone)
    except (InputError, ValueError):
        raise InputError(f"{name} is not an ISO 8601 time") from None


@router.get("/services.json", summary="Open311 service list")
def services(request: Request, settings: SettingsDep) -> JSONResponse:
    return JSONResponse(open311.services(settings, page_language(request, settings)), headers=CORS)


def _query(
    settings: Settings,
    ids: str | None,
    service_code: str | None,
    status: str | None,
    start_date: str | None,
    end_date: str | None,
) -> open311.RequestQuery:
    wanted = tuple(i.strip() for i in (ids or "").split(",") if i.strip())
    bad = [i for i in wanted if not _REQUEST_ID.fullmatch(i)]
    if bad:
        raise InputError(f"unknown service_request_id {bad[0][:40]!r}")
    codes = tuple(c.strip() for c in (service_code or "").split(",") if c.strip())
    unknown = [c for c in codes if c not in (open311.NOWATER, open311.PLANNED_OUTAGE)]
    if unknown:
        raise InputError(f"unknown service_code {unknown[0][:40]!r}")
    if status not in (None, "", "open", "closed"):
        raise InputError("status must be open or closed")
    return open311.RequestQuery(
        ids=wanted,
        service_codes=codes,
        status=status or None,
        start=_time(start_date, "start_date", settings),
        end=_time(end_date, "end_date", settings),
    )


@router.get("/requests.json", summary="Open311 service requests")
def list_requests(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    site: PublishedDep,
    service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
    service_code: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    start_date: Annotated[str | None, Query(max_length=64)] = None,
    end_date: Annotated[str | None, Query(max_length=64)] = None,
    jurisdiction_id: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    try:
        query = _query(settings, service_request_id, service_code, status, start_date, end_date)
    except InputError as error:
        return _errors(400, str(error))
    return JSONResponse(_found(request, settings, database, site, query), headers=CORS)


@router.get("/requests/{request_id}.json", summary="One Open311 service request")
def one_request(
    request: Request,
    request_id: str,
    settings: SettingsDep,
    database: DatabaseDep,
    site: PublishedDep,
) -> JSONResponse:
    if not _REQUEST_ID.fullmatch(request_id):
        return _errors(404, f"no service request {request_id[:40]!r}")
    found = _found(request, settings, database, site, open311.RequestQuery(ids=(request_id,)))
    if not found:
        return _errors(404, f"no service request {request_id!r}")
    return JSONResponse(found, headers=CORS)


def _found(
    request: Request,
    settings: Settings,
    database: Database,
    site: Published,
    query: open311.RequestQuery,
) -> list[dict[str, Any]]:
    view = site.view()
    language = page_language(request, settings)
    with database.read() as session:
        return open311.requests(session, settings, view.snapshot.outages, query, language, view.now)


@router.post("/requests.json", summary="File an Open311 service request", status_code=201)
def create_request(
    settings: SettingsDep,
    database: DatabaseDep,
    now: NowDep,
    api_key: FormText = None,
    service_code: FormText = None,
    lat: FormText = None,
    long: FormText = None,
    account_id: FormText = None,
    phone: FormText = None,
    description: FormText = None,
    jurisdiction_id: FormText = None,
) -> JSONResponse:
    expected = settings.web.open311_api_key.get_secret_value()
    if not expected:
        return _errors(403, "filing requests is not enabled here (web.open311_api_key)")
    if not api_key or not hmac.compare_digest(api_key.encode(), expected.encode()):
        return _errors(403, "api_key is missing or wrong")
    if not service_code:
        return _errors(400, "service_code is required")
    if service_code == open311.PLANNED_OUTAGE:
        return _errors(400, "planned_outage is read-only: planned outages are service notices")
    if service_code != open311.NOWATER:
        return _errors(404, f"unknown service_code {service_code[:40]!r}")
    account = (account_id or "").strip()[: MAX_ACCOUNT + 1]
    with database.session() as session:
        if lat is not None or long is not None:
            try:
                codes = point_areas(session, parse_point(lat, long))
            except InputError as error:
                return _errors(400, str(error))
        elif account:
            codes = account_areas(session, account)
        else:
            return _errors(400, "give lat and long, or account_id")
        found = nowater.restored_outage(session, settings, codes, now)
        if found is None:
            hours = int(settings.nowater.window.total_seconds() // 3600)
            return _errors(
                400,
                f"no water outage was restored in the last {hours} hours in this location's "
                "areas: there is nothing to tie the report to",
            )
        outage, area = found
        customer = (
            session.exec(select(Customer).where(Customer.account_id == account)).first()
            if codes and account and not has_control_characters(account)
            else None
        )
        filed = nowater.file_report(
            session,
            settings,
            outage=outage,
            area_code=area,
            reporter=_reporter(settings, customer, phone),
            customer_id=customer.id if customer else None,
            source="open311",
            now=now,
            detail=CONTROL_CHARACTERS.sub("", description or "")[:500],
        )
        request_id = f"nowater-{filed.report.id}"
        notice = f"Tied to outage {outage.id} ({outage.title}), area {area}" + (
            "" if filed.counted else "; this premise had reported it already"
        )
    nowater.send_alerts(database, settings, now)
    body = [{"service_request_id": request_id, "service_notice": notice, "account_id": None}]
    return JSONResponse(body, status_code=201, headers=CORS)


def _reporter(settings: Settings, customer: Customer | None, phone: str | None) -> str:
    if customer is not None:
        return f"customer:{customer.id}"
    if phone:
        try:
            return nowater.phone_reporter(normalise_phone(phone[:40], settings.default_region))
        except ContactError:
            pass
    return f"open311:{uuid.uuid4().hex[:16]}"  # a caller the desk did not identify
