"""The calls a media process carries, and whether it is draining.

A deploy stops a media process with SIGTERM. Draining, the process reports not ready (`/readyz`
answers 503, so the load balancer sends it no new stream), refuses a stream that arrives anyway,
and goes on carrying the calls it has until each ends. A call cannot outlast its clinic's
maximum call length (the turn loop's watchdog ends it), so the wait is bounded by the longest of
them; `devstack/servers.py` bounds it again by the settings' drain timeout and then exits.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Gauge

# livesum: with several media processes, the calls of those alive now, added up.
LIVE_CALLS = Gauge(
    "frontdesk_media_live_calls", "Media streams the media processes carry now.", multiprocess_mode="livesum"
)


class Draining(Exception):
    """The process is draining: it takes no new call."""


class LiveCalls:
    """One media process's live calls (one event loop: no lock needed)."""

    def __init__(self) -> None:
        self._count = 0
        self._draining = False

    @property
    def count(self) -> int:
        """How many calls the process carries now."""
        return self._count

    @property
    def draining(self) -> bool:
        """Whether the process takes no new call."""
        return self._draining

    def drain(self) -> None:
        """Take no new call from now on; the live ones go on."""
        self._draining = True

    @contextmanager
    def carrying(self) -> Iterator[None]:
        """Count a call while it runs; raises Draining, before anything starts, when draining."""
        if self._draining:
            raise Draining("the media process is draining: it takes no new call")
        self._count += 1
        LIVE_CALLS.inc()
        try:
            yield
        finally:
            self._count -= 1
            LIVE_CALLS.dec()
