"""A fake ElevenLabs API on 127.0.0.1, for tests that run the real elevenlabs SDK.

A small HTTP/1.1 server on asyncio streams, so a test controls every byte and sees the client
hang up: `POST /v1/text-to-speech/{voice_id}/stream` answers 200 with a chunked body of audio
(or the API's JSON error bodies), `GET /v1/models` lists models (the provider's warm-up), every
request must carry `xi-api-key` (else 401). Connections are kept alive between requests.

Replies are scripted in order (`script(...)`); an unscripted synthesis gets one chunk of
silence. A reply can hold its chunks at a gate until the test opens it, drop the connection
mid-body, or stall until the client gives up. Every request is recorded (`requests`) with its
connection number, and whether the client disconnected while the reply was still going.
"""

import asyncio
import itertools
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

API_KEY = "test-elevenlabs-key"
WAIT_GUARD_S = 10.0  # a hang guard for wait_for, not a speed check
_STATUS_TEXT = {200: "OK", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests", 500: "Error"}


@dataclass(frozen=True)
class Audio:
    """A 200 reply streaming `chunks`.

    - `gate_at`: send the chunks before this index, then wait for `FakeElevenLabs.gate` to open.
    - `drop_at`: abort the connection (no final chunk) once the chunks before this index are sent.
    - `stall_at`: once the chunks before this index are sent, send nothing more until the client
      hangs up (0 stalls before the response headers).
    """

    chunks: tuple[bytes, ...]
    gate_at: int | None = None
    drop_at: int | None = None
    stall_at: int | None = None


@dataclass(frozen=True)
class Failure:
    """An HTTP error with the API's JSON body: {"detail": {"status": ..., "message": ...}}."""

    status: int
    code: str
    message: str = "scripted failure"


def too_many_requests() -> Failure:
    """The API's 429 for too many concurrent requests."""
    return Failure(429, "too_many_concurrent_requests")


def server_error() -> Failure:
    """A 500."""
    return Failure(500, "internal_server_error")


Reply = Audio | Failure


@dataclass
class Request:
    """One request the fake received."""

    connection: int
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any] | None
    disconnected: bool = False  # the client hung up while the reply was still going
    chunks_sent: int = 0


@dataclass
class _Exchange:
    request: Request
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def hang_up(self) -> "asyncio.Task[bytes]":
        """Completes when the client hangs up. The client sends nothing more on this connection
        until the reply ends (no pipelining), so any read completing means EOF or a reset."""
        return asyncio.ensure_future(self.reader.read(1))


class FakeElevenLabs:
    """The fake server, as an async context manager: `async with FakeElevenLabs() as fake: ...`."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.requests: list[Request] = []
        self.gate = asyncio.Event()
        self._replies: deque[Reply] = deque()
        self._changed = asyncio.Condition()
        self._connections = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._handlers: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def url(self) -> str:
        """The base URL for ElevenLabsTextToSpeech(base_url=...)."""
        if self._server is None:
            raise RuntimeError("the fake ElevenLabs server is not started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def syntheses(self) -> list[Request]:
        """The text-to-speech requests, in order."""
        return [request for request in self.requests if request.method == "POST"]

    def script(self, *replies: Reply) -> None:
        """Queue the replies to the next syntheses, in order."""
        self._replies.extend(replies)

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until `predicate()` holds; re-checked whenever a request or hang-up is recorded."""
        async with asyncio.timeout(WAIT_GUARD_S), self._changed:
            await self._changed.wait_for(predicate)

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            # Hang up on every client: each handler then sees its connection end and returns.
            for writer in self._handlers.values():
                writer.transport.abort()
            await asyncio.gather(*self._handlers)
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers[task] = writer
        connection = next(self._connections)
        try:
            while (request := await self._read_request(connection, reader)) is not None:
                self.requests.append(request)
                await self._notify()
                if not await self._answer(_Exchange(request, reader, writer)):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away between requests
        finally:
            self._handlers.pop(task, None)
            writer.transport.abort()

    async def _read_request(self, connection: int, reader: asyncio.StreamReader) -> Request | None:
        head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
        if not head:
            return None
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ")
        headers = {}
        for line in filter(None, header_lines):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        url = urlsplit(target)
        return Request(
            connection, method, url.path, parse_qs(url.query), headers, json.loads(body) if body else None
        )

    async def _answer(self, exchange: _Exchange) -> bool:
        """Reply to one request; False when the connection must not be reused."""
        request = exchange.request
        if request.headers.get("xi-api-key") != self.api_key:
            return await self._send_json(exchange, 401, _error_body("invalid_api_key"))
        if request.method == "GET" and request.path == "/v1/models":
            return await self._send_json(exchange, 200, [{"model_id": "eleven_flash_v2_5"}])
        parts = request.path.split("/")
        if request.method != "POST" or len(parts) != 5 or parts[1:3] != ["v1", "text-to-speech"]:
            return await self._send_json(exchange, 404, _error_body("not_found"))
        reply = self._replies.popleft() if self._replies else Audio((b"\xff" * 160,))
        if isinstance(reply, Failure):
            return await self._send_json(exchange, reply.status, _error_body(reply.code, reply.message))
        try:
            return await self._stream(exchange, reply)
        except ConnectionError:
            return await self._record_hang_up(exchange)

    async def _stream(self, exchange: _Exchange, reply: Audio) -> bool:
        writer = exchange.writer
        if reply.stall_at == 0:
            return await self._until_hang_up(exchange)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: audio/basic\r\ntransfer-encoding: chunked\r\n"
            b"request-id: fake-request\r\n\r\n"
        )
        for index, chunk in enumerate(reply.chunks):
            if index == reply.gate_at:
                await writer.drain()
                gate, hang_up = asyncio.ensure_future(self.gate.wait()), exchange.hang_up()
                await asyncio.wait([gate, hang_up], return_when=asyncio.FIRST_COMPLETED)
                gate.cancel()
                if hang_up.done():
                    return await self._record_hang_up(exchange)
                hang_up.cancel()
                await asyncio.wait([hang_up])  # its read must be over before the next request's
            if index == reply.drop_at:
                await writer.drain()
                return False
            if index == reply.stall_at:
                return await self._until_hang_up(exchange)
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            exchange.request.chunks_sent += 1
            await self._notify()
        if reply.stall_at == len(reply.chunks):
            return await self._until_hang_up(exchange)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async def _until_hang_up(self, exchange: _Exchange) -> bool:
        """Send nothing more until the client hangs up."""
        await exchange.writer.drain()
        await exchange.hang_up()
        return await self._record_hang_up(exchange)

    async def _record_hang_up(self, exchange: _Exchange) -> bool:
        exchange.request.disconnected = True
        await self._notify()
        return False

    async def _send_json(self, exchange: _Exchange, status: int, payload: object) -> bool:
        body = json.dumps(payload).encode()
        exchange.writer.write(
            f"HTTP/1.1 {status} {_STATUS_TEXT[status]}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await exchange.writer.drain()
        return True

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


def _error_body(code: str, message: str = "scripted failure") -> dict[str, Any]:
    return {"detail": {"status": code, "message": message}}
