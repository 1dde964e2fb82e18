"""What every Frontdesk web process starts from: its backends on `app.state`, closed on shutdown,
the health probes, and a span per request while tracing is on (frontdesk.tracing).
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from frontdesk.api.backends import open_backends
from frontdesk.api.health import health_router
from frontdesk.config import Settings
from frontdesk.tracing import instrument_app


def create_service_app(title: str, settings: Settings, draining: Callable[[], bool] | None = None) -> FastAPI:
    """A FastAPI app with `app.state.backends` for `settings` and GET /healthz and /readyz (not
    ready while `draining()`, for a media process), traced while tracing is on."""
    backends = open_backends(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        backends.engine.dispose()

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.backends = backends
    app.include_router(health_router(draining))
    instrument_app(app)
    return app
