"""A call at text level: the engine, its brains and the clinic's database, without audio.

`frontdesk chat` types into it, the tests hold whole conversations with it, and the test-call
suite's text mode drives it. The brains are Claude (when a key is configured) falling back to
the deterministic brain.
"""

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.engine import Engine

from frontdesk.agent.brains.base import Brain
from frontdesk.agent.brains.fallback import FallbackBrain
from frontdesk.agent.call_actions import CallActions
from frontdesk.agent.call_state import CallState
from frontdesk.agent.clinic_profile import ClinicProfile
from frontdesk.agent.database_actions import database_call_actions, load_clinic_profile
from frontdesk.agent.engine import Receptionist
from frontdesk.agent.opening import open_call
from frontdesk.agent.prompt import build_system_prompt


class TextCall:
    """One conversation with a clinic's receptionist, turn by typed turn."""

    def __init__(
        self,
        engine: Engine,
        clinic_id: uuid.UUID,
        caller_number: str,
        *,
        brains: Sequence[Brain] = (),
        now: Callable[[], datetime] | None = None,
        call_key: str | None = None,
        direction: Literal["inbound", "outbound"] = "inbound",
        purpose: str | None = None,
        appointment_id: uuid.UUID | None = None,
        campaign_kind: str | None = None,
        actions_for: Callable[[ClinicProfile], CallActions] | None = None,
    ) -> None:
        """`caller_number` is the patient's side; an outbound call (the clinic calling them) may
        carry its purpose, the appointment it is about and its campaign's kind. The call's actions
        go straight to the database, or through `actions_for(profile)` (e.g. a CallWorkflow's)."""
        self.now = now or (lambda: datetime.now(UTC))
        self.profile: ClinicProfile = load_clinic_profile(engine, clinic_id)
        self.state = CallState(
            caller_number=caller_number,
            direction=direction,
            purpose=purpose,
            appointment_id=appointment_id,
            campaign_kind=campaign_kind,
        )
        self.actions = (
            actions_for(self.profile)
            if actions_for is not None
            else database_call_actions(
                engine, self.profile, call_key or f"text-{uuid.uuid4().hex}", now=self.now
            )
        )
        self._brains = [*brains, FallbackBrain(self.now)]
        self._receptionist: Receptionist | None = None

    @property
    def receptionist(self) -> Receptionist:
        """The call's engine, once the call has started."""
        if self._receptionist is None:
            raise RuntimeError("the call has not started: await start() first")
        return self._receptionist

    async def start(self) -> str:
        """Pick up: look up who the call is with (context for the prompt) and return the greeting."""
        greeting = await open_call(self.profile, self.actions, self.state)
        prompt = build_system_prompt(self.profile, self.state, self.now())
        self._receptionist = Receptionist(
            self.profile, self.actions, self.state, self._brains, prompt, now=self.now
        )
        self._receptionist.greet(greeting)
        return greeting

    async def say(self, text: str) -> str:
        """The agent's whole reply to what the caller typed."""
        return "".join([chunk async for chunk in self.receptionist.respond(text)]).strip()

    @property
    def ended(self) -> bool:
        """Whether the agent ended or transferred the call."""
        return self.state.ended
