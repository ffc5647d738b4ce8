"""Errors at the HTTP edge: domain error codes mapped to statuses, one JSON shape for all.

Every error response is ``{"error": {"code": "...", "message": "..."}}`` with a stable code, so
integrations can branch on the code rather than on the wording.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from centrale.core.errors import DomainError
from centrale.server.writer import WriterStopped


class ApiError(Exception):
    """An error raised by a route: a status, a stable code and a message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        problems: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.problems = problems


def status_for(code: str) -> int:
    """The HTTP status for a domain error code (stable: codes never change meaning)."""
    suffix = code.rsplit(".", 1)[-1]
    if suffix in ("unknown", "not_found"):
        return 404
    if suffix in ("illegal_transition", "busy", "duplicate", "exists", "in_use", "not_assigned"):
        return 409
    return 422


def body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    extra = {"problems": exc.problems} if exc.problems else {}
    return JSONResponse(body(exc.code, exc.message, **extra), status_code=exc.status, headers=exc.headers)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse(body(exc.code, exc.message), status_code=status_for(exc.code))


async def _stopped(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(body("server.unavailable", str(exc)), status_code=503)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        problems.append({"where": where, "problem": err.get("msg", "invalid")})
    text = "; ".join(f"{p['where']}: {p['problem']}" for p in problems) or "invalid request"
    return JSONResponse(body("request.invalid", text, problems=problems), status_code=422)


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http.error")
    return JSONResponse(body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


HANDLERS = {
    ApiError: _api_error,
    DomainError: _domain_error,
    WriterStopped: _stopped,
    RequestValidationError: _validation,
    StarletteHTTPException: _http,
}
