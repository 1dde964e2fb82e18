"""The interface every brain implements: given the call so far, stream words and tool calls."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from frontdesk.agent.call_state import CallState
from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.conversation import Conversation, ToolUseBlock


@dataclass(frozen=True)
class TextDelta:
    """A piece of the agent's reply, streamed as soon as the brain has it."""

    text: str


@dataclass(frozen=True)
class ToolCallStarted:
    """The brain began writing a tool call (its arguments follow; the complete call comes at the
    message's end): the words before it are whole, and the caller may wait for the tool."""

    name: str


BrainEvent = TextDelta | ToolCallStarted | ToolUseBlock


@dataclass
class BrainContext:
    """What a brain is given for one step: who, what so far, and the facts of the call."""

    profile: ClinicProfile
    conversation: Conversation
    state: CallState
    system_prompt: list[dict[str, Any]]  # Anthropic system blocks (frontdesk.agent.prompt)


class BrainError(Exception):
    """A brain could not answer (vendor error, overload, time-out); the next brain takes over."""


class Brain(Protocol):
    """Streams one agent message: text deltas, then any tool calls (complete, in order). A brain
    that streams a tool call's arguments says when each call begins (`ToolCallStarted`).

    A message ending in tool calls is followed, once their results are in the conversation,
    by another step; a message with no tool calls ends the agent's turn.
    """

    name: str

    def step(self, context: BrainContext) -> AsyncIterator[BrainEvent]:
        """Stream the next agent message."""
        ...


@runtime_checkable
class StatefulBrain(Protocol):
    """A brain that remembers the call beyond the conversation (the deterministic brain's dialogue
    state): a reply the engine abandons unconfirmed is undone in it too."""

    def checkpoint(self) -> object:
        """Its memory as it is now."""
        ...

    def restore(self, saved: object) -> None:
        """Back to a memory `checkpoint()` returned."""
        ...
