"""The media process's FastAPI app: health probes, /metrics, the Twilio Media Streams socket
(`/media`) and the browser's media socket for the dashboard's web calls (`/browser/stream`).

It holds the same backends as the API, because the turn loop reads the database directly and
sends booking actions to Temporal as Updates (DESIGN.md section 2).
"""

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from frontdesk.api.service_app import create_service_app
from frontdesk.api.v1 import prometheus
from frontdesk.config import Settings
from frontdesk.realtime.call_services import CallServices
from frontdesk.realtime.live_calls import LiveCalls
from frontdesk.realtime.stalls import watch_collector, watch_loop_lag
from frontdesk.telephony.browser.media_route import browser_media_router
from frontdesk.telephony.twilio.media_route import media_router
from frontdesk.telephony.twilio.rest import twilio_calls_for


def create_app(settings: Settings) -> FastAPI:
    """The media server app for `settings`, with its backends on `app.state.backends`.

    Start-up loads the speech models, opens vendor connections and renders each clinic's
    greeting before the app serves its first call. `app.state.live_calls` counts the calls it
    carries, and drains it (realtime/live_calls.py).
    """
    live_calls = LiveCalls()
    app = create_service_app("Frontdesk media server", settings, draining=lambda: live_calls.draining)
    app.state.settings = settings
    app.state.live_calls = live_calls
    app.include_router(media_router(settings, calls=twilio_calls_for(settings), live_calls=live_calls))
    app.include_router(browser_media_router(settings, live_calls=live_calls))
    app.include_router(prometheus.router)
    base_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: FastAPI) -> AsyncIterator[None]:
        async with base_lifespan(started):
            await CallServices.for_app(started.state)
            # What start-up made (modules, models, the phrase cache) lives as long as the process:
            # kept out of the collector, whose full passes would otherwise walk it during calls.
            gc.freeze()
            watcher = asyncio.create_task(watch_loop_lag(), name="event-loop-lag")
            try:
                with watch_collector():
                    yield
            finally:
                watcher.cancel()
                # A watcher that failed raises its error here; its cancellation is ours.
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    app.router.lifespan_context = lifespan
    return app
