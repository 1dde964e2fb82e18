"""The Media Streams WebSocket route, `/media`: checks the upgrade's signature, then runs the call.

A forged or missing X-Twilio-Signature refuses the upgrade (close before accept: HTTP 403, close
code 1008 for clients that see it), and so does a draining process (close code 1013, try again
later: see realtime/live_calls.py). A valid one gets a `TwilioMediaTransport` handed to the call
handler, by default the turn loop (`frontdesk.realtime.call_session.run_call`), counted among the
process's live calls while it runs.
"""

from collections.abc import Awaitable, Callable
from typing import Final

from fastapi import APIRouter, WebSocket
from starlette.datastructures import State

from frontdesk.config import Settings
from frontdesk.logs import get_logger
from frontdesk.realtime.live_calls import Draining, LiveCalls
from frontdesk.realtime.transport import Transport
from frontdesk.telephony.twilio.media_stream import CLOSE_POLICY_VIOLATION, TwilioMediaTransport
from frontdesk.telephony.twilio.protocol import MEDIA_PATH
from frontdesk.telephony.twilio.rest import TwilioCalls
from frontdesk.telephony.twilio.signatures import websocket_signature_valid

CLOSE_INTERNAL_ERROR: Final = 1011
CLOSE_TRY_AGAIN_LATER: Final = 1013

CallHandler = Callable[[Transport, State], Awaitable[None]]

_log = get_logger(__name__)


async def run_turn_loop(transport: Transport, state: State) -> None:
    """The production call handler: the turn loop (imported here, when the first call arrives)."""
    from frontdesk.realtime.call_session import run_call

    await run_call(transport, state)


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
        try:
            await handler(transport, websocket.app.state)
        except Exception as exc:
            # One call's failure ends that call only; the type, never a message that may quote PHI.
            call = transport.call
            _log.error(
                "media.handler_failed",
                call_sid=call.call_sid if call else None,
                error_type=type(exc).__name__,
            )
            await transport.close(CLOSE_INTERNAL_ERROR, "internal error")
