"""Running a scenario at text level: the real engine, brains and database actions through
`TextCall`, on a fresh SQLite database seeded with the demo clinic relative to the scenario's
`now`.

Text-level equivalents of the caller's audio actions:
- `say` and `barge_in`: the words as a caller turn (at text level the agent has always finished
  speaking, so a barge-in is the turn the engine gets after the cut); a backchannel barge-in
  ("mm-hm") does not interrupt the agent, so it is skipped.
- `dtmf: "0"`: the words the media path turns that key into; other keys do nothing there either.
- `silence`, `noise_db`: audio only; noted in the result and otherwise skipped.
- `hangup`: the caller's side ends; the call is recorded with the outcome it reached.
- an outbound call whose first words are a voicemail greeting is answered by a machine: the
  campaign's voicemail is left, as the voice webhook leaves it.

Expectations are checked in the database: the Call row's outcome, the appointment named by the
call's last appointment action and its patient, the transfer action's reason; `transfer_said` in
the reply during which the engine made the transfer. In text mode no post-call workflow runs, so
`confirmation_sent` checks what that workflow confirms: the appointments the call booked or
rescheduled (or asked to confirm), one confirmation each. `max_voice_to_voice_ms` is audio only and
reported as skipped.
"""

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from frontdesk.agent.text_call import TextCall
from frontdesk.domain.call_actions import CONFIRMATION_REQUEST_KIND
from frontdesk.domain.calls import TurnRecord, ensure_call, finish_call
from frontdesk.domain.campaigns import OutboundContext
from frontdesk.domain.database import make_engine, session_scope, upgrade_database
from frontdesk.domain.models import Action, CallDirection, Clinic, TurnRole
from frontdesk.domain.outcomes import Outcome
from frontdesk.domain.seed import DEMO_SLUG, seed_demo
from frontdesk.eval.checks import check_call
from frontdesk.eval.outbound import OutboundScenarioError, answered_by_machine, scenario_target
from frontdesk.eval.results import Check, ScenarioResult
from frontdesk.eval.scenario import Scenario
from frontdesk.realtime.turn.listening import is_backchannel


class TextRunner:
    """Runs scenarios one by one, each on its own copy of a database migrated once per run."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._template = workdir / "migrated.db"
        upgrade_database(f"sqlite:///{self._template}")
        # Closing every connection checkpoints the write-ahead log, so the file alone is complete.
        make_engine(f"sqlite:///{self._template}").dispose()
        self._runs = 0

    def _fresh_engine(self) -> Engine:
        self._runs += 1
        database = self._workdir / f"scenario-{self._runs}.db"
        shutil.copyfile(self._template, database)
        return make_engine(f"sqlite:///{database}")

    async def run(self, path: Path, scenario: Scenario) -> ScenarioResult:
        """Hold the scenario's call and check its expectations; failures are in the result."""
        result = ScenarioResult.before_the_call(path, scenario)
        if scenario.clinic != DEMO_SLUG:
            result.error = (
                f"text mode seeds only the demo clinic (clinic: {DEMO_SLUG}), not {scenario.clinic!r}"
            )
            return result
        engine = self._fresh_engine()
        try:
            await _hold_call(engine, scenario, result)
        except OutboundScenarioError as error:
            result.error = str(error)
        except Exception as error:  # one crashing call must not hide the other scenarios' results
            result.error = f"the call failed: {type(error).__name__}: {error}"
        finally:
            engine.dispose()
        return result


async def _hold_call(engine: Engine, scenario: Scenario, result: ScenarioResult) -> None:
    clinic = seed_demo(engine, scenario.now.date() if scenario.now else None)
    instant = scenario.instant(clinic.tz)
    call, outbound = _text_call(engine, clinic, scenario, instant)
    call_id = ensure_call(
        engine,
        clinic.id,
        call_sid=f"eval-{uuid.uuid4().hex}",
        direction=CallDirection(scenario.direction),
        from_number=scenario.caller if scenario.direction == "inbound" else clinic_number(call),
        to_number=clinic_number(call) if scenario.direction == "inbound" else scenario.caller,
    )
    if outbound is not None and answered_by_machine(scenario):
        # The webhook answers a machine with the campaign's voicemail and hangs up.
        machine = TurnRecord(TurnRole.caller, scenario.turns[0].say or "")
        conversation = TextConversation([machine, TurnRecord(TurnRole.agent, outbound.voicemail)])
        outcome = Outcome.voicemail
    else:
        conversation = await converse_in_text(call, scenario, result)
        outcome = call.state.outcome or Outcome.dropped
    records = conversation.records
    if scenario.noise_db is not None:
        result.notes.append("noise_db is audio only: ignored in text mode")
    finish_call(engine, clinic.id, call_id, turns=records, outcome=outcome.value, ended_at=instant)
    result.transcript = [(record.role.value, record.text) for record in records]
    agent_words = " ".join(record.text for record in records if record.role == TurnRole.agent)
    confirmation = _confirmation_check(engine, clinic, bool(scenario.expect.confirmation_sent))
    result.checks = check_call(
        engine,
        call_id,
        clinic,
        scenario.expect,
        agent_words,
        confirmation=confirmation,
        voice_to_voice_ms=None,
        transfer_replies=conversation.transfer_replies,
    )
    result.got_outcome = result.checks[0].got


@dataclass
class TextConversation:
    """What a call at text level said: its transcript, greeting first, and the agent's replies
    during which the engine made a transfer_to_human call (one at most: a transfer ends the call)."""

    records: list[TurnRecord]
    transfer_replies: list[str] = field(default_factory=list)


async def converse_in_text(call: TextCall, scenario: Scenario, result: ScenarioResult) -> TextConversation:
    """Play the scenario's turns into the call at text level (see the module docstring)."""
    conversation = TextConversation([TurnRecord(TurnRole.agent, await call.start())])
    records = conversation.records
    for index, turn in enumerate(scenario.turns, start=1):
        if call.ended:
            result.notes.append(f"the agent ended the call before turn {index}")
            break
        if turn.hangup:
            break
        if turn.barge_in is not None and is_backchannel(turn.barge_in):
            result.notes.append(f"turn {index} (backchannel {turn.barge_in!r}) does not interrupt: skipped")
            continue
        text = turn.say or turn.barge_in or _dtmf_text(turn.dtmf)
        if text is None:
            what = f"dtmf {turn.dtmf}" if turn.dtmf else f"silence {turn.silence}s"
            result.notes.append(f"turn {index} ({what}) has no text-level equivalent: skipped")
            continue
        records.append(TurnRecord(TurnRole.caller, text))
        transferred = call.state.transfer_reason is not None
        reply = await call.say(text)
        records.append(TurnRecord(TurnRole.agent, reply))
        # The engine records a transfer's reason only when its transfer_to_human call went through.
        if not transferred and call.state.transfer_reason is not None:
            conversation.transfer_replies.append(reply)
        result.turns += 1
    return conversation


def clinic_number(call: TextCall) -> str:
    """The clinic's side of the call: its main number."""
    return call.profile.phone_number or "unknown"


def _dtmf_text(digits: str | None) -> str | None:
    if digits != "0":
        return None
    # Imported here: the realtime package is heavy and only this caller action needs it.
    from frontdesk.realtime.turn.loop import DTMF_HUMAN_REQUEST

    return DTMF_HUMAN_REQUEST


def _text_call(
    engine: Engine, clinic: Clinic, scenario: Scenario, instant: datetime
) -> tuple[TextCall, OutboundContext | None]:
    """The call as the scenario places it; an outbound call is a one-patient campaign's call,
    worded exactly as the campaign's webhook words it (its context is returned beside it)."""
    if scenario.direction == "inbound":
        return TextCall(engine, clinic.id, scenario.caller, now=lambda: instant), None
    context = scenario_target(engine, clinic, scenario, instant).context
    call = TextCall(
        engine,
        clinic.id,
        scenario.caller,
        now=lambda: instant,
        direction="outbound",
        purpose=context.purpose,
        appointment_id=context.appointment_id,
        campaign_kind=context.kind.value,
    )
    return call, context


def _confirmation_check(engine: Engine, clinic: Clinic, wanted: bool) -> Check:
    """What the post-call workflow would confirm: each appointment the call booked or
    rescheduled, or explicitly asked to confirm (one confirmation per appointment)."""
    with session_scope(engine) as session:
        actions = session.exec(select(Action).where(Action.clinic_id == clinic.id)).all()
    changed = {
        a.result["appointment_id"]
        for a in actions
        if a.kind in ("book_appointment", "reschedule_appointment") and a.result
    }
    asked = {a.payload["appointment_id"] for a in actions if a.kind == CONFIRMATION_REQUEST_KIND}
    confirmed = changed | asked
    return Check(
        "confirmation_sent",
        str(wanted).lower(),
        f"{len(confirmed)} appointment(s) to confirm",
        len(confirmed) == (1 if wanted else 0),
    )
