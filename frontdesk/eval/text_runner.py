"""Running a scenario at text level: the real engine, brains and database actions through
`TextCall`, on a fresh SQLite database seeded with the demo clinic relative to the scenario's
`now`.

Text-level equivalents of the caller's audio actions:
- `say` and `barge_in`: the words as a caller turn (at text level the agent has always finished
  speaking, so a barge-in is the turn the engine gets after the cut).
- `dtmf: "0"`: the words the media path turns that key into; other keys do nothing there either.
- `silence`, `noise_db`: audio only; noted in the result and otherwise skipped.
- `hangup`: the caller's side ends; the call is recorded with the outcome it reached.

Expectations are checked in the database: the Call row's outcome, the appointment named by the
call's last appointment action, the transfer action's reason. In text mode no post-call workflow
runs, so `confirmation_sent` checks what that workflow confirms: the appointments the call booked
or rescheduled (or asked to confirm), one confirmation each. `max_voice_to_voice_ms` is audio only
and reported as skipped.
"""

import shutil
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, time
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdesk.agent.call_state import Outcome
from frontdesk.agent.text_call import TextCall
from frontdesk.domain.calls import TurnRecord, ensure_call, finish_call
from frontdesk.domain.campaign_settings import CampaignAudience, CampaignKind
from frontdesk.domain.campaigns import create_campaign, outbound_context
from frontdesk.domain.database import make_engine, session_scope, upgrade_database, write_scope
from frontdesk.domain.models import (
    Action,
    Appointment,
    Call,
    CallDirection,
    CampaignTarget,
    Clinic,
    Provider,
    Service,
    TurnRole,
)
from frontdesk.domain.repository import ClinicRepository
from frontdesk.domain.seed import DEMO_SLUG, seed_demo
from frontdesk.eval.results import Check, ScenarioResult
from frontdesk.eval.scenario import Expectations, Scenario

APPOINTMENT_ACTIONS = (
    "book_appointment",
    "reschedule_appointment",
    "cancel_appointment",
    "confirm_appointment",
)
AFTERNOON, EVENING = time(12), time(17)


class TextModeError(Exception):
    """A scenario that text mode cannot run (e.g. a clinic other than the seeded demo clinic)."""


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
        result = ScenarioResult(
            name=scenario.name,
            file=str(path),
            expected_outcome=scenario.expect.outcome.value,
            got_outcome="-",
            turns=0,
        )
        if scenario.clinic != DEMO_SLUG:
            result.error = (
                f"text mode seeds only the demo clinic (clinic: {DEMO_SLUG}), not {scenario.clinic!r}"
            )
            return result
        engine = self._fresh_engine()
        try:
            await _hold_call(engine, scenario, result)
        except TextModeError as error:
            result.error = str(error)
        except Exception as error:  # one crashing call must not hide the other scenarios' results
            result.error = f"the call failed: {type(error).__name__}: {error}"
        finally:
            engine.dispose()
        return result


async def _hold_call(engine: Engine, scenario: Scenario, result: ScenarioResult) -> None:
    clinic = seed_demo(engine, scenario.now.date() if scenario.now else None)
    instant = scenario.now.replace(tzinfo=clinic.tz).astimezone(UTC) if scenario.now else datetime.now(UTC)
    call = _text_call(engine, clinic, scenario, instant)
    call_id = ensure_call(
        engine,
        clinic.id,
        call_sid=f"eval-{uuid.uuid4().hex}",
        direction=CallDirection(scenario.direction),
        from_number=scenario.caller if scenario.direction == "inbound" else clinic_number(call),
        to_number=clinic_number(call) if scenario.direction == "inbound" else scenario.caller,
    )
    records = [TurnRecord(TurnRole.agent, await call.start())]
    for index, turn in enumerate(scenario.turns, start=1):
        if call.ended:
            result.notes.append(f"the agent ended the call before turn {index}")
            break
        if turn.hangup:
            break
        text = turn.say or turn.barge_in or _dtmf_text(turn.dtmf)
        if text is None:
            what = f"dtmf {turn.dtmf}" if turn.dtmf else f"silence {turn.silence}s"
            result.notes.append(f"turn {index} ({what}) has no text-level equivalent: skipped")
            continue
        records.append(TurnRecord(TurnRole.caller, text))
        records.append(TurnRecord(TurnRole.agent, await call.say(text)))
        result.turns += 1
    if scenario.noise_db is not None:
        result.notes.append("noise_db is audio only: ignored in text mode")
    outcome = call.state.outcome or Outcome.dropped
    finish_call(engine, clinic.id, call_id, turns=records, outcome=outcome.value, ended_at=instant)
    result.transcript = [(record.role.value, record.text) for record in records]
    agent_words = " ".join(record.text for record in records if record.role == TurnRole.agent)
    result.checks = _check(engine, call_id, clinic, scenario.expect, agent_words)
    result.got_outcome = result.checks[0].got


def clinic_number(call: TextCall) -> str:
    """The clinic's side of the call: its main number."""
    return call.profile.phone_number or "unknown"


def _dtmf_text(digits: str | None) -> str | None:
    if digits != "0":
        return None
    # Imported here: the realtime package is heavy and only this caller action needs it.
    from frontdesk.realtime.call_session import DTMF_HUMAN_REQUEST

    return DTMF_HUMAN_REQUEST


def _text_call(engine: Engine, clinic: Clinic, scenario: Scenario, instant: datetime) -> TextCall:
    """The call as the scenario places it; an outbound call is a one-patient campaign's call,
    worded exactly as the campaign's webhook words it."""
    if scenario.direction == "inbound":
        return TextCall(engine, clinic.id, scenario.caller, now=lambda: instant)
    with write_scope(engine) as session:
        repo = ClinicRepository(session, clinic.id)
        patients = repo.patients_by_phone(scenario.caller)
        if not patients:
            raise TextModeError(f"caller: {scenario.caller} is not the number of a demo clinic patient")
        patient = patients[0]
        appointment = None
        if scenario.appointment == "first_upcoming":
            upcoming = repo.upcoming_appointments(patient.id, instant)
            if not upcoming:
                raise TextModeError(
                    "appointment: first_upcoming, but the patient has no upcoming appointment"
                )
            appointment = upcoming[0]
    campaign = create_campaign(
        engine,
        clinic.id,
        name=f"eval {scenario.name}",
        kind=CampaignKind(scenario.campaign),
        audience=CampaignAudience(patient_ids=[patient.id]),
        start_at=instant,
    )
    with write_scope(engine) as session:
        repo = ClinicRepository(session, clinic.id)
        target = repo.add(
            CampaignTarget(
                clinic_id=clinic.id,
                campaign_id=campaign.id,
                patient_id=patient.id,
                appointment_id=appointment.id if appointment else None,
                position=0,
            )
        )
        session.flush()
        context = outbound_context(repo, target.id)
    return TextCall(
        engine,
        clinic.id,
        scenario.caller,
        now=lambda: instant,
        direction="outbound",
        purpose=context.purpose,
        appointment_id=context.appointment_id,
        campaign_kind=context.kind.value,
    )


def _check(
    engine: Engine, call_id: uuid.UUID, clinic: Clinic, expect: Expectations, agent_words: str
) -> list[Check]:
    with session_scope(engine) as session:
        call = session.get(Call, call_id)
        actions = session.exec(select(Action).order_by(col(Action.created_at))).all()
        outcome = call.outcome if call and call.outcome else "-"
        checks = [Check("outcome", expect.outcome.value, outcome, outcome == expect.outcome.value)]
        if expect.appointment is not None:
            changed = [a for a in actions if a.kind in APPOINTMENT_ACTIONS and a.result]
            appointment = (
                session.get(Appointment, uuid.UUID(changed[-1].result["appointment_id"])) if changed else None
            )
            got = _appointment_fields(session, appointment, clinic) if appointment else {}
            for name, wanted in expect.appointment.model_dump(exclude_none=True).items():
                value = got.get(name, "no appointment")
                checks.append(Check(f"appointment.{name}", wanted, value, value.lower() == wanted.lower()))
        transfers = [a.payload.get("reason", "?") for a in actions if a.kind == "transfer_to_human"]
        if expect.transfer_reason is not None:
            got_reason = ", ".join(transfers) or "no transfer"
            checks.append(
                Check(
                    "transfer_reason",
                    expect.transfer_reason.value,
                    got_reason,
                    transfers == [expect.transfer_reason.value],
                )
            )
        if expect.confirmation_sent is not None:
            confirmed = _confirmed_appointments(actions)
            got_sent = f"{len(confirmed)} appointment(s) to confirm"
            checks.append(
                Check(
                    "confirmation_sent",
                    str(expect.confirmation_sent).lower(),
                    got_sent,
                    len(confirmed) == (1 if expect.confirmation_sent else 0),
                )
            )
    lowered = agent_words.lower()
    checks += [
        Check("said", phrase, "said" if phrase.lower() in lowered else "not said", phrase.lower() in lowered)
        for phrase in expect.said
    ]
    checks += [
        Check(
            "not_said",
            phrase,
            "said" if phrase.lower() in lowered else "not said",
            phrase.lower() not in lowered,
        )
        for phrase in expect.not_said
    ]
    if expect.max_voice_to_voice_ms is not None:
        checks.append(
            Check(
                "max_voice_to_voice_ms",
                str(expect.max_voice_to_voice_ms),
                "audio only: skipped in text mode",
                None,
            )
        )
    return checks


def _confirmed_appointments(actions: Sequence[Action]) -> set[str]:
    """The appointments the post-call workflow sends a confirmation for: each one the call booked
    or rescheduled, or explicitly asked to confirm (one confirmation per appointment)."""
    changed = {
        a.result["appointment_id"]
        for a in actions
        if a.kind in ("book_appointment", "reschedule_appointment") and a.result
    }
    return changed | {a.payload["appointment_id"] for a in actions if a.kind == "send_confirmation"}


def _appointment_fields(session: Session, appointment: Appointment, clinic: Clinic) -> dict[str, str]:
    """The appointment as a scenario names it: service slug, provider, local weekday, part of day."""
    repo = ClinicRepository(session, clinic.id)
    service = repo.require(Service, appointment.service_id)
    provider = repo.require(Provider, appointment.provider_id)
    local = appointment.start_at.astimezone(clinic.tz)
    part = "morning" if local.time() < AFTERNOON else "afternoon" if local.time() < EVENING else "evening"
    return {
        "service": service.slug,
        "provider": provider.short_name,
        "weekday": local.strftime("%A").lower(),
        "part_of_day": part,
    }
