"""The receptionist: runs one call's conversation over a chain of brains and a tool runner.

It takes the caller's text turns and yields the agent's speakable text as it is generated.
It knows nothing of audio: the realtime turn loop (or a chat window, or a test) drives it.

Interruptions: when the consumer stops iterating a reply (barge-in), tool calls of that
unfinished message are dropped, never executed; a tool already running finishes and records its
result, and the calls of its round that had not started get a "not run" result, so every tool
call has its result and the conversation stays consistent. `heard` then cuts the reply's
messages to what the caller actually heard.

Speculation: a reply may be started before the caller's words are final (the turn loop's
preemptive generation). Its `gate` holds its tools until the words are confirmed; a reply
abandoned before the gate opened ran nothing, and `rewind` to the `checkpoint` taken before it
puts the conversation, the call's state and the brains back as they were.
"""

import asyncio
import copy
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from frontdesk.agent.acknowledgements import acknowledgement_for
from frontdesk.agent.actions import Actions
from frontdesk.agent.brains.base import Brain, BrainContext, BrainError, StatefulBrain, TextDelta
from frontdesk.agent.call_state import CallState
from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.conversation import Conversation, Message, TextBlock, ToolResultBlock, ToolUseBlock
from frontdesk.agent.specialists import triage
from frontdesk.agent.style import FillerFilter
from frontdesk.agent.tool_runner import ToolRunner
from frontdesk.logs import get_logger

log = get_logger(__name__)

# A reply may chain this many tool rounds (search, then book, then confirm...) before it must speak.
MAX_TOOL_ROUNDS = 6
# Ends the words a failed brain had begun, so the next brain's words make a new sentence.
_BROKEN_OFF = " \u2014 "
# The result of a tool call whose reply the caller interrupted before it ran.
NOT_RUN = "Not done: the caller interrupted before this ran. Ask again if it is still wanted."


@dataclass(frozen=True)
class Checkpoint:
    """The engine as it was before a reply: what `rewind` restores."""

    messages: list[Message]
    state: CallState
    brains: tuple[object, ...]  # each stateful brain's saved state, None for the others
    reply_from: int
    tool_rounds: int  # tool rounds begun before it


class Receptionist:
    """One call's conversation engine."""

    def __init__(
        self,
        profile: ClinicProfile,
        actions: Actions,
        state: CallState,
        brains: Sequence[Brain],
        system_prompt: list[dict[str, Any]],
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if not brains:
            raise ValueError("a receptionist needs at least one brain")
        self.profile = profile
        self.actions = actions
        self.state = state
        self.brains = list(brains)
        self.now = now or (lambda: datetime.now(UTC))
        self.conversation = Conversation()
        self.runner = ToolRunner(profile, actions, state, self.conversation, self.now)
        self._context = BrainContext(profile, self.conversation, state, system_prompt)
        self._active = 0
        self._tools: asyncio.Task[None] | None = None
        self._interrupted = False  # the reply whose tools run now was abandoned by its listener
        self._reply_from = len(self.conversation.messages)  # where the latest reply's messages begin
        self._tool_rounds = 0  # tool rounds begun in the call

    @property
    def brain(self) -> Brain:
        """The brain answering now (a failed brain is replaced by the next for the rest of the call)."""
        return self.brains[self._active]

    def greet(self, greeting: str) -> None:
        """Record the greeting the caller heard as the agent's first message."""
        self.conversation.add_caller_text("(the call connects)")
        self.conversation.add_agent([TextBlock(text=greeting)])

    def heard(self, text: str) -> None:
        """Cut the latest reply to what the caller actually heard (its messages only: a reply
        interrupted before it said anything leaves the earlier ones as they were)."""
        self.conversation.cut_agent_text(self._reply_from, text)

    async def settle(self) -> None:
        """Wait for the tools of an interrupted reply to finish and record their results (at the
        end of a call, so nothing it started is left running and the transcript is whole)."""
        if self._tools is not None:
            await self._tools

    @property
    def idle(self) -> bool:
        """Whether no tool of an interrupted reply is still running (a checkpoint may be taken)."""
        return self._tools is None or self._tools.done()

    def checkpoint(self) -> Checkpoint:
        """The engine as it is now, for `rewind` (only while `idle`)."""
        if not self.idle:
            raise RuntimeError("a checkpoint while tools run could not be rewound")
        return Checkpoint(
            [message.model_copy(deep=True) for message in self.conversation.messages],
            copy.deepcopy(self.state),
            tuple(brain.checkpoint() if isinstance(brain, StatefulBrain) else None for brain in self.brains),
            self._reply_from,
            self._tool_rounds,
        )

    def can_rewind(self, checkpoint: Checkpoint) -> bool:
        """Whether nothing since `checkpoint` ran a tool (the replies since can still be undone)."""
        return self.idle and self._tool_rounds == checkpoint.tool_rounds

    def rewind(self, checkpoint: Checkpoint) -> None:
        """Undo every reply since `checkpoint`, none of whose tools ran (their gate stayed shut)."""
        if not self.can_rewind(checkpoint):
            raise RuntimeError("a tool ran since the checkpoint: its effects cannot be undone")
        self.conversation.messages = [message.model_copy(deep=True) for message in checkpoint.messages]
        for item in fields(self.state):  # in place: the tool runner and the call share this state
            setattr(self.state, item.name, copy.deepcopy(getattr(checkpoint.state, item.name)))
        for brain, saved in zip(self.brains, checkpoint.brains, strict=True):
            if isinstance(brain, StatefulBrain):
                brain.restore(saved)
        self._reply_from = checkpoint.reply_from

    async def respond(self, caller_text: str, gate: asyncio.Event | None = None) -> AsyncIterator[str]:
        """The agent's reply to a caller turn, streamed as speakable text. With a `gate`, its
        tools wait until the gate is set (a speculative reply: see the module docstring)."""
        if self._tools is not None:
            await self._tools  # results of an interrupted reply's tools land first
        self.conversation.add_caller_text(caller_text)
        self._reply_from = len(self.conversation.messages)
        self._interrupted = False
        self.state.specialist = triage(caller_text, self.state.specialist, self.now())
        said = False  # whether this reply has said anything yet
        for _ in range(MAX_TOOL_ROUNDS):
            spoken: list[str] = []
            calls: list[ToolUseBlock] = []
            try:
                async for chunk in self._generate(spoken, calls, quiet=not said):
                    yield chunk
            except (GeneratorExit, asyncio.CancelledError):
                self._commit(spoken, [])  # interrupted: what was said stays, its tool calls are dropped
                raise
            self._commit(spoken, calls)
            said = said or bool(spoken)
            if not calls:
                return
            if gate is not None and not gate.is_set():
                try:
                    await gate.wait()
                except (GeneratorExit, asyncio.CancelledError):
                    for call in calls:  # abandoned unconfirmed: none of its calls ran
                        self.conversation.add_tool_result(
                            ToolResultBlock(tool_use_id=call.id, content=NOT_RUN, is_error=True)
                        )
                    raise
            # Tools run in their own task: an interruption while they run does not lose results.
            self._tool_rounds += 1
            self._tools = asyncio.ensure_future(self._run_tools(calls))
            try:
                await asyncio.shield(self._tools)
            except (GeneratorExit, asyncio.CancelledError):
                self._interrupted = True  # the round's calls not yet started will not run
                raise
            self._tools = None
            if self.state.ended:
                return
        log.warning("tool rounds exhausted", rounds=MAX_TOOL_ROUNDS)

    def _commit(self, spoken: list[str], calls: list[ToolUseBlock]) -> None:
        text = "".join(spoken).strip()
        self.conversation.add_agent([*([TextBlock(text=text)] if text else []), *calls])

    async def _run_tools(self, calls: list[ToolUseBlock]) -> None:
        for call in calls:
            if self._interrupted:
                result = ToolResultBlock(tool_use_id=call.id, content=NOT_RUN, is_error=True)
            else:
                result = await self.runner.run(call)
            self.conversation.add_tool_result(result)

    async def _generate(
        self, spoken: list[str], calls: list[ToolUseBlock], quiet: bool
    ) -> AsyncIterator[str]:
        """Stream one agent message from the active brain, falling back down the chain on failure.
        `quiet`: the reply has said nothing yet, so a tool call it begins with is acknowledged."""
        while True:
            text_filter = FillerFilter()
            tools_begun = False
            try:
                async for event in self.brain.step(self._context):
                    if isinstance(event, TextDelta):
                        if text := text_filter.feed(event.text):
                            spoken.append(text)
                            yield text
                        continue
                    if isinstance(event, ToolUseBlock):
                        calls.append(event)
                    if tools_begun:
                        continue
                    # The message's first tool call: the words before it are whole.
                    tools_begun = True
                    if tail := text_filter.flush():
                        spoken.append(tail)
                        yield tail
                    if spoken:
                        # A boundary lets speech release their last sentence now, not after the
                        # call's arguments, the tool round and the next message.
                        yield " "
                    elif quiet and (acknowledgement := acknowledgement_for(event.name)) is not None:
                        spoken.append(acknowledgement)
                        yield acknowledgement
                if tail := text_filter.flush():
                    spoken.append(tail)
                    yield tail
                return
            except BrainError as error:
                calls.clear()
                if self._active + 1 >= len(self.brains):
                    raise
                log.warning("brain failed, falling back", failed=self.brain.name, error=str(error))
                self._active += 1
                if spoken and not spoken[-1].rstrip().endswith((".", "?", "!")):
                    # Words of the failed message may be out already: the next brain's words start
                    # a new sentence after a break, as a person who restarts a sentence would.
                    spoken.append(_BROKEN_OFF)
                    yield _BROKEN_OFF
