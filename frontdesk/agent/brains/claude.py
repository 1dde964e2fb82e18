"""The Claude brain: Anthropic Messages API streaming with tool use.

One `step` is one streamed Messages API request: text deltas are passed on as they arrive and
the message's tool calls, complete, at its end. Failures never retry here: on the call path a
retry costs seconds of silence, so any error (HTTP status, overload, connection, an `error`
event mid-stream, no first token in time) becomes a `BrainError` and the engine hands the call
to the next brain at once.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anthropic
import httpx2
from anthropic.types import (
    InputJSONDelta,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    RawMessageStreamEvent,
)
from anthropic.types import TextDelta as ApiTextDelta
from anthropic.types import ToolUseBlock as ApiToolUseBlock

from frontdesk.agent.brains.base import BrainContext, BrainError, BrainEvent, TextDelta, ToolCallStarted
from frontdesk.agent.conversation import ToolUseBlock
from frontdesk.agent.prompt import CACHE_CONTROL
from frontdesk.agent.specialists import focus_block
from frontdesk.agent.tools import tool_definitions
from frontdesk.config import Settings
from frontdesk.logs import get_logger

log = get_logger(__name__)

# Client time limits on the call path: connecting, and the longest silence between two chunks.
CONNECT_SECONDS = 3.0
STREAM_IDLE_SECONDS = 10.0


class ClaudeBrain:
    """A brain answering with Claude; the client should be built with max_retries=0 for calls."""

    name = "claude"

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        model: str,
        first_token_timeout: float = 4.0,
        max_tokens: int = 400,
    ) -> None:
        if not model.strip():
            raise ValueError("ClaudeBrain needs a model name")
        if first_token_timeout <= 0:
            raise ValueError(f"first_token_timeout must be positive, not {first_token_timeout}")
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, not {max_tokens}")
        self.client = client
        self.model = model
        self.first_token_timeout = first_token_timeout
        self.max_tokens = max_tokens
        tools = tool_definitions()
        # A breakpoint on the last tool caches the tools; with the one on the static system block,
        # tools + system are one cached prefix per clinic.
        tools[-1] = {**tools[-1], "cache_control": dict(CACHE_CONTROL)}
        self.tools = tools

    async def step(self, context: BrainContext) -> AsyncIterator[BrainEvent]:
        """Stream the next agent message: text deltas as they arrive, then its tool calls."""
        message = _MessageAssembly()
        deadline = asyncio.get_running_loop().time() + self.first_token_timeout
        try:
            async with asyncio.timeout_at(deadline):
                stream = await self.client.messages.create(
                    model=self.model,
                    max_tokens=self.max_tokens,
                    system=[*context.system_prompt, focus_block(context.state)],
                    messages=[m.to_api() for m in context.conversation.messages],
                    tools=self.tools,
                    stream=True,
                )
            async with stream:
                events = aiter(stream)
                while not message.stopped:
                    # Only the wait for the first token is bounded; after it, the stream runs freely.
                    async with asyncio.timeout_at(None if message.started else deadline):
                        event = await anext(events, None)
                    if event is None:
                        raise BrainError("the Claude stream ended before message_stop")
                    match message.feed(event):
                        case str(text) if text:
                            yield TextDelta(text)
                        case ToolCallStarted() as started:
                            yield started
        except TimeoutError:
            raise BrainError(f"Claude sent no first token within {self.first_token_timeout:g}s") from None
        except anthropic.APIStatusError as error:
            raise BrainError(_describe_status_error(error)) from error
        except anthropic.APITimeoutError as error:
            raise BrainError("the Claude request timed out") from error
        except anthropic.APIConnectionError as error:
            raise BrainError(f"Claude is unreachable: {error.message}") from error
        except anthropic.APIError as error:
            raise BrainError(f"Claude API error: {type(error).__name__}") from error
        except httpx2.TransportError as error:
            # The SDK wraps transport errors of the request, not those while reading the stream.
            raise BrainError(f"the Claude stream broke off: {type(error).__name__}") from error
        log.info(
            "claude message",
            model=self.model,
            stop_reason=message.stop_reason,
            input_tokens=message.input_tokens,
            cache_read_tokens=message.cache_read_tokens,
            output_tokens=message.output_tokens,
            tool_calls=len(message.tool_uses),
        )
        if message.stop_reason == "max_tokens":
            log.warning("claude message cut at max_tokens", max_tokens=self.max_tokens)
        for call in message.tool_uses:
            yield call


def make_claude_brain(settings: Settings) -> ClaudeBrain | None:
    """The Claude brain for calls, or None when no Anthropic key is configured (offline twin then)."""
    if settings.anthropic_api_key is None or not settings.anthropic_api_key.get_secret_value():
        return None
    client = anthropic.AsyncAnthropic(
        api_key=settings.anthropic_api_key.get_secret_value(),
        base_url=settings.anthropic_base_url,
        max_retries=0,  # the engine falls back to the next brain instead of retrying
        # A stream that goes quiet mid-message fails in seconds, not after the SDK's ten minutes.
        timeout=anthropic.Timeout(STREAM_IDLE_SECONDS, connect=CONNECT_SECONDS),
    )
    return ClaudeBrain(client, settings.anthropic_model)


@dataclass
class _ToolInput:
    id: str
    name: str
    pieces: list[str] = field(default_factory=list)


@dataclass
class _MessageAssembly:
    """Builds one streamed message from its raw events: text passes through, tool calls accumulate."""

    started: bool = False  # the first content event arrived
    stopped: bool = False
    stop_reason: str | None = None
    input_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    tool_uses: list[ToolUseBlock] = field(default_factory=list)
    _open_tools: dict[int, _ToolInput] = field(default_factory=dict)

    def feed(self, event: RawMessageStreamEvent) -> str | ToolCallStarted:
        """Take one event; return the text it adds to the reply ("" when none), or the start of a
        tool call."""
        match event:
            case RawMessageStartEvent():
                usage = event.message.usage
                self.input_tokens = usage.input_tokens
                self.cache_read_tokens = usage.cache_read_input_tokens or 0
            case RawContentBlockStartEvent():
                self.started = True
                block = event.content_block
                if isinstance(block, ApiToolUseBlock):
                    self._open_tools[event.index] = _ToolInput(block.id, block.name)
                    return ToolCallStarted(block.name)
                elif block.type != "text":
                    raise BrainError(f"Claude sent an unexpected content block of type {block.type!r}")
            case RawContentBlockDeltaEvent():
                self.started = True
                delta = event.delta
                if isinstance(delta, ApiTextDelta):
                    return delta.text
                if isinstance(delta, InputJSONDelta) and event.index in self._open_tools:
                    self._open_tools[event.index].pieces.append(delta.partial_json)
                else:
                    raise BrainError(
                        f"Claude sent an unexpected {delta.type} for content block {event.index}"
                    )
            case RawContentBlockStopEvent():
                if (tool := self._open_tools.pop(event.index, None)) is not None:
                    self.tool_uses.append(_tool_use(tool))
            case RawMessageDeltaEvent():
                self.stop_reason = event.delta.stop_reason
                self.output_tokens = event.usage.output_tokens
            case RawMessageStopEvent():
                if self._open_tools:
                    raise BrainError("the Claude message stopped inside a tool call")
                self.stopped = True
        return ""


def _tool_use(tool: _ToolInput) -> ToolUseBlock:
    """The complete tool call, its input parsed from the streamed JSON fragments."""
    raw = "".join(tool.pieces)
    try:
        arguments = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as error:
        raise BrainError(f"Claude's input for tool {tool.name!r} is not valid JSON ({error.msg})") from None
    if not isinstance(arguments, dict):
        raise BrainError(f"Claude's input for tool {tool.name!r} is not a JSON object")
    return ToolUseBlock(id=tool.id, name=tool.name, input=arguments)


def _describe_status_error(error: anthropic.APIStatusError) -> str:
    """An API error as a log-safe sentence: status, error type and the API's message, no headers."""
    kind = error.type or "error"
    detail = f": {error.api_message}" if error.api_message else ""
    if error.status_code < 400:  # an `error` event in a stream that had started with 200
        return f"Claude stream {kind} mid-message{detail}"
    return f"Claude API {kind} (HTTP {error.status_code}){detail}"
