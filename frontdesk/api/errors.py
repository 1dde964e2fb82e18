"""The admin API's error bodies: `{"error": {"code", "message", "details"}}` for every error.

Handlers are installed app-wide but only reshape errors of paths under the admin API's prefix;
the dashboard's paths get its HTML error page (`ErrorPages`), and the Twilio webhooks keep
FastAPI's default bodies. Validation errors name each bad field and
never echo the input back (it may hold a secret or patient data).
"""

from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from frontdesk.domain.errors import DomainError, NotFound

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    """What went wrong: a stable machine code, a sentence for people, and per-field details."""

    code: str
    message: str
    details: list[dict[str, Any]] | dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """Every admin API error response."""

    error: ErrorDetail


class ApiError(Exception):
    """An error the admin API answers with its status and error body."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code or _CODES_BY_STATUS.get(status_code, "error")
        self.message = message
        self.details = details
        self.headers = headers


def error_response(error: ApiError) -> JSONResponse:
    """The JSON response of an ApiError."""
    body = ErrorBody(error=ErrorDetail(code=error.code, message=error.message, details=error.details))
    return JSONResponse(body.model_dump(), status_code=error.status_code, headers=error.headers)


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location)


def validation_error(exc: RequestValidationError) -> ApiError:
    """A 422 whose message and details name every field that failed, without the input."""
    details = [
        {"field": _field_name(err.get("loc", ())), "message": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details) or "the request is not valid"
    return ApiError(422, message, details=details)


class ErrorPages(Protocol):
    """Errors of paths under `prefix` shown as pages (the dashboard's) instead of JSON."""

    prefix: str

    def render(self, request: Request, error: ApiError) -> Response:
        """The page telling a person what went wrong."""
        ...


def install_error_handlers(app: FastAPI, prefix: str, pages: ErrorPages | None = None) -> None:
    """Answer errors of paths under `prefix` with ErrorBody, and those under `pages.prefix` with
    its pages; leave other paths' bodies alone."""

    def ours(request: Request) -> bool:
        return request.url.path.startswith(prefix)

    def answer(request: Request, error: ApiError) -> Response:
        if pages is not None and request.url.path.startswith(pages.prefix):
            return pages.render(request, error)
        return error_response(error)

    def on_page(request: Request) -> bool:
        return pages is not None and request.url.path.startswith(pages.prefix)

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return answer(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not ours(request) and not on_page(request):
            return await request_validation_exception_handler(request, exc)
        return answer(request, validation_error(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not ours(request) and not on_page(request):
            return await http_exception_handler(request, exc)
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return answer(request, ApiError(exc.status_code, message, headers=exc.headers))

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        status = 404 if isinstance(exc, NotFound) else 409
        return answer(request, ApiError(status, exc.message, code=exc.code))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(DomainError, on_domain)
