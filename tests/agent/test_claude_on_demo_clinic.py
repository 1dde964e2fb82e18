"""Claude (the real SDK against the fake Messages API) on the seeded demo clinic's database:
book, reschedule and cancel through the whole engine, the tool runner and the domain layer."""

import json
from datetime import UTC, datetime, timedelta

import anthropic
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdesk.agent.actions import SlotQuery
from frontdesk.agent.brains.claude import ClaudeBrain
from frontdesk.agent.text_call import TextCall
from frontdesk.agent.tool_runner import describe_slot
from frontdesk.domain.models import Appointment, AppointmentStatus, Clinic, Patient
from frontdesk.domain.outcomes import Outcome
from tests.agent.fake_anthropic import FakeAnthropic, Reply, Text, ToolUse

MODEL = "claude-test-model"
JOHN = {"first_name": "John", "last_name": "Smith", "date_of_birth": "1975-06-14"}


def john_appointment(engine: Engine) -> Appointment:
    with Session(engine) as session:
        return session.exec(select(Appointment).join(Patient).where(Patient.first_name == "John")).one()


async def test_claude_reschedules_then_cancels_on_the_demo_clinic(
    engine: Engine,
    demo_clinic: Clinic,
    fake_anthropic: FakeAnthropic,
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    call = TextCall(engine, demo_clinic.id, "+15550199002", brains=[ClaudeBrain(anthropic_client, MODEL)])
    await call.start()
    before = john_appointment(engine)
    # What get_availability will return first: the earliest cleaning from next week on.
    start = (datetime.now(UTC) + timedelta(days=7)).date()
    query = SlotQuery(service_id=before.service_id, date_from=start, date_to=start + timedelta(days=6))
    first = (await call.actions.find_slots(query))[0]
    spoken = describe_slot(first, call.profile)
    fake_anthropic.script(
        Reply(ToolUse("identify_patient", JOHN)),
        Reply(Text("Thanks, John. What day works better?")),
        Reply(
            ToolUse(
                "get_availability",
                {
                    "service": "cleaning",
                    "date_from": start.isoformat(),
                    "date_to": (start + timedelta(days=6)).isoformat(),
                },
            )
        ),
        Reply(Text(f"I have {spoken}. Shall I move your cleaning there?")),
        Reply(ToolUse("reschedule_appointment", {"appointment_id": "A1", "slot_id": "S1"})),
        Reply(Text("Done, you're moved. Anything else?")),
    )
    await call.say("I need to move my cleaning. John Smith, June 14th 1975.")
    await call.say("Sometime next week.")
    await call.say("Yes, please move it.")
    moved = john_appointment(engine)
    assert (moved.id, moved.start_at) == (before.id, first.start)
    assert call.state.outcome == Outcome.rescheduled

    fake_anthropic.script(
        Reply(Text(f"Your cleaning is on {spoken}. Do you want me to cancel it?")),
        Reply(ToolUse("cancel_appointment", {"appointment_id": "A1"})),
        Reply(Text("It's cancelled.")),
    )
    await call.say("Actually, please cancel it altogether.")
    await call.say("Yes, cancel it.")
    assert john_appointment(engine).status == AppointmentStatus.cancelled
    assert call.state.outcome == Outcome.cancelled
    results = [
        b
        for r in fake_anthropic.requests
        for b in r.body["messages"][-1]["content"]
        if b["type"] == "tool_result"
    ]
    assert not any(r.get("is_error") for r in results), json.dumps(results)
    assert fake_anthropic.pending == 0 and fake_anthropic.rejections == []
