"""Triage into specialists, and the hand-off that carries what is known without repeating."""

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from frontdesk.agent.actions import PatientRecord
from frontdesk.agent.call_state import CallState, Specialist
from frontdesk.agent.specialists import focus_block, triage

NOW = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("utterance", "current", "expected"),
    [
        ("I'd like to book a cleaning", Specialist.desk, Specialist.scheduling),
        ("do you take Aetna?", Specialist.scheduling, Specialist.insurance),
        ("I was charged twice", Specialist.desk, Specialist.billing),
        ("is it normal to bleed after an extraction", Specialist.desk, Specialist.clinical),
        ("yes, the first one", Specialist.scheduling, Specialist.scheduling),  # no new need: stays
        ("March 3rd 1988", Specialist.insurance, Specialist.insurance),
    ],
)
def test_triage_moves_only_on_a_clear_new_need(
    utterance: str, current: Specialist, expected: Specialist
) -> None:
    assert triage(utterance, current, NOW) == expected


def test_focus_carries_what_is_known() -> None:
    state = CallState(caller_number="+15550199002", specialist=Specialist.insurance)
    assert "Nothing is known" in focus_block(state)["text"]
    state.patient = PatientRecord(
        id=uuid4(),
        first_name="John",
        last_name="Smith",
        date_of_birth=date(1975, 6, 14),
        phone="+15550199002",
    )
    text = focus_block(state)["text"]
    assert text.startswith("# Current focus\nInsurance:") and "verified as John Smith" in text
