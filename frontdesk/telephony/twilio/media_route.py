"""The Media Streams WebSocket route, `/media`: checks the upgrade's signature, then runs the call.

A forged or missing X-Twilio-Signature refuses the upgrade (close before accept: HTTP 403, close
code 1008 for clients that see it), and so does a draining process (close code 1013, try again
later: see realtime/live_calls.py). A valid one gets a `TwilioMediaTransport` handed to the call
handler, by default the turn loop (`frontdesk.realtime.call_session.run_call`), counted among the
process's live calls while it runs.
"""

from fastapi import APIRouter, WebSocket

from frontdesk.config import Settings
from frontdesk.logs import get_logger
from frontdesk.realtime.live_calls import Draining, LiveCalls
from frontdesk.telephony.media_socket import (
    CLOSE_POLICY_VIOLATION,
    CLOSE_TRY_AGAIN_LATER,
    CallHandler,
    carry_call,
    run_turn_loop,
)
from frontdesk.telephony.twilio.media_stream import TwilioMediaTransport
from frontdesk.telephony.twilio.protocol import MEDIA_PATH
from frontdesk.telephony.twilio.rest import TwilioCalls
from frontdesk.telephony.twilio.signatures import websocket_signature_valid

_log = get_logger(__name__)


def media_router(
    settings: Settings,
    handler: CallHandler = run_turn_loop,
    *,
    calls: TwilioCalls | None = None,
    live_calls: LiveCalls | None = None,
) -> APIRouter:
    """A router with the `/media` WebSocket, each call run by `handler(transport, app.state)`;
    transfers and hang-ups through `calls` (None: offline, the transport ends the stream); each
    call counted in `live_calls` (the process's, to drain it; by default the router's own)."""
    router = APIRouter()
    live = live_calls or LiveCalls()

    @router.websocket(MEDIA_PATH)
    async def media(websocket: WebSocket) -> None:
        if not websocket_signature_valid(settings, websocket):
            _log.warning("media.forged_upgrade", client=websocket.client.host if websocket.client else None)
            await websocket.close(code=CLOSE_POLICY_VIOLATION)
            return
        try:
            with live.carrying():
                await websocket.accept()
                await _carry(websocket, calls, handler)
        except Draining:
            _log.warning("media.refused_while_draining")
            await websocket.close(code=CLOSE_TRY_AGAIN_LATER)

    return router


async def _carry(websocket: WebSocket, calls: TwilioCalls | None, handler: CallHandler) -> None:
    async with TwilioMediaTransport(websocket, calls) as transport:
        await carry_call(transport, websocket.app.state, handler)
