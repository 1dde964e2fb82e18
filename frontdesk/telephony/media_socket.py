"""What every media socket shares, whoever is at the far end (Twilio, a browser): the call
handler a route runs each call with, close codes, the error that closes one call's socket,
receiving a message and closing once."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final, Protocol

from pydantic import ValidationError
from starlette.datastructures import State
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from frontdesk.logs import get_logger
from frontdesk.realtime.transport import CallStarted, CallStopped, Transport, TransportEvent

# WebSocket close codes (RFC 6455).
CLOSE_NORMAL: Final = 1000
CLOSE_UNSUPPORTED_DATA: Final = 1003
CLOSE_POLICY_VIOLATION: Final = 1008
CLOSE_TOO_BIG: Final = 1009
CLOSE_INTERNAL_ERROR: Final = 1011
CLOSE_TRY_AGAIN_LATER: Final = 1013
# A close frame's reason is at most 123 bytes.
MAX_CLOSE_REASON_CHARS: Final = 120

CallHandler = Callable[[Transport, State], Awaitable[None]]


_log = get_logger(__name__)


async def run_turn_loop(transport: Transport, state: State) -> None:
    """The production call handler: the turn loop (imported here, when the first call arrives)."""
    from frontdesk.realtime.call_session import run_call

    await run_call(transport, state)


class SocketTransport(Transport, Protocol):
    """A transport over a media socket of ours."""

    @property
    def call(self) -> CallStarted | None:
        """The call once its start arrived, else None."""
        ...

    async def close(self, code: int, reason: str) -> None:
        """Close the socket (once)."""
        ...


async def carry_call(transport: SocketTransport, state: State, handler: CallHandler) -> None:
    """Run one call with `handler`; a handler that fails ends that call only (logged, and the
    socket closed with an internal-error code)."""
    try:
        await handler(transport, state)
    except Exception as exc:
        # The type, never a message that may quote PHI.
        call = transport.call
        _log.error(
            "media.handler_failed",
            call_sid=call.call_sid if call else None,
            error_type=type(exc).__name__,
        )
        await transport.close(CLOSE_INTERNAL_ERROR, "internal error")


class ProtocolViolation(Exception):
    """An inbound message this stream cannot accept; closes the socket with `code`."""

    def __init__(self, reason: str, code: int = CLOSE_POLICY_VIOLATION) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


async def socket_events(
    next_events: Callable[[], Awaitable[list[TransportEvent]]],
    violated: Callable[[ProtocolViolation], Awaitable[None]],
    end_reason: Callable[[], str | None],
) -> AsyncIterator[TransportEvent]:
    """A socket's messages as transport events, each message read by `next_events`; ends after
    CallStopped. A closed socket stops the call (`end_reason()`, else "disconnected"); a message
    the stream cannot accept is handed to `violated` (which logs it and closes the socket), and
    stops the call too."""
    while True:
        try:
            events = await next_events()
        except WebSocketDisconnect:
            yield CallStopped(end_reason() or "disconnected")
            return
        except ProtocolViolation as violation:
            await violated(violation)
            yield CallStopped("protocol_error")
            return
        for event in events:
            yield event
            if isinstance(event, CallStopped):
                return


async def receive_message(websocket: WebSocket) -> str | bytes:
    """The next message's text or bytes; WebSocketDisconnect once the socket is closed."""
    if websocket.application_state is not WebSocketState.CONNECTED:
        raise WebSocketDisconnect(CLOSE_NORMAL)
    raw = await websocket.receive()
    if raw["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(raw.get("code", CLOSE_NORMAL))
    text: str | None = raw.get("text")
    if text is not None:
        return text
    data: bytes = raw.get("bytes") or b""
    return data


async def close_socket(websocket: WebSocket, code: int, reason: str) -> None:
    """Close the socket (once; a no-op when it is closed already)."""
    if websocket.application_state is WebSocketState.CONNECTED:
        try:
            await websocket.close(code, reason[:MAX_CLOSE_REASON_CHARS])
        except (RuntimeError, WebSocketDisconnect):
            pass  # the far end closed at the same moment: the socket is closed, as wanted


def first_error(exc: ValidationError) -> str:
    """The first problem a message's validation found, as `where: what`."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
