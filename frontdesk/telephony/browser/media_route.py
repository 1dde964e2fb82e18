"""The browser's media WebSocket route, `/browser/stream`: a web call, run like a phone call.

The upgrade is accepted (the browser shows nothing of a refused upgrade), unless the process is
draining: then it is refused before the accept (HTTP 403, close code 1013), so the edge hands it
to another replica, as for Twilio's `/media`. The ticket is checked by the transport on the first
message: a socket without a valid one within its start timeout gets `ended` with the reason and a
policy-violation close (1008), and never reaches the call handler's session. A call is run by the
handler (by default the turn loop, as `/media` runs its calls), counted among the process's live
calls while it runs; a handler that fails ends that call only, with an internal-error close.
"""

from fastapi import APIRouter, WebSocket

from frontdesk.config import Settings
from frontdesk.logs import get_logger
from frontdesk.realtime.live_calls import Draining, LiveCalls
from frontdesk.telephony.browser.media_stream import START_TIMEOUT_SECONDS, BrowserMediaTransport
from frontdesk.telephony.browser.protocol import BROWSER_STREAM_PATH
from frontdesk.telephony.media_socket import (
    CLOSE_TRY_AGAIN_LATER,
    CallHandler,
    carry_call,
    run_turn_loop,
)

_log = get_logger(__name__)


def browser_media_router(
    settings: Settings,
    handler: CallHandler = run_turn_loop,
    *,
    live_calls: LiveCalls | None = None,
    start_timeout: float = START_TIMEOUT_SECONDS,
) -> APIRouter:
    """A router with the `/browser/stream` WebSocket, each call run by `handler(transport,
    app.state)` once its ticket (signed with the settings' secret key) is checked; each call
    counted in `live_calls` (the process's, to drain it; by default the router's own)."""
    router = APIRouter()
    live = live_calls or LiveCalls()

    @router.websocket(BROWSER_STREAM_PATH)
    async def browser_stream(websocket: WebSocket) -> None:
        try:
            with live.carrying():
                await websocket.accept()
                async with BrowserMediaTransport(
                    websocket, settings.secret_key, start_timeout=start_timeout
                ) as transport:
                    await carry_call(transport, websocket.app.state, handler)
        except Draining:
            _log.warning("browser.refused_while_draining")
            await websocket.close(code=CLOSE_TRY_AGAIN_LATER)

    return router
