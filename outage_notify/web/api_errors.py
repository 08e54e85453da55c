"""How the REST API says no: RFC 9457 problem details, naming the fields at fault.

``{"title": "Unprocessable Content", "status": 422, "detail": "the outage was not planned:",
"problems": [{"field": "start", "message": "start ... is in the past ..."}]}``, as
``application/problem+json``. Request validation (a missing field, a misspelt one, a value of
the wrong type) answers the same way for the API's paths; the rest of the site keeps
FastAPI's own answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from outage_notify.errors import ConflictError, InputError, NotFoundError, OutageNotifyError

API_PREFIX = "/api/"
MEDIA_TYPE = "application/problem+json"
# The PATCH body is a union tagged by ``action``; pydantic puts the tag in an error's location.
# RFC 9110's name; Python before 3.13 says "Unprocessable Entity".
TITLES = {422: "Unprocessable Content"}
_TAGS = frozenset({"reschedule", "extend", "cancel", "restore", "edit"})


class ApiError(HTTPException):
    """An API answer other than success: a status, a sentence and the problems by field."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        problems: Sequence[tuple[str | None, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, detail, dict(headers) if headers else None)
        self.problems = list(problems)

    def fields(self) -> set[str | None]:
        return {field for field, _ in self.problems}

    def body(self) -> dict[str, Any]:
        return {
            "title": TITLES.get(self.status_code) or HTTPStatus(self.status_code).phrase,
            "status": self.status_code,
            "detail": self.detail,
            "problems": [{"field": f, "message": m} for f, m in self.problems],
        }


def domain_error(error: OutageNotifyError) -> ApiError:
    """The planning library's error as an API error: 404, 409 or 422."""
    if isinstance(error, NotFoundError):
        return ApiError(404, str(error))
    problems = error.problems if isinstance(error, InputError) else []
    status = 409 if isinstance(error, ConflictError) else 422
    return ApiError(status, str(error), [(getattr(p, "field", None), str(p)) for p in problems])


def is_api_request(request: Request) -> bool:
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


def render(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error.body(), status_code=error.status_code, headers=error.headers, media_type=MEDIA_TYPE
    )


def field_of(error: Mapping[str, Any]) -> str:
    """``("body", "reschedule", "end")`` -> ``end``; ``("query", "status")`` -> ``status``."""
    where, *rest = error["loc"]
    if error.get("type") in ("union_tag_not_found", "union_tag_invalid"):
        return "action"
    if where == "body":
        if len(rest) > 1 and rest[0] in _TAGS:
            rest = rest[1:]
        if error.get("type") == "json_invalid":
            return "body"
    return ".".join(str(part) for part in rest) or str(where)


def message_of(error: Mapping[str, Any]) -> str:
    kind = error.get("type")
    if kind == "union_tag_not_found":
        return "missing: one of " + ", ".join(sorted(_TAGS))
    if kind == "union_tag_invalid":
        return f"{error.get('input', {}).get('action')!r} is not one of " + ", ".join(sorted(_TAGS))
    if kind == "json_invalid":
        return f"not valid JSON ({error.get('ctx', {}).get('error', 'unreadable')})"
    return str(error["msg"])


def install(app: FastAPI, auth_failure: Any) -> None:
    """The API's error answers. ``auth_failure(request)`` is asked first, so a request
    without the token learns nothing about what a valid body would be."""

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return render(exc)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not is_api_request(request):
            return await request_validation_exception_handler(request, exc)
        failure = auth_failure(request)
        if failure is not None:
            return render(failure)
        problems = [(field_of(e), message_of(e)) for e in exc.errors()]
        return render(ApiError(422, "the request is not valid:", problems))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
