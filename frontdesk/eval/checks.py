"""Checking a finished call against its scenario's expectations, in the database: the Call row's
outcome, the appointment named by the call's last appointment action, the transfer action's
reason, and the agent's words. Each mode supplies what only it can measure: how confirmations
are counted, and voice-to-voice latency (audio only)."""

import uuid
from datetime import time

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Action, Appointment, Call, Clinic, Provider, Service
from frontdesk.domain.repository import ClinicRepository
from frontdesk.eval.results import Check
from frontdesk.eval.scenario import Expectations

APPOINTMENT_ACTIONS = (
    "book_appointment",
    "reschedule_appointment",
    "cancel_appointment",
    "confirm_appointment",
)
AFTERNOON, EVENING = time(12), time(17)


def check_call(
    engine: Engine,
    call_id: uuid.UUID,
    clinic: Clinic,
    expect: Expectations,
    agent_words: str,
    *,
    confirmation: Check | None,
    voice_to_voice_ms: list[float] | None,
) -> list[Check]:
    """Every expectation the scenario gives, checked; the outcome's check comes first.

    `confirmation` is the mode's own check of `confirmation_sent`; `voice_to_voice_ms` the turns'
    latencies, None when the mode cannot measure them (the check is then reported as skipped)."""
    with session_scope(engine) as session:
        call = session.get(Call, call_id)
        actions = session.exec(
            # Each scenario's call has a clinic of its own: its actions are the clinic's.
            select(Action).where(Action.clinic_id == clinic.id).order_by(col(Action.created_at))
        ).all()
        outcome = call.outcome if call and call.outcome else "-"
        checks = [Check("outcome", expect.outcome.value, outcome, outcome == expect.outcome.value)]
        if expect.appointment is not None:
            changed = [a for a in actions if a.kind in APPOINTMENT_ACTIONS and a.result]
            appointment = (
                session.get(Appointment, uuid.UUID(changed[-1].result["appointment_id"])) if changed else None
            )
            got = appointment_fields(session, appointment, clinic) if appointment else {}
            for name, wanted in expect.appointment.model_dump(exclude_none=True).items():
                value = got.get(name, "no appointment")
                checks.append(Check(f"appointment.{name}", wanted, value, value.lower() == wanted.lower()))
        if expect.transfer_reason is not None:
            transfers = [a.payload.get("reason", "?") for a in actions if a.kind == "transfer_to_human"]
            checks.append(
                Check(
                    "transfer_reason",
                    expect.transfer_reason.value,
                    ", ".join(transfers) or "no transfer",
                    transfers == [expect.transfer_reason.value],
                )
            )
    if expect.confirmation_sent is not None and confirmation is not None:
        checks.append(confirmation)
    lowered = agent_words.lower()
    for phrase in expect.said:
        said = phrase.lower() in lowered
        checks.append(Check("said", phrase, "said" if said else "not said", said))
    for phrase in expect.not_said:
        said = phrase.lower() in lowered
        checks.append(Check("not_said", phrase, "said" if said else "not said", not said))
    if expect.max_voice_to_voice_ms is not None:
        checks.append(_latency_check(expect.max_voice_to_voice_ms, voice_to_voice_ms))
    return checks


def _latency_check(limit_ms: int, measured: list[float] | None) -> Check:
    if measured is None:
        return Check("max_voice_to_voice_ms", str(limit_ms), "audio only: skipped in text mode", None)
    if not measured:
        return Check("max_voice_to_voice_ms", str(limit_ms), "no agent reply was measured", False)
    worst = max(measured)
    return Check("max_voice_to_voice_ms", str(limit_ms), f"{worst:.0f} ms at worst", worst <= limit_ms)


def appointment_fields(session: Session, appointment: Appointment, clinic: Clinic) -> dict[str, str]:
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
