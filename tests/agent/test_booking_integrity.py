"""Booking integrity, whatever the model writes: invented slots, unconfirmed bookings, a slot
taken meanwhile, another clinic's data. Each is refused with a reason the model can act on, and
nothing is written."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdesk.agent.actions import SlotOption
from frontdesk.agent.call_state import CallState
from frontdesk.agent.conversation import Conversation, TextBlock, ToolResultBlock, ToolUseBlock
from frontdesk.agent.database_actions import database_call_actions, load_clinic_profile
from frontdesk.agent.tool_runner import ToolRunner, describe_slot
from frontdesk.domain import booking
from frontdesk.domain.models import Appointment, Clinic, Patient, PhoneNumber
from frontdesk.domain.repository import ClinicRepository

PATIENT = {"first_name": "Ana", "last_name": "Lopez", "date_of_birth": "1988-03-03"}


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def runner(engine: Engine, demo_clinic: Clinic) -> ToolRunner:
    profile = load_clinic_profile(engine, demo_clinic.id)
    actions = database_call_actions(engine, profile, f"test-{uuid.uuid4().hex}")
    return ToolRunner(profile, actions, CallState(caller_number="+15550199001"), Conversation(), now)


async def call(runner: ToolRunner, name: str, **arguments: object) -> ToolResultBlock:
    block = ToolUseBlock(id=f"toolu_{uuid.uuid4().hex[:8]}", name=name, input=arguments)
    runner.conversation.add_agent([block])
    result = await runner.run(block)
    runner.conversation.add_tool_result(result)
    return result


async def offer_slots(runner: ToolRunner) -> list[dict[str, str]]:
    start = (now() + timedelta(days=7)).date()
    result = await call(
        runner,
        "get_availability",
        service="cleaning",
        date_from=start.isoformat(),
        date_to=(start + timedelta(days=7)).isoformat(),
    )
    assert not result.is_error, result.content
    slots: list[dict[str, str]] = json.loads(result.content)["slots"]
    assert slots, "the demo clinic has cleanings next week"
    return slots


def say(runner: ToolRunner, agent: str, caller: str) -> None:
    runner.conversation.add_agent([TextBlock(text=agent)])
    runner.conversation.add_caller_text(caller)


def appointment_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Appointment)).all())


async def test_invented_slot_id_is_refused(runner: ToolRunner, engine: Engine) -> None:
    await offer_slots(runner)
    before = appointment_count(engine)
    say(runner, "Shall I book Tuesday at 9 AM?", "yes")
    result = await call(runner, "book_appointment", slot_id="S99", patient=PATIENT)
    assert result.is_error and "not returned by get_availability" in result.content
    assert appointment_count(engine) == before


async def test_booking_without_a_confirmed_read_back_is_refused(runner: ToolRunner, engine: Engine) -> None:
    slots = await offer_slots(runner)
    before = appointment_count(engine)
    say(runner, "I have a few openings. Which would you like?", "hmm, let me think")
    result = await call(runner, "book_appointment", slot_id=slots[0]["slot_id"], patient=PATIENT)
    assert result.is_error and "get a clear yes" in result.content and slots[0]["when"] in result.content
    # A yes to a different slot's read-back does not confirm this one.
    say(runner, f"Just to confirm: {slots[1]['when']}?", "yes")
    result = await call(runner, "book_appointment", slot_id=slots[0]["slot_id"], patient=PATIENT)
    assert result.is_error
    assert appointment_count(engine) == before
    say(runner, f"Just to confirm: a cleaning on {slots[0]['when']}. Shall I book it?", "Yes please.")
    result = await call(runner, "book_appointment", slot_id=slots[0]["slot_id"], patient=PATIENT)
    assert not result.is_error and json.loads(result.content)["booked"] is True
    assert appointment_count(engine) == before + 1


async def test_slot_taken_meanwhile_is_refused(
    runner: ToolRunner, engine: Engine, demo_clinic: Clinic
) -> None:
    slots = await offer_slots(runner)
    taken: SlotOption = runner.state.offered[slots[0]["slot_id"]]
    with Session(engine) as session:
        other = session.exec(select(Patient).where(Patient.first_name == "Emily")).one()
    booking.book_appointment(
        engine,
        demo_clinic.id,
        patient_id=other.id,
        provider_id=taken.provider_id,
        service_id=taken.service_id,
        start_at=taken.start,
        idempotency_key="another-caller",
    )
    before = appointment_count(engine)
    say(runner, f"Just to confirm: {slots[0]['when']}. Shall I book it?", "yes")
    result = await call(runner, "book_appointment", slot_id=slots[0]["slot_id"], patient=PATIENT)
    assert result.is_error and "taken" in result.content.lower()
    assert appointment_count(engine) == before


async def test_another_clinics_slot_and_appointment_are_refused(
    runner: ToolRunner, engine: Engine, demo_clinic: Clinic
) -> None:
    # A second clinic with its own provider, patient and appointment.
    with Session(engine, expire_on_commit=False) as session:
        other = Clinic(slug="other", name="Other Dental", timezone="America/Chicago")
        session.add(other)
        session.flush()
        session.add(PhoneNumber(clinic_id=other.id, e164="+15550300000"))
        session.commit()
    slots = await offer_slots(runner)
    foreign = runner.state.offered[slots[0]["slot_id"]].model_copy(update={"provider_id": uuid.uuid4()})
    runner.state.offered["S50"] = foreign  # as if a forged id had slipped into the call's state
    say(runner, f"Just to confirm: {describe_slot(foreign, runner.profile)}?", "yes")
    before = appointment_count(engine)
    result = await call(runner, "book_appointment", slot_id="S50", patient=PATIENT)
    assert result.is_error and appointment_count(engine) == before
    # Appointments are only reachable through identify_patient's handles, never by raw ids.
    with Session(engine) as session:
        foreign_appointment = session.exec(select(Appointment)).first()
    assert foreign_appointment is not None
    result = await call(runner, "cancel_appointment", appointment_id=str(foreign_appointment.id)[:16])
    assert result.is_error and "identify_patient" in result.content
    with Session(engine) as session:
        repo = ClinicRepository(session, other.id)
        assert repo.get(Appointment, foreign_appointment.id) is None


async def test_bad_arguments_get_a_clear_error(runner: ToolRunner) -> None:
    result = await call(runner, "get_availability", service="cleaning", date_from="next tuesday", date_to="x")
    assert result.is_error and "date_from" in result.content
    result = await call(
        runner, "get_availability", service="tattoo", date_from="2030-01-01", date_to="2030-01-02"
    )
    assert result.is_error and "Cleaning" in result.content
    result = await call(runner, "launch_rocket")
    assert result.is_error and "no tool named" in result.content


async def test_picking_an_offered_slot_by_its_place_confirms_that_slot_only(
    runner: ToolRunner, engine: Engine
) -> None:
    slots = await offer_slots(runner)
    assert len(slots) >= 2
    offer = "I have " + ", or ".join(s["when"] for s in slots) + ". Which would you prefer?"
    before = appointment_count(engine)
    say(runner, offer, "the second one")
    result = await call(runner, "book_appointment", slot_id=slots[0]["slot_id"], patient=PATIENT)
    assert result.is_error and appointment_count(engine) == before  # they picked another one
    say(runner, offer, "the second one")
    result = await call(runner, "book_appointment", slot_id=slots[1]["slot_id"], patient=PATIENT)
    assert not result.is_error and json.loads(result.content)["booked"] is True
    assert appointment_count(engine) == before + 1


async def test_a_pick_needs_words_that_named_the_slot(runner: ToolRunner, engine: Engine) -> None:
    slots = await offer_slots(runner)
    before = appointment_count(engine)
    say(runner, "I have a few openings next week. Which would you like?", "the first one")
    result = await call(runner, "book_appointment", slot_id=slots[0]["slot_id"], patient=PATIENT)
    assert result.is_error and "get a clear yes" in result.content
    assert appointment_count(engine) == before


async def test_a_cancel_asked_outright_needs_the_one_appointment_just_named(
    runner: ToolRunner, engine: Engine
) -> None:
    slots = await offer_slots(runner)
    for slot in slots[:2]:
        say(runner, f"Just to confirm: a cleaning on {slot['when']}. Shall I book it?", "yes")
        assert not (await call(runner, "book_appointment", slot_id=slot["slot_id"], patient=PATIENT)).is_error
    found = json.loads((await call(runner, "identify_patient", **PATIENT)).content)
    first, second = found["upcoming"]

    def status(appointment: dict[str, str]) -> str:
        with Session(engine) as session:
            row = session.get(Appointment, runner.state.appointments[appointment["appointment_id"]].id)
            assert row is not None
            return row.status

    # Both named: "I'll have to cancel that one" does not say which.
    both = f"I see your cleaning on {first['when']} and another on {second['when']}."
    say(runner, both, "I'll have to cancel that one")
    refused = await call(runner, "cancel_appointment", appointment_id=first["appointment_id"])
    assert refused.is_error and "get a clear yes" in refused.content
    # A question about cancelling asks for no cancel.
    say(runner, f"I see your cleaning on {first['when']}.", "what happens if I cancel that one?")
    assert (await call(runner, "cancel_appointment", appointment_id=first["appointment_id"])).is_error
    # Nor does a cancel asked of the one just named reach the other appointment.
    say(runner, f"I see your cleaning on {first['when']}.", "I'll have to cancel that one, sorry")
    assert (await call(runner, "cancel_appointment", appointment_id=second["appointment_id"])).is_error
    assert (status(first), status(second)) == ("booked", "booked")
    cancelled = await call(runner, "cancel_appointment", appointment_id=first["appointment_id"])
    assert not cancelled.is_error and json.loads(cancelled.content)["cancelled"] is True
    assert (status(first), status(second)) == ("cancelled", "booked")


async def test_a_booking_after_another_identification_is_not_the_first_patients(
    runner: ToolRunner, engine: Engine
) -> None:
    # John identifies himself, then books for his daughter, who is new: not under John's record.
    john = {"first_name": "John", "last_name": "Smith", "date_of_birth": "1975-06-14"}
    assert json.loads((await call(runner, "identify_patient", **john)).content)["found"] is True
    assert runner.state.patient is not None and runner.state.patient.first_name == "John"
    daughter = {"first_name": "Chloe", "last_name": "Smith", "date_of_birth": "2012-05-22"}
    assert json.loads((await call(runner, "identify_patient", **daughter)).content)["found"] is False
    assert runner.state.patient is None
    slots = await offer_slots(runner)
    say(runner, f"Just to confirm: a cleaning on {slots[0]['when']}. Shall I book it?", "yes")
    booked = await call(runner, "book_appointment", slot_id=slots[0]["slot_id"], patient=daughter)
    assert not booked.is_error
    with Session(engine) as session:
        patient_of = session.exec(
            select(Patient.first_name)
            .join(Appointment, Appointment.patient_id == Patient.id)  # type: ignore[arg-type]
            .where(Appointment.start_at == runner.state.offered[slots[0]["slot_id"]].start)
        ).all()
    assert "Chloe" in patient_of and "John" not in patient_of
