"""The REST API for work-management systems: ``/api/outages`` (see docs/api.md).

Every endpoint, reads included, needs ``Authorization: Bearer <web.api_token>``: the API shows
work-order numbers and who planned what, which the public feeds leave out. While the token is
empty the API is off (403 saying so). Changes go through the planning library, the very
functions the CLI calls, so validation, revisions, notices and the audit log are the same;
the audit names the actor ``api:<X-Actor>``.

PATCH takes an ``action`` (reschedule, extend, cancel, restore, edit) rather than a merge of
fields: a new ``end`` alone could mean an extension or a reschedule, which send different
notices, so the client says which it means.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, col, select

from outage_notify.db import Database
from outage_notify.errors import ConflictError, InputError, NotFoundError
from outage_notify.models import Outage, OutageRevision
from outage_notify.notices.texts import outage_url
from outage_notify.planning import outage_views as views
from outage_notify.planning import outages
from outage_notify.planning.outage_refs import by_ref, differing
from outage_notify.planning.outage_views import (
    describe_outage,
    list_outages,
)
from outage_notify.planning.outages import OutageDraft
from outage_notify.settings import Settings
from outage_notify.web import deps
from outage_notify.web.api_errors import ApiError, domain_error
from outage_notify.web.api_models import (
    CHANGE_EXAMPLES,
    CREATE_EXAMPLES,
    DETAIL_EXAMPLE,
    OUTAGE_EXAMPLE,
    Cancel,
    Edit,
    Extend,
    OutageChange,
    OutageCreate,
    OutageDetail,
    OutageList,
    Reschedule,
    Restore,
    error_responses,
    read_times,
)

SettingsDep = Annotated[Settings, Depends(deps.settings)]
DatabaseDep = Annotated[Database, Depends(deps.database)]
NowDep = Annotated[datetime, Depends(deps.now)]

ACTOR_MAX = 60  # the audit's actor column holds 64, and "api:" comes first
MAX_ID = 2**31 - 1
LIST_EXAMPLE = {"total": 1, "outages": [OUTAGE_EXAMPLE]}
bearer = HTTPBearer(auto_error=False, description="The value of web.api_token.")


def auth_failure(settings: Settings, authorization: str | None) -> ApiError | None:
    """Why the request may not use the API (None: it may)."""
    expected = settings.web.api_token.get_secret_value()
    if not expected:
        return ApiError(403, "the REST API is disabled: set web.api_token to enable it")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ApiError(
            401,
            "send the API token as Authorization: Bearer <web.api_token>",
            headers={"WWW-Authenticate": 'Bearer realm="outage-notify"'},
        )
    # Constant time, so the response time does not tell how much of a guess was right.
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return ApiError(
            401,
            "the bearer token is not valid",
            headers={"WWW-Authenticate": 'Bearer realm="outage-notify", error="invalid_token"'},
        )
    return None


def require_token(
    request: Request,
    settings: SettingsDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    failure = auth_failure(settings, request.headers.get("authorization"))
    if failure is not None:
        raise failure


def api_actor(
    x_actor: Annotated[
        str | None,
        Header(
            alias="X-Actor",
            description="Who makes the change (the system or person), for the audit log: "
            "recorded as api:<X-Actor>.",
            examples=["maximo"],
        ),
    ] = None,
) -> str:
    name = (x_actor or "").strip()
    if not name:
        raise ApiError(422, "say who makes the change", [("X-Actor", "the header is missing")])
    if len(name) > ACTOR_MAX or not name.isprintable():
        raise ApiError(
            422,
            "say who makes the change",
            [("X-Actor", f"1-{ACTOR_MAX} printable characters")],
        )
    return f"api:{name}"


ActorDep = Annotated[str, Depends(api_actor)]

router = APIRouter(
    prefix="/api",
    tags=["outages"],
    dependencies=[Depends(require_token)],
    responses=error_responses(401, 403),
)


@contextmanager
def translated() -> Iterator[None]:
    """Domain errors as API errors: 404, 409 or 422 with the problems by field."""
    try:
        yield
    except (NotFoundError, ConflictError, InputError) as exc:
        raise domain_error(exc) from None


def outage_detail(session: Session, outage: Outage, settings: Settings) -> dict[str, Any]:
    assert outage.id is not None
    return views.outage_detail(
        session, outage, settings.zone, extra={"url": outage_url(settings, outage.id)}
    )


def find_outage(session: Session, outage_id: int) -> Outage:
    outage = session.get(Outage, outage_id) if 1 <= outage_id <= MAX_ID else None
    if outage is None:
        raise ApiError(404, f"there is no outage #{outage_id}")
    return outage


@router.get(
    "/outages",
    operation_id="listOutages",
    response_model=OutageList,
    summary="List outages",
    description="By start time, oldest first. Filters combine; `limit` and `offset` page.",
    responses={
        200: {"content": {"application/json": {"example": LIST_EXAMPLE}}},
        **error_responses(422),
    },
)
def list_api(
    settings: SettingsDep,
    database: DatabaseDep,
    status: Annotated[Literal["review", "planned", "cancelled", "restored"] | None, Query()] = None,
    utility: Annotated[Literal["water", "gas"] | None, Query()] = None,
    ref: Annotated[str | None, Query(max_length=64, description="The work order number.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    with database.read() as session:
        rows = list_outages(session, status=status, utility=utility)
    if ref is not None:
        rows = [o for o in rows if o.ref == ref.strip()]
    zone = settings.zone
    return {
        "total": len(rows),
        "outages": [describe_outage(o, zone) for o in rows[offset : offset + limit]],
    }


@router.get(
    "/outages/{outage_id}",
    operation_id="getOutage",
    response_model=OutageDetail,
    summary="One outage, with its revisions and notices",
    responses={
        200: {"content": {"application/json": {"example": DETAIL_EXAMPLE}}},
        **error_responses(404),
    },
)
def get_api(outage_id: int, settings: SettingsDep, database: DatabaseDep) -> dict[str, Any]:
    with database.read() as session:
        return outage_detail(session, find_outage(session, outage_id), settings)


@router.post(
    "/outages",
    operation_id="createOutage",
    response_model=OutageDetail,
    status_code=201,
    summary="Plan an outage",
    description="Checks as `outage-notify outages add` does; its notices are scheduled at "
    "once. 201 with `Location`; 200 when an identical request with the same `ref` already "
    "made it (a retry), 409 when the `ref`'s outage was made with other values.",
    responses={
        200: {"description": "The outage an identical earlier request (same ref) made."},
        201: {"content": {"application/json": {"example": DETAIL_EXAMPLE}}},
        **error_responses(409, 422),
    },
)
def create_api(
    body: Annotated[OutageCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    response: Response,
    settings: SettingsDep,
    database: DatabaseDep,
    now: NowDep,
    actor: ActorDep,
) -> dict[str, Any]:
    with translated():
        draft = body.draft(settings.zone)
    ref = (draft.ref or "").strip()
    try:
        with translated(), database.session() as session:
            # A ref with a control character is nobody's (by_ref): the checks refuse it.
            existing = by_ref(session, ref)
            if existing is None:
                outage = outages.plan_outage(
                    session,
                    draft,
                    settings=settings,
                    now=now,
                    actor=actor,
                    short_notice=body.short_notice,
                    long_shutoff=body.long_shutoff,
                )
                response.status_code = 201
                response.headers["Location"] = f"/api/outages/{outage.id}"
            else:
                outage = _same_request(session, existing, draft, settings)
                response.status_code = 200
            return outage_detail(session, outage, settings)
    except ApiError as error:
        if not ref or error.status_code != 409 or "ref" not in error.fields():
            raise
    # Another request planned this ref between our look-up and our insert: answer as a
    # retry would be answered.
    with translated(), database.read() as session:
        existing = by_ref(session, ref)
        if existing is None:
            raise ApiError(409, f"ref {ref} is being used by a request under way: try again")
        outage = _same_request(session, existing, draft, settings)
        response.status_code = 200
        return outage_detail(session, outage, settings)


def _same_request(
    session: Session, outage: Outage, draft: OutageDraft, settings: Settings
) -> Outage:
    """The outage, when ``draft`` is what planned it (revision 1); else 409 naming the fields.

    Compared with revision 1, so a retry still matches after the outage was changed.
    """
    first = session.exec(
        select(OutageRevision)
        .where(OutageRevision.outage_id == outage.id)
        .order_by(col(OutageRevision.revision))
    ).first()
    assert first is not None
    differ = differing(outage, draft, first)
    if differ:
        raise ApiError(
            409,
            f"ref {outage.ref} is outage #{outage.id}, planned with other values: use PATCH "
            f"/api/outages/{outage.id} to change it, or another ref for other work",
            [(name, f"differs from outage #{outage.id} as planned") for name in differ],
        )
    return outage


@router.patch(
    "/outages/{outage_id}",
    operation_id="changeOutage",
    response_model=OutageDetail,
    summary="Change an outage: reschedule, extend, cancel, restore or edit",
    description="The body's `action` says which change; each is one new revision with its "
    "notices, as the CLI's `outages reschedule|extend|cancel|restore` make.",
    responses={
        200: {"content": {"application/json": {"example": DETAIL_EXAMPLE}}},
        **error_responses(404, 409, 422),
    },
)
def change_api(
    outage_id: int,
    body: Annotated[OutageChange, Body(openapi_examples=CHANGE_EXAMPLES)],
    settings: SettingsDep,
    database: DatabaseDep,
    now: NowDep,
    actor: ActorDep,
) -> dict[str, Any]:
    with translated(), database.session() as session:
        find_outage(session, outage_id)
        outage = _apply(session, outage_id, body, settings=settings, now=now, actor=actor)
        return outage_detail(session, outage, settings)


def _apply(
    session: Session,
    outage_id: int,
    body: Reschedule | Extend | Cancel | Restore | Edit,
    *,
    settings: Settings,
    now: datetime,
    actor: str,
) -> Outage:
    zone = settings.zone
    common: dict[str, Any] = {"settings": settings, "now": now, "actor": actor}
    if isinstance(body, Reschedule):
        times = read_times(zone, start=body.start, end=body.end)
        return outages.reschedule(
            session,
            outage_id,
            start=times["start"],
            end=times["end"],
            short_notice=body.short_notice,
            long_shutoff=body.long_shutoff,
            **common,
        )
    if isinstance(body, Extend):
        end = read_times(zone, end=body.end)["end"]
        return outages.extend(session, outage_id, end=end, long_shutoff=body.long_shutoff, **common)
    if isinstance(body, Cancel):
        return outages.cancel(session, outage_id, reason=body.reason, **common)
    if isinstance(body, Restore):
        return outages.restore(session, outage_id, **common)
    if body.title is None and body.description is None:
        raise ApiError(422, "nothing to edit", [("title", "give a title or a description")])
    return outages.edit(
        session, outage_id, title=body.title, description=body.description, actor=actor
    )
