"""The REST API's bodies: what a client sends and gets back, with the examples ``/docs`` shows.

Times travel as ISO 8601 strings and are read by :func:`outage_notify.times.parse_time`, the
same as the CLI's ``--start``: with an offset as written, without one in ``timezone``.
Everything beyond types (a title's length, an area's existence, enough notice) is checked by
the planning library, so the API and the CLI refuse the same things with the same words.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from outage_notify.errors import InputError, Problem
from outage_notify.planning.outages import OutageDraft
from outage_notify.times import parse_time

TIME_HELP = (
    "ISO 8601, e.g. 2026-12-01T08:00+08:00; without an offset it is read in the configured "
    "timezone, as the CLI does"
)


class _Body(BaseModel):
    # A misspelt field is an error, not silently ignored: "short_notce" must not plan a
    # shutoff with less notice than the planner believes.
    model_config = ConfigDict(extra="forbid")


def read_times(zone: ZoneInfo, **values: str) -> dict[str, datetime]:
    """Each named time as aware UTC; InputError naming every field that is not a time."""
    times: dict[str, datetime] = {}
    problems: list[str] = []
    for name, value in values.items():
        try:
            times[name] = parse_time(value, zone, name=name)
        except ValueError as exc:
            problems.append(Problem(str(exc), name))
    if problems:
        raise InputError("the times are not valid:", problems=problems)
    return times


class OutageCreate(_Body):
    utility: Literal["water", "gas"]
    title: str = Field(description="1-120 characters; the first words of every notice.")
    description: str = Field("", description="More detail, for email and the web page.")
    start: str = Field(description=TIME_HELP)
    end: str = Field(description=TIME_HELP)
    areas: list[str] = Field(description="Service area codes of the utility (at least one).")
    ref: str | None = Field(
        None,
        description="The work order number (unique). A second POST with the same ref and the "
        "same values returns the outage made by the first (200), with other values 409.",
    )
    short_notice: bool = Field(
        False, description="Allow a start closer than schedule.min_notice (the CLI's flag)."
    )
    long_shutoff: bool = Field(
        False,
        description="Confirm a shutoff longer than schedule.plausible_length (the CLI's "
        "--long-shutoff); without it one is refused as a likely typo.",
    )

    def draft(self, zone: ZoneInfo) -> OutageDraft:
        times = read_times(zone, start=self.start, end=self.end)
        return OutageDraft(
            utility=self.utility,
            title=self.title,
            description=self.description,
            start=times["start"],
            end=times["end"],
            areas=self.areas,
            ref=self.ref,
        )


class Reschedule(_Body):
    """New times for work that has not started; a "changed" notice goes out."""

    action: Literal["reschedule"]
    start: str = Field(description=TIME_HELP)
    end: str = Field(description=TIME_HELP)
    short_notice: bool = False
    long_shutoff: bool = False


class Extend(_Body):
    """A later end; an "extended" notice goes to those already told."""

    action: Literal["extend"]
    end: str = Field(description=TIME_HELP)
    long_shutoff: bool = False


class Cancel(_Body):
    """Call off work that has not started; a "cancelled" notice goes to those already told."""

    action: Literal["cancel"]
    reason: str | None = Field(None, description="Shown on the web page and in the email.")


class Restore(_Body):
    """Service is back; a "restored" notice goes to those told of the work."""

    action: Literal["restore"]


class Edit(_Body):
    """Correct the title or description: a new revision, and no notice of its own."""

    action: Literal["edit"]
    title: str | None = None
    description: str | None = None


OutageChange = Annotated[
    Reschedule | Extend | Cancel | Restore | Edit, Field(discriminator="action")
]
ACTIONS = ("reschedule", "extend", "cancel", "restore", "edit")


class FieldProblem(BaseModel):
    field: str | None = Field(
        description="The field, header or query parameter at fault (null: the request as a "
        "whole, or the outage's state)."
    )
    message: str


class ProblemBody(BaseModel):
    """An error (RFC 9457 ``application/problem+json``)."""

    title: str
    status: int
    detail: str
    problems: list[FieldProblem] = Field(default_factory=list)


class NoticeOut(BaseModel):
    id: int | None
    revision: int
    kind: str
    audience: str
    due_at: str | None
    sms_due_at: str | None
    shifted_for_quiet_hours: bool
    urgent: bool
    deadline: str | None
    state: str


class RevisionOut(BaseModel):
    revision: int
    change: str
    start: str | None
    end: str | None
    status: str
    title: str
    reason: str | None
    actor: str
    at: str | None


class OutageOut(BaseModel):
    id: int | None
    ref: str | None
    utility: str
    title: str
    description: str
    start: str | None = Field(description="Local time with its offset.")
    end: str | None
    areas: list[str]
    status: Literal["review", "planned", "cancelled", "restored"]
    revision: int
    short_notice: bool
    cancel_reason: str | None
    restored_at: str | None
    created_by: str


class OutageDetail(OutageOut):
    url: str = Field(description="The outage's public page.")
    revisions: list[RevisionOut]
    notices: list[NoticeOut]


class OutageList(BaseModel):
    total: int = Field(description="Outages matching the filters, before limit and offset.")
    outages: list[OutageOut]


# -- examples for /docs -----------------------------------------------------------------

# The examples plan work two weeks after the day the process started: "Try it out" in /docs
# and a fuzzer replaying the document's examples then plan work in the future, as a fixed
# date in the past would not.
_EXAMPLE_DAY = date.today() + timedelta(days=14)


def _example_time(hour: int, minute: int = 0, *, days: int = 0, offset: bool = True) -> str:
    text = f"{(_EXAMPLE_DAY + timedelta(days=days)).isoformat()}T{hour:02d}:{minute:02d}"
    return f"{text}:00+08:00" if offset else text


CREATE_EXAMPLES: dict[str, Any] = {
    "plan": {
        "summary": "Plan a water shutoff",
        "value": {
            "utility": "water",
            "title": "Water main replacement on Zhongshan Road",
            "description": "Crews replace 120 m of main; fill containers the night before.",
            "start": _example_time(8),
            "end": _example_time(12),
            "areas": ["W01", "W02"],
            "ref": "WO-2291",
        },
    },
    "short_notice": {
        "summary": "Gas work in local time, planned at short notice",
        "value": {
            "utility": "gas",
            "title": "Valve replacement",
            "start": _example_time(14, offset=False),
            "end": _example_time(16, 30, offset=False),
            "areas": ["G03"],
            "ref": "WO-2307",
            "short_notice": True,
        },
    },
}

CHANGE_EXAMPLES: dict[str, Any] = {
    "reschedule": {
        "summary": "Move the work",
        "value": {
            "action": "reschedule",
            "start": _example_time(9, days=1),
            "end": _example_time(13, days=1),
        },
    },
    "extend": {
        "summary": "The work takes longer",
        "value": {"action": "extend", "end": _example_time(15)},
    },
    "cancel": {
        "summary": "Call the work off",
        "value": {"action": "cancel", "reason": "Crew reassigned to a burst main"},
    },
    "restore": {"summary": "Service is back", "value": {"action": "restore"}},
    "edit": {
        "summary": "Correct the title",
        "value": {"action": "edit", "title": "Water main replacement on Zhongshan Rd (east)"},
    },
}

OUTAGE_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "ref": "WO-2291",
    "utility": "water",
    "title": "Water main replacement on Zhongshan Road",
    "description": "Crews replace 120 m of main; fill containers the night before.",
    "start": _example_time(8),
    "end": _example_time(12),
    "areas": ["W01", "W02"],
    "status": "planned",
    "revision": 1,
    "short_notice": False,
    "cancel_reason": None,
    "restored_at": None,
    "created_by": "api:maximo",
}

DETAIL_EXAMPLE: dict[str, Any] = {
    **OUTAGE_EXAMPLE,
    "url": "https://outages.example.org/outages/12",
    "revisions": [
        {
            "revision": 1,
            "change": "created",
            "start": _example_time(8),
            "end": _example_time(12),
            "status": "planned",
            "title": "Water main replacement on Zhongshan Road",
            "reason": None,
            "actor": "api:maximo",
            "at": _example_time(10, 2, days=-11),
        }
    ],
    "notices": [
        {
            "id": 31,
            "revision": 1,
            "kind": "advance",
            "audience": "all",
            "due_at": _example_time(8, days=-3),
            "sms_due_at": _example_time(8, days=-3),
            "shifted_for_quiet_hours": False,
            "urgent": False,
            "deadline": _example_time(8),
            "state": "pending",
        }
    ],
}


def problem_example(status: int, title: str, detail: str, *problems: tuple[str | None, str]) -> Any:
    return {
        "title": title,
        "status": status,
        "detail": detail,
        "problems": [{"field": f, "message": m} for f, m in problems],
    }


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of an endpoint, for the OpenAPI document."""
    known: dict[int, tuple[str, Any]] = {
        401: (
            "No or wrong bearer token.",
            problem_example(401, "Unauthorized", "the bearer token is not valid"),
        ),
        403: (
            "The API is disabled: web.api_token is empty.",
            problem_example(
                403, "Forbidden", "the REST API is disabled: set web.api_token to enable it"
            ),
        ),
        404: ("No such outage.", problem_example(404, "Not Found", "there is no outage #99")),
        409: (
            "The outage's state does not allow this, or the ref is taken.",
            problem_example(
                409,
                "Conflict",
                "outage #12 is cancelled: it cannot be rescheduled",
                (None, "outage #12 is cancelled: it cannot be rescheduled"),
            ),
        ),
        422: (
            "The request names a field at fault.",
            problem_example(
                422,
                "Unprocessable Content",
                "the outage was not planned:",
                ("areas", "area W99 does not exist (see `outage-notify areas list`)"),
                (
                    "start",
                    "start 2026-11-01 08:00 +08:00 is in the past (now 2026-11-20 10:00 +08:00)",
                ),
            ),
        ),
    }
    return {
        status: {
            "model": ProblemBody,
            "description": known[status][0],
            "content": {"application/problem+json": {"example": known[status][1]}},
        }
        for status in statuses
    }
