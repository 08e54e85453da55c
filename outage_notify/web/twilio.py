"""Twilio's webhooks: inbound SMS (``POST /twilio/inbound``), delivery status callbacks
(``POST /twilio/status``) and voice calls (``POST /twilio/voice``: a call's keypresses, answered
with TwiML, and its status callbacks, ``?event=status``).

Every request must carry a valid ``X-Twilio-Signature``, computed by Twilio over the URL it
called, which is our *public* URL: behind a TLS proxy the request reaches us as
``http://127.0.0.1/...``, so the URL is rebuilt from ``public_url`` and the request path.
A bad or missing signature gets 403 and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from outage_notify import registry
from outage_notify.db import Database
from outage_notify.delivery.call_status import CallReport, apply_call_report
from outage_notify.delivery.status_callbacks import StatusReport, apply_status_report
from outage_notify.plain_text import control_character_problem
from outage_notify.residents.inbound import InboundResult, handle_inbound
from outage_notify.residents.voice_keys import KeyAnswer, answer_keypress
from outage_notify.settings import Settings
from outage_notify.web import deps

log = logging.getLogger(__name__)
T = TypeVar("T")

router = APIRouter(prefix="/twilio", tags=["twilio"])

SettingsDep = Annotated[Settings, Depends(deps.settings)]
DatabaseDep = Annotated[Database, Depends(deps.database)]
NowDep = Annotated[datetime, Depends(deps.now)]


def public_request_url(settings: Settings, request: Request) -> str:
    """The URL Twilio called: ``public_url`` + the path inside the app + the query."""
    path = request.scope["path"]
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    query = request.url.query
    return f"{settings.public_url}{path}" + (f"?{query}" if query else "")


# Twilio's SIDs are 34 characters and its error codes five digits: anything longer is not
# Twilio's (and would not fit its column: a 500 on PostgreSQL, stored on SQLite).
FIELD_MAX = {
    "AccountSid": 64,
    "MessageSid": 64,
    "MessagingServiceSid": 64,
    "SmsSid": 64,
    "ErrorCode": 32,
    "MessageStatus": 32,
    "SmsStatus": 32,
    "OptOutType": 16,
}


async def signed_form(request: Request, settings: Settings) -> FormData | None:
    """The POSTed form when Twilio's signature over it is valid, else None."""
    form = await request.form()
    path = request.url.path
    if any(not isinstance(value, str) for _, value in form.multi_items()):
        # Twilio posts url-encoded fields only; a file part cannot be signed (the validator
        # would fail on it, a 500).
        await form.close()
        log.warning("webhook refused: a file part in the form", extra={"path": path})
        return None
    signature = request.headers.get(SIGNATURE_HEADER)
    token = settings.sms.auth_token.get_secret_value()
    if not token:
        log.warning(
            "webhook refused: sms.auth_token is empty, so no signature can be checked",
            extra={"path": path},
        )
        return None
    if not signature:
        log.warning("webhook refused: no X-Twilio-Signature", extra={"path": path})
        return None
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    url = public_request_url(settings, request)
    if not RequestValidator(token).validate(url, form, signature, algorithm):
        log.warning("webhook refused: bad signature", extra={"path": path, "signed_url": url})
        return None
    return form


def refused_field(form: FormData) -> str | None:
    """Why a signed form is still refused (a control character, an oversized SID), or None."""
    for name, value in form.multi_items():
        text = value if isinstance(value, str) else ""
        if control := control_character_problem(name, text):
            return control
        limit = FIELD_MAX.get(name)
        if limit is not None and len(text) > limit:
            return f"{name} is longer than {limit} characters"
    return None


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _in_transaction(database: Database, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a write transaction, once more if a concurrent request won a race
    for the same row (two STOPs from one phone at once on PostgreSQL): the second attempt
    sees that row and has nothing left to insert."""
    try:
        with database.session() as session:
            return work(session)
    except IntegrityError:
        log.info("write conflict with a concurrent webhook: trying again")
        with database.session() as session:
            return work(session)


def _forbidden() -> PlainTextResponse:
    return PlainTextResponse("invalid Twilio signature", status_code=403)


@router.post("/inbound", summary="Inbound SMS (Twilio webhook)")
async def inbound(
    request: Request, settings: SettingsDep, database: DatabaseDep, now: NowDep
) -> Response:
    form = await signed_form(request, settings)
    if form is None:
        return _forbidden()
    if refused := refused_field(form):
        return PlainTextResponse(refused, status_code=400)
    sender = _field(form, "From").strip()
    if not sender:
        return PlainTextResponse("From is required", status_code=400)
    sid = _field(form, "MessageSid") or _field(form, "SmsSid") or None
    body = _field(form, "Body")

    def handle(session: Session) -> InboundResult:
        return handle_inbound(
            session,
            settings,
            sid=sid,
            from_address=sender,
            body=body,
            now=now,
            opt_out_type=_field(form, "OptOutType") or None,
        )

    result = await run_in_threadpool(_in_transaction, database, handle)
    twiml = MessagingResponse()
    if result.reply:
        twiml.message(result.reply)
    return Response(str(twiml), media_type="application/xml")


@router.post("/status", summary="Delivery status callback (Twilio webhook)", status_code=204)
async def status(
    request: Request, settings: SettingsDep, database: DatabaseDep, now: NowDep
) -> Response:
    form = await signed_form(request, settings)
    if form is None:
        return _forbidden()
    if refused := refused_field(form):
        return PlainTextResponse(refused, status_code=400)
    sid = _field(form, "MessageSid") or _field(form, "SmsSid")
    state = _field(form, "MessageStatus") or _field(form, "SmsStatus")
    if not sid or not state:
        return PlainTextResponse("MessageSid and MessageStatus are required", status_code=400)
    report = StatusReport(
        sid=sid,
        status=state,
        error_code=_field(form, "ErrorCode") or None,
        delivery_id=_delivery_hint(request),
    )

    def apply(session: Session) -> None:
        apply_status_report(session, report, now=now)

    await run_in_threadpool(_in_transaction, database, apply)
    return Response(status_code=204)


def _delivery_hint(request: Request) -> int | None:
    hint = request.query_params.get("delivery", "")
    return int(hint) if hint.isdigit() and len(hint) < 10 else None


@router.post("/voice", summary="Voice call keypresses and status (Twilio webhook)")
async def voice(
    request: Request, settings: SettingsDep, database: DatabaseDep, now: NowDep
) -> Response:
    form = await signed_form(request, settings)
    if form is None:
        return _forbidden()
    delivery_id = _delivery_hint(request)
    if request.query_params.get("event") == "status":
        sid, state = _field(form, "CallSid"), _field(form, "CallStatus")
        if not sid or not state:
            return PlainTextResponse("CallSid and CallStatus are required", status_code=400)
        report = CallReport(
            sid=sid,
            status=state,
            answered_by=_field(form, "AnsweredBy"),
            delivery_id=delivery_id,
        )

        def apply(session: Session) -> None:
            apply_call_report(session, report, channel=registry.VOICE.name, now=now)

        await run_in_threadpool(_in_transaction, database, apply)
        return Response(status_code=204)

    def keypress(session: Session) -> KeyAnswer:
        return answer_keypress(
            session,
            settings,
            delivery_id=delivery_id,
            digits=_field(form, "Digits"),
            channel=registry.VOICE.name,
            now=now,
        )

    answer = await run_in_threadpool(_in_transaction, database, keypress)
    return Response(answer.twiml, media_type="application/xml")
