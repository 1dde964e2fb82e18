"""The database engine and Temporal client a web process (API or media server) shares across requests."""

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine

from frontdesk.config import Settings
from frontdesk.domain.database import make_engine
from frontdesk.temporal_client import TemporalClientCache


@dataclass(frozen=True)
class Backends:
    """What a web process talks to; one per app, closed when the app shuts down."""

    engine: Engine
    temporal: TemporalClientCache
    database_url: str


def open_backends(settings: Settings) -> Backends:
    """Backends for `settings`; nothing connects until first use."""
    return Backends(
        engine=make_engine(settings.database_url),
        temporal=TemporalClientCache.of(settings),
        database_url=settings.database_url,
    )


def get_backends(request: Request) -> Backends:
    """FastAPI dependency: the backends of the app serving this request."""
    backends: Backends = request.app.state.backends
    return backends
