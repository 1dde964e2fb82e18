"""Running a scenario as a phone call: the caller's lines spoken by the offline voice through the
real webhooks and Media Streams path of a running stack, with the stack's STT, engine, TTS,
CallWorkflow and PostCallWorkflow.

Each scenario gets a clinic of its own and is checked as every stack run is (see stack_runner).
The call happens at the scenario's moment (the voice webhook's `?clock=`, which the stack must
allow: `frontdesk dev` does). An outbound scenario's call is the one a campaign's dialler would
place: the runner creates its campaign target, then posts the voice webhook as Twilio does once
the patient (or their answering machine) picks up. `max_voice_to_voice_ms` is checked against
each reply's latency as the caller measured it: end of its line -> first agent audio received.
`transfer_said` is reported as skipped when the call transferred: the caller hears the replies,
not which one made the transfer, and the stored transcript does not record it.
"""

import asyncio
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.engine import Engine
from temporalio.client import Client

from frontdesk.caller.conversation import CallResult, converse, render_lines
from frontdesk.caller.media_client import noise_frames
from frontdesk.caller.script import BargeIn, Dtmf, Hangup, Say, Silence, Step
from frontdesk.caller.webhook import (
    STATUS_PATH,
    VOICE_PATH,
    CallPlaced,
    answer_outbound,
    at_moment,
    new_call_sid,
    place_call,
    report_outbound_status,
    report_status,
)
from frontdesk.config import Settings
from frontdesk.domain.models import Clinic
from frontdesk.eval.outbound import answered_by_machine, scenario_target
from frontdesk.eval.results import ScenarioResult
from frontdesk.eval.scenario import Scenario, Turn
from frontdesk.eval.stack_runner import StackModeError, StackRunner
from frontdesk.realtime.speech.base import TextToSpeech
from frontdesk.telephony.twilio.protocol import TARGET_QUERY

MACHINE_VERDICT: Final = "machine_end_beep"
# Caller turns whose reply latency is a voice-to-voice figure (a key press is not voice).
SPOKEN: Final = ("say", "barge_in")


@dataclass(frozen=True)
class _Placed:
    """A call the stack answered: what its webhook said, and how to tell it the call ended."""

    placed: CallPlaced
    status_url: str
    clinic_number: str
    outbound: bool


def caller_steps(turns: list[Turn]) -> list[Step]:
    """The scenario's turns as the simulated caller's steps (a multi-key dtmf is one press per key)."""
    steps: list[Step] = []
    for turn in turns:
        if turn.say is not None:
            steps.append(Say(turn.say))
        elif turn.barge_in is not None:
            steps.append(BargeIn(turn.barge_in))
        elif turn.dtmf is not None:
            steps.extend(Dtmf(digit) for digit in turn.dtmf)
        elif turn.silence is not None:
            steps.append(Silence(turn.silence))
        else:
            steps.append(Hangup())
    return steps


class AudioRunner(StackRunner):
    """Runs scenarios one by one as calls into the stack at `base_url`."""

    mode = "audio"

    def __init__(
        self, settings: Settings, base_url: str, engine: Engine, temporal: Client, tts: TextToSpeech
    ) -> None:
        super().__init__(settings, base_url, engine, temporal)
        self._tts = tts
        self._speech: dict[str, bytes] = {}  # every line rendered once per run

    async def _hold_call(
        self, scenario: Scenario, clinic: Clinic, number: str, result: ScenarioResult
    ) -> None:
        instant = scenario.instant(clinic.tz)
        steps = caller_steps(scenario.turns)
        missing = [s for s in steps if isinstance(s, Say | BargeIn) and s.text not in self._speech]
        self._speech |= await render_lines(self._tts, missing)
        call = await self._place(scenario, clinic, number, instant)
        caller = CallResult(call.placed.call_sid, number, said_by_carrier=call.placed.said)
        if call.placed.stream_url is not None:
            noise = noise_frames(scenario.noise_db) if scenario.noise_db is not None else None
            await converse(self._settings, call.placed, steps, self._speech, caller, noise)
        elif not answered_by_machine(scenario):
            raise StackModeError(
                f"the stack answered {number} as not in service: the eval must use the stack's database "
                "(FRONTDESK_DATABASE_URL)"
            )
        await self._hang_up(call, scenario.caller)
        if call.placed.stream_url is not None:
            await self._wait_for_workflows(call.placed.call_sid)
        result.turns = sum(turn.kind in (*SPOKEN, "dtmf") for turn in caller.turns)
        result.caller_steps = [asdict(turn) for turn in caller.turns]
        result.voice_to_voice_ms = [
            turn.latency_ms for turn in caller.turns if turn.kind in SPOKEN and turn.latency_ms is not None
        ]
        # The stored transcript does not say which reply made the transfer (see the module docstring).
        await self._check(call.placed.call_sid, clinic, scenario, result, call.placed.said, None)

    async def _place(self, scenario: Scenario, clinic: Clinic, number: str, instant: datetime) -> _Placed:
        status_url = self._base_url + STATUS_PATH
        if scenario.direction == "inbound":
            placed = await place_call(self._settings, self._base_url, number, scenario.caller, instant)
            return _Placed(placed, status_url, number, outbound=False)
        target = await asyncio.to_thread(scenario_target, self._engine, clinic, scenario, instant)
        voice_url = at_moment(f"{self._base_url}{VOICE_PATH}?{TARGET_QUERY}={target.target_id}", instant)
        verdict = MACHINE_VERDICT if answered_by_machine(scenario) else "human"
        placed = await answer_outbound(
            self._settings, voice_url, new_call_sid(), number, scenario.caller, answered_by=verdict
        )
        return _Placed(placed, status_url, number, outbound=True)

    async def _hang_up(self, call: _Placed, patient: str) -> None:
        """Tell the stack the call is over, as Twilio's final status callback does."""
        sid = call.placed.call_sid
        if call.outbound:
            await report_outbound_status(
                self._settings, call.status_url, sid, call.clinic_number, patient, "completed"
            )
        else:
            await report_status(self._settings, self._base_url, sid, call.clinic_number, "completed")
