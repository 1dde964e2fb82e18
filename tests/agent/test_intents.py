"""Caller utterances and what the fallback brain takes from them: intents, yes/no, options, names."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from frontdesk.agent.understanding.intents import Intent
from frontdesk.agent.understanding.reading import understand
from frontdesk.agent.understanding.services import match_provider, match_service

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("America/New_York"))

INTENT_CASES: list[tuple[str, Intent | None]] = [
    ("Hi, I'd like to book a teeth cleaning.", Intent.book),
    ("um yeah hi I uh need to get my teeth cleaned", Intent.book),
    ("Could you fit me in sometime next week for a checkup", Intent.book),
    ("I'm a new patient and I'd like to come in", Intent.book),
    ("do you have any openings on friday", Intent.book),
    ("I need to see the dentist, my tooth has been bothering me", Intent.book),
    ("Can I get a checkup on December 3rd in the morning?", Intent.book),
    ("Hi there, I'd like to set up a consultation.", Intent.book),
    ("Um, I need a cleaning, whenever you've got something.", Intent.book),
    ("I need to cancel my cleaning", Intent.cancel),
    ("I have a filling booked and I need to move it", Intent.reschedule),
    ("I need to reschedual my appointment", Intent.reschedule),
    ("can I move my appointment to next week", Intent.reschedule),
    ("I can't make it on Tuesday", Intent.reschedule),
    ("I don't want to cancel, I want to move it to Friday", Intent.reschedule),
    ("I want to cancle my cleaning on Tuesday", Intent.cancel),
    ("please cancel my appointment", Intent.cancel),
    ("I won't be coming on Thursday", Intent.cancel),
    ("What are your hours?", Intent.hours),
    ("Are you open on Saturday?", Intent.hours),
    ("what time do you close today", Intent.hours),
    ("Where are you located?", Intent.location),
    ("what's the address", Intent.location),
    ("is there parking", Intent.location),
    ("Do you take Delta Dental?", Intent.insurance),
    ("is my insurance accepted there", Intent.insurance),
    ("are you in network with Cigna", Intent.insurance),
    ("I have a question about my bill", Intent.billing),
    ("I was charged twice", Intent.billing),
    ("I got a statement with a balance I don't understand", Intent.billing),
    ("Is it normal to have swelling after my extraction?", Intent.clinical),
    ("should I take ibuprofen before my appointment", Intent.clinical),
    ("My face is swollen and I can't breathe", Intent.emergency),
    ("the bleeding won't stop since this morning", Intent.emergency),
    ("I'm in so much pain, please help me", Intent.dental_urgent),
    ("I'm really scared and I don't know what to do", Intent.distress),
    ("Can I talk to a real person?", Intent.human),
    ("let me speak to someone at the front desk", Intent.human),
    ("transfer me to the receptionist", Intent.human),
    ("Please stop calling me", Intent.opt_out),
    ("take me off your list", Intent.opt_out),
    ("No that's all, thanks. Bye!", Intent.goodbye),
    ("thank you so much", Intent.goodbye),
    ("have a great day", Intent.goodbye),
    ("I'll be there", Intent.confirm_appointment),
    ("Oh sorry, I think I have the wrong number.", Intent.wrong_number),
    ("sorry, I dialed the wrong clinic", Intent.wrong_number),
    ("Yes, the first one.", None),
    ("hmm let me think", None),
]


@pytest.mark.parametrize(("utterance", "intent"), INTENT_CASES, ids=[c[0] for c in INTENT_CASES])
def test_primary_intent(utterance: str, intent: Intent | None) -> None:
    assert understand(utterance, NOW).primary == intent


@pytest.mark.parametrize(
    ("utterance", "affirm", "deny"),
    [
        ("Yes, the first one.", True, False),
        ("Yeah that works", True, False),
        ("sure, go ahead", True, False),
        ("that's correct", True, False),
        ("mm-hmm", True, False),
        ("None of those work", False, True),
        ("no, do you have anything later", False, True),
        ("neither of those", False, True),
        ("what about Thursday", False, False),
    ],
)
def test_yes_and_no(utterance: str, affirm: bool, deny: bool) -> None:
    understood = understand(utterance, NOW)
    assert (understood.affirm, understood.deny) == (affirm, deny)


@pytest.mark.parametrize(
    ("utterance", "index"),
    [
        ("Yes, the first one.", 0),
        ("the second one please", 1),
        ("Let's do the later one", -1),
        ("option 3", 2),
        ("the last one", -1),
        ("Whatever's soonest is fine.", 0),
        ("the earliest you have", 0),
        ("first available, please", 0),
        ("yes please", None),
    ],
)
def test_option_choice(utterance: str, index: int | None) -> None:
    assert understand(utterance, NOW).option_index == index


@pytest.mark.parametrize(
    ("utterance", "name", "born"),
    [
        ("My name is John Smith", ("John", "Smith"), None),
        ("my name is Ana May", ("Ana", "May"), None),
        ("June Carter, born May 5th 1970", ("June", "Carter"), date(1970, 5, 5)),
        ("Hanalopas, March 3rd, 1988.", None, date(1988, 3, 3)),
        (
            "I'd like to book an exam on Tuesday morning.",
            None,
            None,
        ),  # a misheard name is not "Hanalopas March"
        ("Ana Lopez, March 3rd 1988.", ("Ana", "Lopez"), date(1988, 3, 3)),
        ("this is Maria Garcia, born November 2nd 1990", ("Maria", "Garcia"), date(1990, 11, 2)),
        ("it's robert johnson", ("Robert", "Johnson"), None),
        ("I'm calling about my appointment", None, None),
        ("I'm not sure", None, None),
        ("Hi, I know it's late, but I'd like to book a cleaning.", None, None),
        ("I'm afraid my tooth cracked", None, None),
    ],
)
def test_names_and_birth_dates(utterance: str, name: tuple[str, str] | None, born: date | None) -> None:
    understood = understand(utterance, NOW)
    assert (understood.name, understood.date_of_birth) == (name, born)


def test_repeat_requests_are_short_questions_only() -> None:
    assert understand("sorry, what?", NOW).wants_repeat
    assert understand("could you say that again", NOW).wants_repeat
    assert not understand("what are your hours", NOW).wants_repeat


SERVICES = {"cleaning": "Cleaning", "exam": "Exam", "filling": "Filling", "consultation": "Consultation"}


@pytest.mark.parametrize(
    ("utterance", "slug"),
    [
        ("I need my teeth cleaned", "cleaning"),
        ("my tooth hurts", "exam"),
        ("I think I have a cavity", "filling"),
        ("a checkup and a cleaning", "exam"),
        ("I'm interested in whitening", "consultation"),
        ("just a routine visit", None),
    ],
)
def test_match_service(utterance: str, slug: str | None) -> None:
    assert match_service(utterance, SERVICES) == slug


@pytest.mark.parametrize(
    ("utterance", "provider"),
    [
        ("with doctor patel", "p"),
        ("Dr Chen please", "c"),
        ("can I see Sarah", "k"),
        ("with doctor pattel", "p"),
        ("anyone is fine", None),
    ],
)
def test_match_provider(utterance: str, provider: str | None) -> None:
    assert (
        match_provider(utterance, {"p": "Dr. Priya Patel", "c": "Dr. Marcus Chen", "k": "Sarah Kim"})
        == provider
    )
