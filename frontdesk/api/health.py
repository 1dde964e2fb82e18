"""`GET /healthz` (always 200, reports each dependency) and `GET /readyz` (200 only when all are
up and the process is not draining).

Each check is bounded by a short timeout so a hung database or Temporal server makes the
probe answer "not ready" quickly instead of hanging the load balancer's request.
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import make_url

from frontdesk.api.backends import Backends, get_backends
from frontdesk.domain.database import ping
from frontdesk.logs import get_logger

log = get_logger(__name__)

CHECK_TIMEOUT_S = 2.0
_MAX_ERROR_CHARS = 200
OK = "ok"


class HealthReport(BaseModel):
    """Each dependency's status: "ok" or a short error that names no secret."""

    status: Literal["ok", "degraded"]
    database: str
    temporal: str
    draining: bool = False  # a media process stopping: it takes no new call


def describe_failure(exc: BaseException, secrets: list[str]) -> str:
    """A one-line, bounded description of `exc` with every string in `secrets` masked."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    return text[:_MAX_ERROR_CHARS]


async def check_database(backends: Backends) -> str:
    """Whether the database answers a query within CHECK_TIMEOUT_S: "ok", or why not."""
    password = make_url(backends.database_url).password
    try:
        await asyncio.wait_for(asyncio.to_thread(ping, backends.engine), CHECK_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_S:g}s"
    except Exception as exc:  # any driver error means "not reachable"; it is reported, not raised
        return describe_failure(exc, [password] if password else [])
    return OK


async def check_temporal(backends: Backends) -> str:
    """Whether the Temporal frontend reports itself serving within CHECK_TIMEOUT_S: "ok", or why not."""

    async def probe() -> bool:
        client = await backends.temporal.get(within=CHECK_TIMEOUT_S)
        return await client.service_client.check_health(timeout=timedelta(seconds=CHECK_TIMEOUT_S))

    try:
        serving = await asyncio.wait_for(probe(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_S:g}s"
    except Exception as exc:  # connection and RPC errors alike mean "not reachable"
        return describe_failure(exc, [])
    return OK if serving else "the workflow service is not serving"


async def health_report(backends: Backends) -> HealthReport:
    """Run both checks concurrently and summarise them."""
    database, temporal = await asyncio.gather(check_database(backends), check_temporal(backends))
    status: Literal["ok", "degraded"] = "ok" if database == OK and temporal == OK else "degraded"
    if status != "ok":
        log.warning("health_degraded", database=database, temporal=temporal)
    return HealthReport(status=status, database=database, temporal=temporal)


def health_router(draining: Callable[[], bool] | None = None) -> APIRouter:
    """The /healthz and /readyz routes, for both the API and the media server; `draining()` says
    whether the process is stopping (a media process; None: never)."""
    router = APIRouter(tags=["health"])

    async def report_of(backends: Backends) -> HealthReport:
        report = await health_report(backends)
        return report.model_copy(update={"draining": draining is not None and draining()})

    @router.get("/healthz", response_model=HealthReport)
    async def healthz(backends: Backends = Depends(get_backends)) -> HealthReport:
        """Liveness: always 200 while the process serves, with each dependency's status."""
        return await report_of(backends)

    @router.get("/readyz", response_model=HealthReport, responses={503: {"model": HealthReport}})
    async def readyz(backends: Backends = Depends(get_backends)) -> JSONResponse:
        """Readiness: 200 only when the database and Temporal both answer and the process is not
        draining, 503 otherwise."""
        report = await report_of(backends)
        ready = report.status == "ok" and not report.draining
        return JSONResponse(report.model_dump(), status_code=200 if ready else 503)

    return router
