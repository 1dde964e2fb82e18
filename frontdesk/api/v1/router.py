"""The admin API, assembled: every /v1 route, its documented error responses, its limits.

`install_admin_api(app, settings)` adds the routes, the error handlers (ErrorBody on every /v1
error), the body size limit and the per-key rate limiter (`app.state.rate_limiter`).
"""

from typing import Any, Final

from fastapi import APIRouter, FastAPI

from frontdesk.api.errors import ErrorBody, ErrorPages, install_error_handlers
from frontdesk.api.v1 import (
    appointments,
    audit_log,
    clinics,
    do_not_contact,
    metrics,
    patients,
    phone_numbers,
    prometheus,
    providers,
    services,
)
from frontdesk.api.v1.calls import calls_router
from frontdesk.api.v1.campaigns import campaigns_router
from frontdesk.api.v1.integrations import integrations_router
from frontdesk.api.v1.limits import BodySizeLimit, TokenBuckets
from frontdesk.config import Settings

PREFIX: Final = "/v1"

_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        401: "no API key, or not a valid one",
        403: "the key's scope does not allow this",
        404: "no such resource for this key (another clinic's looks the same)",
        409: "the change conflicts with existing data or the workflow's state",
        413: "the request body is too large",
        422: "the request is not valid; details name each field",
        429: "too many requests for this key; see Retry-After",
        503: "a backing service (Temporal) is unreachable",
    }.items()
}


def admin_api_router(settings: Settings) -> APIRouter:
    """Every /v1 route."""
    router = APIRouter(prefix=PREFIX, responses=_ERRORS)
    for module in (
        clinics,
        phone_numbers,
        services,
        providers,
        patients,
        do_not_contact,
        appointments,
        metrics,
        audit_log,
    ):
        router.include_router(module.router)
    router.include_router(integrations_router(settings))
    router.include_router(calls_router(settings))
    router.include_router(campaigns_router(settings))
    return router


def install_admin_api(app: FastAPI, settings: Settings, pages: ErrorPages | None = None) -> None:
    """Add the admin API and GET /metrics to `app` (see the module docstring); errors of paths
    under `pages.prefix` are shown as its pages."""
    app.include_router(admin_api_router(settings))
    app.include_router(prometheus.router)
    app.state.rate_limiter = TokenBuckets()
    install_error_handlers(app, PREFIX, pages)
    app.add_middleware(BodySizeLimit, prefix=PREFIX)
