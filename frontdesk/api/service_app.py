"""What every Frontdesk web process starts from: its backends on `app.state`, closed on shutdown,
and the health probes.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from frontdesk.api.backends import open_backends
from frontdesk.api.health import health_router
from frontdesk.config import Settings


def create_service_app(title: str, settings: Settings, draining: Callable[[], bool] | None = None) -> FastAPI:
    """A FastAPI app with `app.state.backends` for `settings` and GET /healthz and /readyz (not
    ready while `draining()`, for a media process)."""
    backends = open_backends(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        backends.engine.dispose()

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.backends = backends
    app.include_router(health_router(draining))
    return app
