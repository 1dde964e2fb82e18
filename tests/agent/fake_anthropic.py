"""A fake Anthropic Messages API on 127.0.0.1, for tests that run the real `anthropic` SDK.

It speaks the real wire protocol: `POST /v1/messages` with `stream: true` answers with
Server-Sent Events, each with its `event:` line (message_start, ping, content_block_start,
content_block_delta with text_delta or input_json_delta, content_block_stop, message_delta,
message_stop, and `error`), and HTTP errors carry the documented JSON error bodies.

A test scripts the replies in order (`FakeAnthropic.script`) and afterwards reads what the SDK
sent (`FakeAnthropic.requests`). Requests are checked the way the real API checks them (roles
alternate, every tool_use is answered by a tool_result in the next message...); a malformed one
gets a 400 invalid_request_error and is listed in `FakeAnthropic.rejections`.

The server runs in a background thread with its own event loop, so it serves sync and async
tests, and other processes (by its `url`), alike.
"""

import asyncio
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import anthropic
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

STARTUP_SECONDS = 10.0


@dataclass(frozen=True, init=False)
class Text:
    """A text content block, streamed as one text_delta per chunk."""

    chunks: tuple[str, ...]

    def __init__(self, *chunks: str) -> None:
        if not chunks:
            raise ValueError("a Text block needs at least one chunk")
        object.__setattr__(self, "chunks", chunks)


@dataclass(frozen=True)
class ToolUse:
    """A tool_use content block whose input is streamed as `pieces` input_json_delta fragments.

    `raw_json` is sent instead of `input` when set (to stream input that is not valid JSON).
    `id` defaults to a fresh "toolu_..." id.
    """

    name: str
    input: dict[str, Any] = field(default_factory=dict)
    pieces: int = 3
    raw_json: str | None = None
    id: str | None = None


Stall = Literal["before_headers", "before_first_token", "before_message_stop"]


@dataclass(frozen=True, init=False)
class Reply:
    """One streamed message.

    - `error`: an `error` SSE event of this type (e.g. "overloaded_error") follows the blocks,
      and the stream ends there, as the real API ends a failed stream.
    - `ending`: "message_stop" (a complete message), "eof" (the body ends after the blocks with
      no message_delta/message_stop) or "reset" (the connection is dropped mid-body).
    - `stall`: hold the reply "before_headers", "before_first_token" (after message_start and a
      ping) or "before_message_stop" (after the blocks) until the client gives up and disconnects.
    - `stop_reason`: defaults to "tool_use" when a ToolUse block is present, else "end_turn".
    """

    blocks: tuple[Text | ToolUse, ...]
    error: str | None = None
    ending: Literal["message_stop", "eof", "reset"] = "message_stop"
    stall: Stall | None = None
    stop_reason: str | None = None

    def __init__(
        self,
        *blocks: Text | ToolUse,
        error: str | None = None,
        ending: Literal["message_stop", "eof", "reset"] = "message_stop",
        stall: Stall | None = None,
        stop_reason: str | None = None,
    ) -> None:
        if error is not None and ending != "message_stop":
            raise ValueError("a Reply ends either with an error event or with its `ending`, not both")
        for name, value in [
            ("blocks", blocks),
            ("error", error),
            ("ending", ending),
            ("stall", stall),
            ("stop_reason", stop_reason),
        ]:
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class HttpError:
    """An HTTP error response with the API's JSON error body."""

    status: int
    type: str
    message: str


def overloaded() -> HttpError:
    """The API's 529 overloaded error."""
    return HttpError(529, "overloaded_error", "Overloaded")


def internal_error() -> HttpError:
    """The API's 500 api_error."""
    return HttpError(500, "api_error", "Internal server error")


@dataclass(frozen=True)
class RecordedRequest:
    """A request the fake received: its headers (lower-cased names) and its JSON body."""

    headers: dict[str, str]
    body: dict[str, Any]


class ScriptedReset(ConnectionResetError):
    """Raised inside a reply to make the server drop the connection mid-body."""


class _QuietScriptedResets(logging.Filter):
    """Keeps uvicorn from logging a scripted connection drop as an application error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ScriptedReset))


_QUIET_RESETS = _QuietScriptedResets()


class InvalidRequest(ValueError):
    """A request the real API would reject with a 400 invalid_request_error."""


class FakeAnthropic:
    """The fake server: `start()`, `script(...)` replies, read `requests`, `stop()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[Reply | HttpError] = deque()
        self._requests: list[RecordedRequest] = []
        self._rejections: list[str] = []
        self._count = 0
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL to give `AsyncAnthropic(base_url=...)`."""
        if self._socket is None:
            raise RuntimeError("the fake Anthropic server is not started")
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeAnthropic":
        """Serve on an ephemeral port of 127.0.0.1 in a background thread; return once it accepts."""
        if self._thread is not None:
            raise RuntimeError("the fake Anthropic server is already started")
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        app = Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5
        )
        self._server = uvicorn.Server(config)
        logging.getLogger("uvicorn.error").addFilter(_QUIET_RESETS)
        self._thread = threading.Thread(target=self._serve, name="fake-anthropic", daemon=True)
        self._thread.start()
        give_up = time.monotonic() + STARTUP_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > give_up:
                raise RuntimeError("the fake Anthropic server did not start")
            time.sleep(0.01)
        return self

    def _serve(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._closing = asyncio.Event()
            assert self._server is not None and self._socket is not None
            await self._server.serve(sockets=[self._socket])

        asyncio.run(main())

    def stop(self) -> None:
        """Release any stalled reply and shut the server down."""
        if self._server is None or self._thread is None:
            return
        if self._loop is not None and self._closing is not None:
            self._loop.call_soon_threadsafe(self._closing.set)
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_SECONDS)
        if self._thread.is_alive():
            raise RuntimeError("the fake Anthropic server did not stop")
        assert self._socket is not None
        self._socket.close()

    # --- the test's side -------------------------------------------------------------------

    def script(self, *replies: Reply | HttpError) -> None:
        """Queue replies; each request takes the next one."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        """Forget the script, the recorded requests and the rejections; number requests from 1 again."""
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self._rejections.clear()
            self._count = 0

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (rejected ones included)."""
        with self._lock:
            return list(self._requests)

    @property
    def rejections(self) -> list[str]:
        """Why requests were refused: each 400 invalid_request_error, and requests with no reply left."""
        with self._lock:
            return list(self._rejections)

    @property
    def pending(self) -> int:
        """How many scripted replies are still unused."""
        with self._lock:
            return len(self._script)

    # --- the API's side --------------------------------------------------------------------

    async def _messages(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = json.loads(await request.body())
        except json.JSONDecodeError:
            return self._reject({}, headers, "the request body is not valid JSON")
        if not isinstance(body, dict):
            return self._reject({}, headers, "the request body must be a JSON object")
        if not headers.get("x-api-key") and not headers.get("authorization"):
            self._record(headers, body)
            return _error_response(401, "authentication_error", "x-api-key header is required")
        try:
            check_request(body, headers)
        except InvalidRequest as problem:
            return self._reject(body, headers, str(problem))
        with self._lock:
            self._requests.append(RecordedRequest(headers, body))
            self._count += 1
            number = self._count
            reply = self._script.popleft() if self._script else None
        if reply is None:
            with self._lock:
                self._rejections.append("no scripted reply left")
            return _error_response(500, "api_error", "fake Anthropic server: no scripted reply left")
        if isinstance(reply, HttpError):
            return _error_response(reply.status, reply.type, reply.message, number)
        if reply.stall == "before_headers":
            await self._hold(request)
            return Response(status_code=499)  # the client has gone: nobody reads this
        return StreamingResponse(
            self._events(reply, body, number),
            media_type="text/event-stream",
            headers={"request-id": f"req_fake_{number}", "cache-control": "no-cache"},
        )

    def _record(self, headers: dict[str, str], body: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(RecordedRequest(headers, body))

    def _reject(self, body: dict[str, Any], headers: dict[str, str], reason: str) -> Response:
        with self._lock:
            self._requests.append(RecordedRequest(headers, body))
            self._rejections.append(reason)
        return _error_response(400, "invalid_request_error", reason)

    async def _hold(self, request: Request | None) -> None:
        """Wait until the client disconnects (or the server closes)."""
        assert self._closing is not None
        waits = [asyncio.ensure_future(self._closing.wait())]
        if request is not None:
            waits.append(asyncio.ensure_future(_disconnected(request)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def _events(self, reply: Reply, body: dict[str, Any], number: int) -> AsyncIterator[bytes]:
        prompt_chars = len(json.dumps([body.get("system"), body.get("tools"), body.get("messages")]))
        yield _sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": f"msg_fake_{number}",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": prompt_chars // 4,
                        "output_tokens": 1,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                    },
                },
            },
        )
        yield _sse("ping", {"type": "ping"})
        if reply.stall == "before_first_token":
            # Starlette cancels this generator when the client disconnects.
            await self._hold(None)
            return
        output_chars = 0
        for index, block in enumerate(reply.blocks):
            for name, data in _block_events(index, block, f"toolu_fake_{number}_{index}"):
                if name == "content_block_delta":
                    output_chars += len(json.dumps(data["delta"]))
                yield _sse(name, data)
        if reply.stall == "before_message_stop":
            await self._hold(None)
            return
        if reply.error is not None:
            yield _sse("error", {"type": "error", "error": {"type": reply.error, "message": _title(reply)}})
            return
        if reply.ending == "eof":
            return
        if reply.ending == "reset":
            raise ScriptedReset("fake Anthropic server: connection dropped mid-stream, as scripted")
        stop_reason = reply.stop_reason or (
            "tool_use" if any(isinstance(b, ToolUse) for b in reply.blocks) else "end_turn"
        )
        yield _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": max(1, output_chars // 4)},
            },
        )
        yield _sse("message_stop", {"type": "message_stop"})


def _title(reply: Reply) -> str:
    return {"overloaded_error": "Overloaded", "api_error": "Internal server error"}.get(
        reply.error or "", "Stream error"
    )


def _block_events(index: int, block: Text | ToolUse, default_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The content_block_start/delta/stop events of one block."""
    events: list[tuple[str, dict[str, Any]]] = []
    if isinstance(block, Text):
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": chunk} for chunk in block.chunks]
    else:
        start = {"type": "tool_use", "id": block.id or default_id, "name": block.name, "input": {}}
        raw = block.raw_json if block.raw_json is not None else json.dumps(block.input)
        # The API opens a tool's input with an empty fragment, then streams the JSON in pieces.
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *_split(raw, block.pieces)]]
    events.append(
        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
    )
    events.extend(
        ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas
    )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def _split(text: str, pieces: int) -> list[str]:
    """`text` cut into `pieces` consecutive, nearly equal fragments (fewer when it is shorter)."""
    if pieces < 1:
        raise ValueError("a tool input is streamed in at least one piece")
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _error_response(status: int, error_type: str, message: str, number: int | None = None) -> JSONResponse:
    headers = {"request-id": f"req_fake_{number}"} if number is not None else None
    return JSONResponse(
        {"type": "error", "error": {"type": error_type, "message": message}},
        status_code=status,
        headers=headers,
    )


async def _disconnected(request: Request) -> None:
    # The body has been read, so the next ASGI message is the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


def check_request(body: dict[str, Any], headers: dict[str, str]) -> None:
    """Raise InvalidRequest where the real Messages API would answer 400."""
    if "anthropic-version" not in headers:
        raise InvalidRequest("anthropic-version header is required")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("model: Field required")
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        raise InvalidRequest("max_tokens: must be a positive integer")
    if body.get("stream") is not True:
        raise InvalidRequest("this fake serves streaming requests only (stream: true)")
    breakpoints = _check_system(body.get("system")) + _check_tools(body.get("tools"))
    breakpoints += _check_messages(body.get("messages"))
    if breakpoints > 4:
        raise InvalidRequest(
            f"A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}."
        )


def _check_cache_control(block: dict[str, Any], where: str) -> int:
    control = block.get("cache_control")
    if control is None:
        return 0
    if control != {"type": "ephemeral"} and not (
        isinstance(control, dict)
        and control.get("type") == "ephemeral"
        and control.get("ttl") in ("5m", "1h")
    ):
        raise InvalidRequest(f"{where}.cache_control: must be {{'type': 'ephemeral'}}")
    return 1


def _check_system(system: Any) -> int:
    if system is None or isinstance(system, str):
        return 0
    if not isinstance(system, list):
        raise InvalidRequest("system: must be a string or a list of text blocks")
    breakpoints = 0
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text" or not block.get("text"):
            raise InvalidRequest(f"system.{i}: must be a non-empty text block")
        breakpoints += _check_cache_control(block, f"system.{i}")
    return breakpoints


def _check_tools(tools: Any) -> int:
    if tools is None:
        return 0
    if not isinstance(tools, list):
        raise InvalidRequest("tools: must be a list")
    breakpoints = 0
    names = set()
    for i, tool in enumerate(tools):
        if (
            not isinstance(tool, dict)
            or not tool.get("name")
            or not isinstance(tool.get("input_schema"), dict)
        ):
            raise InvalidRequest(f"tools.{i}: a tool needs a name and an input_schema")
        if tool["name"] in names:
            raise InvalidRequest(f"tools: tool names must be unique ({tool['name']})")
        names.add(tool["name"])
        breakpoints += _check_cache_control(tool, f"tools.{i}")
    return breakpoints


def _check_messages(messages: Any) -> int:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: at least one message is required")
    breakpoints = 0
    pending_tool_uses: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{i}.role: must be 'user' or 'assistant'")
        if i == 0 and role != "user":
            raise InvalidRequest("messages: the first message must use the 'user' role")
        if i > 0 and messages[i - 1]["role"] == role:
            raise InvalidRequest(f"messages.{i}: roles must alternate between 'user' and 'assistant'")
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list) or not content:
            raise InvalidRequest(f"messages.{i}.content: must be a non-empty string or list of blocks")
        answered: set[str] = set()
        for j, block in enumerate(content):
            where = f"messages.{i}.content.{j}"
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                if not isinstance(block.get("text"), str) or not block["text"]:
                    raise InvalidRequest(f"{where}: text content blocks must be non-empty")
            elif kind == "tool_use":
                if role != "assistant":
                    raise InvalidRequest(f"{where}: tool_use blocks are only allowed in assistant messages")
                if not isinstance(block.get("input"), dict):
                    raise InvalidRequest(f"{where}.input: must be an object")
            elif kind == "tool_result":
                if role != "user":
                    raise InvalidRequest(f"{where}: tool_result blocks are only allowed in user messages")
                if block.get("tool_use_id") not in pending_tool_uses:
                    raise InvalidRequest(
                        f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                        "`tool_use` block in the previous message."
                    )
                answered.add(block["tool_use_id"])
            else:
                raise InvalidRequest(f"{where}.type: unsupported content block type {kind!r}")
            breakpoints += _check_cache_control(block, where)
        if role == "user" and pending_tool_uses - answered:
            raise InvalidRequest(
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                f"{', '.join(sorted(pending_tool_uses - answered))}"
            )
        pending_tool_uses = (
            {b["id"] for b in content if isinstance(b, dict) and b.get("type") == "tool_use"}
            if role == "assistant"
            else set()
        )
    return breakpoints


# --- pytest fixtures (a suite's conftest.py imports them to use the fake) ----------------------


@pytest.fixture(scope="session")
def fake_anthropic_server() -> Iterator[FakeAnthropic]:
    """One fake Messages API server for the whole test session."""
    server = FakeAnthropic().start()
    yield server
    server.stop()


@pytest.fixture
def fake_anthropic(fake_anthropic_server: FakeAnthropic) -> FakeAnthropic:
    """The fake Messages API with an empty script and no recorded requests."""
    fake_anthropic_server.reset()
    return fake_anthropic_server


@pytest.fixture
async def anthropic_client(fake_anthropic: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """The real SDK client aimed at the fake, without retries (as on the call path)."""
    client = anthropic.AsyncAnthropic(api_key="test-key", base_url=fake_anthropic.url, max_retries=0)
    yield client
    await client.close()
