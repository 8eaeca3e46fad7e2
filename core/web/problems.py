"""Errors as `application/problem+json` (RFC 9457), each naming the offending field where there is one."""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from core.errors import Conflict, FieldError, NotFound, Vetoed
from core.web.pages import error_page, is_page

log = logging.getLogger("ajanda.http")

PROBLEM_JSON = "application/problem+json"


def problem(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> Response[Any]:
    if is_page(request):
        return error_page(request, status, detail)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON)


def _field_of(item: dict[str, Any]) -> str:
    # Parameters named after Python keywords are declared with a trailing underscore (`from_`).
    key = str(item.get("key") or "").removesuffix("_")
    source = item.get("source")
    if source == "body" and key:
        return str(key)
    return str(key or source or "request")


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = [
        {"field": _field_of(item), "message": str(item.get("message", ""))}
        for item in extra
        if isinstance(item, dict)
    ]
    missing = re.match(r"Missing required \w+ parameter '([^']+)'", exc.detail or "")
    if missing:
        errors = [{"field": missing.group(1), "message": "required"}]
    if not errors:
        return problem(request, 400, "Bad request", exc.detail or "The request could not be read.")
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(request, 422, "Invalid input", detail, errors)


def field_error_handler(request: Request[Any, Any, Any], exc: FieldError) -> Response[Any]:
    errors = [{"field": exc.field, "message": exc.message}]
    return problem(request, 422, "Invalid input", str(exc), errors)


def vetoed_handler(request: Request[Any, Any, Any], exc: Vetoed) -> Response[Any]:
    errors = [{"field": exc.field, "message": exc.reason}] if exc.field else None
    return problem(request, 422, "Refused", exc.reason, errors)


def not_found_handler(request: Request[Any, Any, Any], exc: NotFound) -> Response[Any]:
    return problem(request, 404, "Not found", str(exc))


def conflict_handler(request: Request[Any, Any, Any], exc: Conflict) -> Response[Any]:
    return problem(request, 409, "Conflict", str(exc), None, **exc.extra)


def http_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    response = problem(request, exc.status_code, _title(exc.status_code), exc.detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def internal_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The message of an unexpected exception may quote personal data: log type and frames only.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unhandled %s on %s %s\n%s", type(exc).__name__, request.method, request.url.path, frames)
    return problem(request, HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", "An unexpected error occurred.")


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ValidationException: validation_handler,
    FieldError: field_error_handler,
    Vetoed: vetoed_handler,
    NotFound: not_found_handler,
    Conflict: conflict_handler,
    HTTPException: http_handler,
    Exception: internal_handler,
}
