"""One step of the fallback brain: the words it says and at most one tool call, over the call's
context and the dialogue it changes. Every flow module acts through a `Reply`."""

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from frontdesk.agent.brains.base import BrainContext
from frontdesk.agent.brains.fallback.dialogue import Awaiting, Dialogue
from frontdesk.agent.call_state import CallState
from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.conversation import ToolUseBlock
from frontdesk.agent.understanding.reading import ClinicVocabulary


class Reply:
    """What the brain says and does in answer to one caller utterance or one tool result."""

    def __init__(
        self,
        context: BrainContext,
        dialogue: Dialogue,
        now: Callable[[], datetime],
        tool_ids: Iterator[int],
    ) -> None:
        self.context = context
        self.dialogue = dialogue
        self._now = now
        self._tool_ids = tool_ids
        self.words: list[str] = []
        self.call: ToolUseBlock | None = None

    @property
    def profile(self) -> ClinicProfile:
        """The clinic the call is for."""
        return self.context.profile

    @property
    def state(self) -> CallState:
        """What the call has established (patient, appointments, direction)."""
        return self.context.state

    @property
    def vocabulary(self) -> ClinicVocabulary:
        """The clinic's words an utterance is read against."""
        return ClinicVocabulary.of(self.profile)

    def now(self) -> datetime:
        """The present moment (aware)."""
        return self._now()

    def local_now(self) -> datetime:
        """The present moment in the clinic's time zone."""
        return self._now().astimezone(self.profile.tz)

    def is_open(self) -> bool:
        """Whether the clinic is open now."""
        return self.profile.is_open(self._now())

    def speak(self, *sentences: str) -> None:
        """Say these sentences (empty ones are skipped)."""
        self.words.extend(s for s in sentences if s)

    def use(self, tool: str, **arguments: Any) -> None:
        """Call a tool after the words; its result comes back as the next step."""
        self.call = ToolUseBlock(id=f"fallback_{next(self._tool_ids)}", name=tool, input=arguments)
        self.dialogue.pending_tool = tool

    def ask(self, awaiting: Awaiting, *sentences: str) -> None:
        """Say these sentences, the last a question whose answer the agent now waits for."""
        self.dialogue.awaiting = awaiting
        self.speak(*sentences)
