"""Running a scenario as a phone call: the caller's lines spoken by the offline voice through the
real webhooks and Media Streams path of a running stack, with the stack's STT, engine, TTS,
CallWorkflow and PostCallWorkflow.

Each scenario gets a clinic of its own in the stack's database: a copy of the demo clinic under
a fresh slug and phone number, seeded relative to the scenario's `now`, so scenarios cannot see
each other's bookings. The call happens at the scenario's moment (the voice webhook's `?clock=`,
which the stack must allow: `frontdesk dev` does). An outbound scenario's call is the one a
campaign's dialler would place: the runner creates its campaign target, then posts the voice
webhook as Twilio does once the patient (or their answering machine) picks up.

Expectations are checked once the call's workflows are done: outcome, appointment and transfer
in the database as in text mode; `confirmation_sent` in the messages the post-call workflow
actually sent; the agent's words in the stored transcript (what the caller heard); and
`max_voice_to_voice_ms` against each reply's latency as the caller measured it.
"""

import asyncio
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy.engine import Engine
from sqlmodel import col, select
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError

from frontdesk.caller.conversation import CallResult, converse, render_lines
from frontdesk.caller.media_client import noise_frames
from frontdesk.caller.script import BargeIn, Dtmf, Hangup, Say, Silence, Step
from frontdesk.caller.webhook import (
    STATUS_PATH,
    VOICE_PATH,
    CallPlaced,
    WebhookError,
    answer_outbound,
    at_moment,
    new_call_sid,
    place_call,
    report_outbound_status,
    report_status,
)
from frontdesk.config import Settings
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Call, CallTurn, Clinic, Message, MessageStatus, TurnRole
from frontdesk.domain.seed import DEMO_SLUG, seed_demo
from frontdesk.eval.checks import check_call
from frontdesk.eval.outbound import OutboundScenarioError, answered_by_machine, scenario_target
from frontdesk.eval.results import Check, ScenarioResult
from frontdesk.eval.scenario import Scenario, Turn
from frontdesk.realtime.speech.base import TextToSpeech
from frontdesk.realtime.telephony.protocol import TARGET_QUERY
from frontdesk.workflows.call import post_call_workflow_id

# A scenario's whole call, its workflows included, must be over within this.
SCENARIO_TIMEOUT_SECONDS: Final = 300.0
# After the caller hangs up: the CallWorkflow stores the transcript, then its post-call child
# sends the confirmation. Guards against a stack that never finishes, not speed checks.
CALL_WORKFLOW_TIMEOUT_SECONDS: Final = 60.0
POST_CALL_TIMEOUT_SECONDS: Final = 120.0
MACHINE_VERDICT: Final = "machine_end_beep"
# Caller turns whose reply latency is a voice-to-voice figure (a key press is not voice).
SPOKEN: Final = ("say", "barge_in")


class AudioModeError(Exception):
    """A scenario audio mode cannot run as given; the message says why."""


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


class AudioRunner:
    """Runs scenarios one by one as calls into the stack at `base_url`, whose database and
    Temporal server `settings` name."""

    def __init__(
        self, settings: Settings, base_url: str, engine: Engine, temporal: Client, tts: TextToSpeech
    ) -> None:
        self._settings = settings
        self._base_url = base_url.rstrip("/")
        self._engine = engine
        self._temporal = temporal
        self._tts = tts
        self._speech: dict[str, bytes] = {}  # every line rendered once per run

    async def run(self, path: Path, scenario: Scenario) -> ScenarioResult:
        """Place the scenario's call and check its expectations; failures are in the result."""
        result = ScenarioResult.before_the_call(path, scenario)
        try:
            if scenario.clinic != DEMO_SLUG:
                raise AudioModeError(
                    f"audio mode copies only the demo clinic (clinic: {DEMO_SLUG}), not {scenario.clinic!r}"
                )
            async with asyncio.timeout(SCENARIO_TIMEOUT_SECONDS):
                await self._hold_call(scenario, result)
        except (AudioModeError, OutboundScenarioError, WebhookError) as error:
            result.error = str(error)
        except TimeoutError:
            result.error = f"the call was not over within {SCENARIO_TIMEOUT_SECONDS:g} s"
        except Exception as error:  # one crashing call must not hide the other scenarios' results
            result.error = f"the call failed: {type(error).__name__}: {error}"
        return result

    async def _hold_call(self, scenario: Scenario, result: ScenarioResult) -> None:
        clinic, number = await asyncio.to_thread(self._fresh_clinic, scenario)
        instant = scenario.instant(clinic.tz)
        steps = caller_steps(scenario.turns)
        missing = [
            step for step in steps if isinstance(step, Say | BargeIn) and step.text not in self._speech
        ]
        self._speech |= await render_lines(self._tts, missing)
        call = await self._place(scenario, clinic, number, instant)
        caller = CallResult(call.placed.call_sid, number, said_by_carrier=call.placed.said)
        if call.placed.stream_url is not None:
            noise = noise_frames(scenario.noise_db) if scenario.noise_db is not None else None
            await converse(self._settings, call.placed, steps, self._speech, caller, noise)
        elif not answered_by_machine(scenario):
            raise AudioModeError(
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
        await asyncio.to_thread(self._check, call.placed, clinic, scenario, result)

    def _fresh_clinic(self, scenario: Scenario) -> tuple[Clinic, str]:
        """A copy of the demo clinic for this call alone, and its phone number."""
        suffix = secrets.token_hex(4)
        number = f"+1555{int(suffix, 16) % 10**7:07d}"
        today = scenario.now.date() if scenario.now else None
        return seed_demo(self._engine, today, slug=f"eval-{suffix}", number=number), number

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

    async def _wait_for_workflows(self, call_sid: str) -> None:
        """Wait until the call's workflow and its post-call child are done (the transcript is
        stored, the confirmation sent)."""
        try:
            async with asyncio.timeout(CALL_WORKFLOW_TIMEOUT_SECONDS):
                await self._temporal.get_workflow_handle(call_sid).result()
            async with asyncio.timeout(POST_CALL_TIMEOUT_SECONDS):
                await self._temporal.get_workflow_handle(post_call_workflow_id(call_sid)).result()
        except (WorkflowFailureError, RPCError) as error:
            raise AudioModeError(f"the call's workflows did not complete: {error}") from None
        except TimeoutError:
            raise AudioModeError("the call's workflows were still running after the call") from None

    def _check(self, placed: CallPlaced, clinic: Clinic, scenario: Scenario, result: ScenarioResult) -> None:
        with session_scope(self._engine) as session:
            call = session.exec(select(Call).where(Call.call_sid == placed.call_sid)).one()
            turns = session.exec(
                select(CallTurn).where(CallTurn.call_id == call.id).order_by(col(CallTurn.index))
            ).all()
            messages = session.exec(
                select(Message).where(Message.clinic_id == clinic.id, Message.status != MessageStatus.failed)
            ).all()
            confirmations = [(m.appointment_id, m.channel) for m in messages if m.appointment_id is not None]
        # A call answered with TwiML <Say> only (a voicemail left) has those words and no turns.
        result.transcript = [(TurnRole.agent.value, text) for text in placed.said] + [
            (turn.role.value, turn.heard_text if turn.heard_text is not None else turn.text) for turn in turns
        ]
        agent_words = " ".join(text for role, text in result.transcript if role == TurnRole.agent.value)
        wanted = bool(scenario.expect.confirmation_sent)
        repeated = len(confirmations) != len(set(confirmations))
        confirmation = Check(
            "confirmation_sent",
            str(wanted).lower(),
            f"{len(confirmations)} confirmation message(s)" + (", one sent twice" if repeated else ""),
            (len(confirmations) > 0) == wanted and not repeated,
        )
        result.checks = check_call(
            self._engine,
            call.id,
            clinic,
            scenario.expect,
            agent_words,
            confirmation=confirmation,
            voice_to_voice_ms=result.voice_to_voice_ms,
        )
        result.got_outcome = result.checks[0].got
