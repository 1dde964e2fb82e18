"""An Anthropic Messages API (`POST /v1/messages`, streaming) whose answers come from the bench
receptionist (`receptionist.py`), paced by the latency profile: the first content event after the
drawn first-token delay, then tokens (about four characters each) at the profile's rate, text
and tool input alike. Events carry their `event:` lines, as the SDK requires."""

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from frontdesk.bench.profiles import DelayDraws
from frontdesk.bench.receptionist import Reply, is_summary_request, reply_to
from frontdesk.bench.vendor_log import LlmMessage, VendorLog

MESSAGES_PATH: Final = "/v1/messages"
CHARS_PER_TOKEN: Final = 4


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _tokens(text: str) -> list[str]:
    return [text[i : i + CHARS_PER_TOKEN] for i in range(0, len(text), CHARS_PER_TOKEN)]


class FakeAnthropic:
    """The messages endpoint: `endpoint` is a Starlette route handler."""

    def __init__(
        self,
        api_key: str,
        draws: DelayDraws,
        log: VendorLog,
        next_window: Callable[[], dict[str, Any] | None],
    ) -> None:
        self.api_key = api_key
        self.draws = draws
        self.log = log
        self.next_window = next_window
        self._ids = itertools.count(1)

    async def endpoint(self, request: Request) -> Response:
        """Answer one Messages request with a stream (or the API's JSON error)."""
        arrived_at = time.monotonic()
        # The SDK sends the key as a bearer token; the raw API takes x-api-key: either will do.
        keys = {
            request.headers.get("x-api-key"),
            request.headers.get("authorization", "").removeprefix("Bearer "),
        }
        if self.api_key not in keys:
            return _error(401, "authentication_error", "invalid API key")
        try:
            body = await request.json()
        except ClientDisconnect:  # the platform gave up on this request while sending it
            return Response(status_code=499)
        if body.get("stream") is not True:
            return _error(400, "invalid_request_error", "the bench's fake serves streaming requests only")
        reply = reply_to(body, self.next_window)
        number = next(self._ids)
        stream = self._stream(reply, body, number, arrived_at, is_summary_request(body))
        return StreamingResponse(
            stream, media_type="text/event-stream", headers={"request-id": f"req_bench_{number}"}
        )

    async def _stream(
        self, reply: Reply, body: dict[str, Any], number: int, arrived_at: float, summary: bool
    ) -> AsyncIterator[bytes]:
        drawn = self.draws.llm_ms()
        rate = self.draws.profile.tokens_per_second
        usage = {"input_tokens": len(json.dumps(body["messages"])) // CHARS_PER_TOKEN, "output_tokens": 1}
        message = {
            "id": f"msg_bench_{number}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        yield _sse("message_start", {"type": "message_start", "message": message})
        await asyncio.sleep(max(0.0, arrived_at + drawn / 1000 - time.monotonic()))
        emitted = 0  # tokens sent so far, paced from the first one
        first_token_at = time.monotonic()

        async def pace() -> None:
            nonlocal emitted
            emitted += 1
            if rate:
                await asyncio.sleep(max(0.0, first_token_at + emitted / rate - time.monotonic()))

        sent: list[tuple[str, float]] = []
        first_tool: tuple[str, float] | None = None
        index = 0
        if reply.text:
            yield _sse(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            )
            for token in _tokens(reply.text):
                yield _sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": token},
                    },
                )
                sent.append((token, time.monotonic()))
                await pace()
            yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
            index = 1
        for offset, tool in enumerate(reply.tools):
            block = {
                "type": "tool_use",
                "id": f"toolu_bench_{number}_{offset}",
                "name": tool.name,
                "input": {},
            }
            yield _sse(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
            )
            first_tool = first_tool or (tool.name, time.monotonic())
            for piece in ["", *_tokens(json.dumps(tool.input))]:
                yield _sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                )
                await pace()
            yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
            index += 1
        stop_reason = "tool_use" if reply.tools else "end_turn"
        yield _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": max(1, emitted)},
            },
        )
        yield _sse("message_stop", {"type": "message_stop"})
        self.log.llm.append(
            LlmMessage(
                reply.tag,
                reply.line,
                arrived_at,
                drawn,
                tuple(sent),
                time.monotonic(),
                len(reply.tools),
                summary,
                first_tool,
            )
        )


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)
