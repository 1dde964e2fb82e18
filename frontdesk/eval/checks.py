"""Checking a finished call against its scenario's expectations, in the database: the Call row's
outcome, the appointment named by the call's last appointment action and that appointment's
patient, the transfer action's reason, and the agent's words. Each mode supplies what only it can
measure: how confirmations are counted, which reply made the transfer, and voice-to-voice latency
(audio only)."""

import uuid
from collections.abc import Sequence
from datetime import time

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Action, Appointment, Call, Clinic, Patient, Provider, Service
from frontdesk.domain.repository import ClinicRepository
from frontdesk.eval.results import Check
from frontdesk.eval.scenario import Expectations, Phrase

APPOINTMENT_ACTIONS = (
    "book_appointment",
    "reschedule_appointment",
    "cancel_appointment",
    "confirm_appointment",
)
AFTERNOON, EVENING = time(12), time(17)
NO_APPOINTMENT = "no appointment"


def check_call(
    engine: Engine,
    call_id: uuid.UUID,
    clinic: Clinic,
    expect: Expectations,
    agent_words: str,
    *,
    confirmation: Check | None,
    voice_to_voice_ms: list[float] | None,
    transfer_replies: Sequence[str] | None,
) -> list[Check]:
    """Every expectation the scenario gives, checked; the outcome's check comes first.

    `confirmation` is the mode's own check of `confirmation_sent`; `voice_to_voice_ms` the turns'
    latencies, None when the mode cannot measure them; `transfer_replies` the agent's replies that
    made a transfer_to_human call (one at most: a transfer ends the call), None when the mode
    cannot tell which reply that was. A check the mode cannot make is reported as skipped; without
    a transfer in the database, `transfer_said` fails in every mode."""
    with session_scope(engine) as session:
        call = session.get(Call, call_id)
        actions = session.exec(
            # Each scenario's call has a clinic of its own: its actions are the clinic's.
            select(Action).where(Action.clinic_id == clinic.id).order_by(col(Action.created_at))
        ).all()
        outcome = call.outcome if call and call.outcome else "-"
        accepted = [value.value for value in expect.outcomes]
        checks = [Check("outcome", expect.outcome_text, outcome, outcome in accepted)]
        if expect.appointment is not None or expect.patient is not None:
            changed = [a for a in actions if a.kind in APPOINTMENT_ACTIONS and a.result]
            appointment = (
                session.get(Appointment, uuid.UUID(changed[-1].result["appointment_id"])) if changed else None
            )
            if expect.appointment is not None:
                got = appointment_fields(session, appointment, clinic) if appointment else {}
                checks += _field_checks("appointment", expect.appointment.model_dump(exclude_none=True), got)
            if expect.patient is not None:
                patient = session.get(Patient, appointment.patient_id) if appointment else None
                got = patient_fields(patient) if patient else {}
                checks += _field_checks("patient", expect.patient.model_dump(exclude_none=True), got)
        transfers = [a.payload.get("reason", "?") for a in actions if a.kind == "transfer_to_human"]
        if expect.transfer_reason is not None:
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
    for phrase in expect.said:
        found = phrase.found_in(agent_words)
        checks.append(Check("said", phrase.describe(), _said(phrase, found), found is not None))
    for phrase in expect.not_said:
        found = phrase.found_in(agent_words)
        checks.append(Check("not_said", phrase.describe(), _said(phrase, found), found is None))
    if transfer_replies is None and not transfers:
        transfer_replies = []  # which reply made the transfer is unknown, but none did
    checks += [_transfer_said_check(phrase, transfer_replies) for phrase in expect.transfer_said]
    if expect.max_voice_to_voice_ms is not None:
        checks.append(_latency_check(expect.max_voice_to_voice_ms, voice_to_voice_ms))
    return checks


def _field_checks(record: str, wanted: dict[str, str], got: dict[str, str]) -> list[Check]:
    """One check per field the scenario gives, compared in any case ("record.field")."""
    checks = []
    for name, value in wanted.items():
        found = got.get(name, NO_APPOINTMENT)
        checks.append(Check(f"{record}.{name}", value, found, found.lower() == value.lower()))
    return checks


def _said(phrase: Phrase, found: str | None) -> str:
    if found is None:
        return "not said"
    # A plain text reads as before; a word or an alternative names what was found.
    return "said" if phrase.text is not None else f'said "{found}"'


def _transfer_said_check(phrase: Phrase, replies: Sequence[str] | None) -> Check:
    if replies is None:
        got = "which reply made the transfer is not recorded in this mode: skipped"
        return Check("transfer_said", phrase.describe(), got, None)
    if not replies:
        return Check("transfer_said", phrase.describe(), "no transfer", False)
    found = next((f for reply in replies if (f := phrase.found_in(reply)) is not None), None)
    got = "not said" if found is None else _said(phrase, found)
    return Check("transfer_said", phrase.describe(), f"{got} in the transfer reply", found is not None)


def _latency_check(limit_ms: int, measured: list[float] | None) -> Check:
    if measured is None:
        return Check("max_voice_to_voice_ms", str(limit_ms), "audio only: skipped in text mode", None)
    if not measured:
        return Check("max_voice_to_voice_ms", str(limit_ms), "no agent reply was measured", False)
    worst = max(measured)
    return Check("max_voice_to_voice_ms", str(limit_ms), f"{worst:.0f} ms at worst", worst <= limit_ms)


def appointment_fields(session: Session, appointment: Appointment, clinic: Clinic) -> dict[str, str]:
    """The appointment as a scenario names it: service slug, provider, and its start in the clinic's
    time zone: weekday, part of day, date (YYYY-MM-DD) and time (HH:MM)."""
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
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
    }


def patient_fields(patient: Patient) -> dict[str, str]:
    """The patient as a scenario names them: first and last name, date of birth (YYYY-MM-DD)."""
    return {
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat() if patient.date_of_birth else "not recorded",
    }
