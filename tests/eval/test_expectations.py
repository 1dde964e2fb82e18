"""The scenario format's expectations beyond outcome and weekday (issue 17): the patient record,
the appointment's exact date and time, any-of and whole-word phrases, words in the reply that made
the transfer, and alternative outcomes. Each is shown holding and failing on real calls through
the engine and database (`frontdesk eval --text`), and refused naming the file and the field when
malformed. Every scenario of scenarios/ and scenarios-to-pass/ keeps its meaning."""

import secrets
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import Engine

from frontdesk.agent.text_call import TextCall
from frontdesk.domain.calls import ensure_call, finish_call
from frontdesk.domain.models import CallDirection, TurnRole
from frontdesk.domain.seed import seed_demo
from frontdesk.eval.checks import check_call
from frontdesk.eval.command import run_embedded_suite, run_text_suite
from frontdesk.eval.results import Check, ScenarioResult
from frontdesk.eval.scenario import Phrase, ScenarioError, parse_scenario
from frontdesk.eval.text_runner import TextConversation, clinic_number, converse_in_text
from tests.eval.test_eval_scenarios import REPO, SCENARIOS

# A new patient books: Ana Lopez, born 1988-03-03, a cleaning on Tuesday 2026-12-01 at 08:00 with
# Dr. Patel (the first slot offered). Its agent says "Tuesday" and never transfers.
BOOKING: dict[str, Any] = {
    "clinic": "demo",
    "now": "2026-11-23T09:30",
    "caller": "+15550199001",
    "turns": [
        {"say": "Hi, I'd like to book a teeth cleaning."},
        {"say": "My name is Ana Lopez. My date of birth is March 3rd, 1988."},
        {"say": "Next Tuesday morning if you have anything."},
        {"say": "Yes, the first one."},
        {"say": "Yeah, that's all, thanks."},
    ],
}
# A medical emergency: one reply tells the caller to dial 911 ("right now") and transfers.
EMERGENCY: dict[str, Any] = {
    "clinic": "demo",
    "now": "2026-11-23T09:30",
    "caller": "+15550199009",
    "turns": [{"say": "My face is swollen and I can't breathe"}],
}
# A caller asked for their date of birth leaves the booking for a person: the transfer comes in
# a later reply than the question.
TRANSFER_MID_BOOKING: dict[str, Any] = {
    "clinic": "demo",
    "now": "2026-11-23T09:30",
    "caller": "+15550199009",
    "turns": [
        {"say": "I'd like to book a cleaning."},
        {"say": "Ugh, can I just talk to the front desk please?"},
    ],
}


def write(folder: Path, name: str, call: dict[str, Any], expect: dict[str, Any]) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump({"name": name, **call, "expect": expect}, sort_keys=False), encoding="utf-8"
    )
    return path


async def run(folder: Path) -> dict[str, ScenarioResult]:
    """Every scenario of `folder` at text level, by name; a call that crashed fails the test."""
    results = {result.name: result for result in await run_text_suite([folder])}
    assert all(result.error is None for result in results.values()), [r.error for r in results.values()]
    return results


def checks(result: ScenarioResult, name: str) -> list[tuple[str, str, bool | None]]:
    """The result's checks called `name`: (expected, got, passed)."""
    return [(c.expected, c.got, c.passed) for c in result.checks if c.name == name]


async def test_the_patient_record_of_the_appointment(tmp_path: Path) -> None:
    write(
        tmp_path,
        "right-patient",
        BOOKING,
        {
            "outcome": "booked",
            "patient": {"first_name": "ANA", "last_name": "lopez", "date_of_birth": "1988-03-03"},
        },
    )
    write(
        tmp_path,
        "wrong-patient",
        BOOKING,
        {"outcome": "booked", "patient": {"first_name": "Anna", "date_of_birth": date(1988, 3, 4)}},
    )
    write(
        tmp_path, "no-appointment", EMERGENCY, {"outcome": "transferred", "patient": {"last_name": "Lopez"}}
    )
    results = await run(tmp_path)

    right = results["right-patient"]
    assert right.passed, right.checks
    assert checks(right, "patient.first_name") == [("ANA", "Ana", True)]  # names in any case
    wrong = results["wrong-patient"]
    assert not wrong.passed
    assert checks(wrong, "patient.first_name") == [("Anna", "Ana", False)]
    assert checks(wrong, "patient.date_of_birth") == [("1988-03-04", "1988-03-03", False)]
    assert checks(results["no-appointment"], "patient.last_name") == [("Lopez", "no appointment", False)]


async def test_the_exact_date_and_time_of_the_appointment(tmp_path: Path) -> None:
    appointment = {"service": "cleaning", "date": "2026-12-01", "time": "08:00"}
    write(tmp_path, "right-slot", BOOKING, {"outcome": "booked", "appointment": appointment})
    later = {"date": date(2026, 12, 8), "time": "08:15"}  # a date as YAML reads it unquoted
    write(tmp_path, "wrong-slot", BOOKING, {"outcome": "booked", "appointment": later})
    results = await run(tmp_path)

    right = results["right-slot"]
    assert right.passed, right.checks
    assert checks(right, "appointment.date") == [("2026-12-01", "2026-12-01", True)]
    assert checks(right, "appointment.time") == [("08:00", "08:00", True)]  # clinic-local, 24 h
    wrong = results["wrong-slot"]
    assert not wrong.passed
    assert checks(wrong, "appointment.date") == [("2026-12-08", "2026-12-01", False)]
    assert checks(wrong, "appointment.time") == [("08:15", "08:00", False)]


async def test_any_of_and_whole_word_phrases(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phrases-that-hold",
        BOOKING,
        {
            "outcome": "booked",
            "said": [{"any": ["Wednesday", "Tuesday"]}, {"word": "tuesday"}, "Tues"],
            "not_said": [{"word": "Tues"}, {"any": ["Certainly", {"word": "Dec"}]}],
        },
    )
    write(
        tmp_path,
        "phrases-that-fail",
        BOOKING,
        {
            "outcome": "booked",
            "said": [{"any": ["Wednesday", "Thursday"]}, {"word": "Tues"}],
            "not_said": [{"any": ["Certainly", "Tuesday"]}, "Tues"],
        },
    )
    # "right now": a plain "no" is found inside "now", the word "no" is not.
    write(tmp_path, "no-inside-now", EMERGENCY, {"outcome": "transferred", "not_said": ["no"]})
    write(tmp_path, "no-as-a-word", EMERGENCY, {"outcome": "transferred", "not_said": [{"word": "no"}]})
    results = await run(tmp_path)

    hold = results["phrases-that-hold"]
    assert hold.passed, hold.checks
    assert checks(hold, "said") == [
        ('any of "Wednesday", "Tuesday"', 'said "Tuesday"', True),
        ('word "tuesday"', 'said "tuesday"', True),
        ("Tues", "said", True),  # a plain text as before: inside "Tuesday" too
    ]
    fail = results["phrases-that-fail"]
    assert checks(fail, "said") == [
        ('any of "Wednesday", "Thursday"', "not said", False),
        ('word "Tues"', "not said", False),
    ]
    assert checks(fail, "not_said") == [
        ('any of "Certainly", "Tuesday"', 'said "Tuesday"', False),
        ("Tues", "said", False),
    ]
    assert checks(results["no-inside-now"], "not_said") == [("no", "said", False)]
    assert checks(results["no-as-a-word"], "not_said") == [('word "no"', "not said", True)]
    assert results["no-as-a-word"].passed


async def test_words_in_the_reply_that_made_the_transfer(tmp_path: Path) -> None:
    write(
        tmp_path,
        "911-with-the-transfer",
        EMERGENCY,
        {"outcome": "transferred", "transfer_said": ["911", {"any": ["nine one one", {"word": "911"}]}]},
    )
    asked_earlier = {"outcome": "transferred", "said": ["date of birth"], "transfer_said": ["date of birth"]}
    write(tmp_path, "said-before-the-transfer", TRANSFER_MID_BOOKING, asked_earlier)
    write(
        tmp_path,
        "no-transfer",
        BOOKING,
        {"outcome": "booked", "said": ["Tuesday"], "transfer_said": ["Tuesday"]},
    )
    results = await run(tmp_path)

    with_it = results["911-with-the-transfer"]
    assert with_it.passed, with_it.checks
    assert checks(with_it, "transfer_said") == [
        ("911", "said in the transfer reply", True),
        ('any of "nine one one", word "911"', 'said "911" in the transfer reply', True),
    ]
    earlier = results["said-before-the-transfer"]
    assert checks(earlier, "said") == [("date of birth", "said", True)]  # in another reply
    assert checks(earlier, "transfer_said") == [("date of birth", "not said in the transfer reply", False)]
    assert checks(results["no-transfer"], "transfer_said") == [("Tuesday", "no transfer", False)]


async def test_alternative_outcomes(tmp_path: Path) -> None:
    write(tmp_path, "booked-or-transferred", BOOKING, {"outcome": ["transferred", "booked"]})
    write(tmp_path, "message-or-transferred", BOOKING, {"outcome": ["message_taken", "transferred"]})
    results = await run(tmp_path)

    either = results["booked-or-transferred"]
    assert either.passed and either.expected_outcome == "transferred or booked"
    assert checks(either, "outcome") == [("transferred or booked", "booked", True)]
    neither = results["message-or-transferred"]
    assert not neither.passed
    assert checks(neither, "outcome") == [("message_taken or transferred", "booked", False)]


async def hold_and_check(
    engine: Engine, folder: Path, name: str, call: dict[str, Any], replies_known: bool
) -> tuple[TextConversation, Check]:
    """Hold a call at text level on a demo clinic of its own in `engine`'s database, as the text
    runners do, and check its `transfer_said: ["911"]` with the replies the conversation found
    (`replies_known`) or with None, as audio mode does."""
    scenario = parse_scenario(write(folder, name, call, {"outcome": "transferred", "transfer_said": ["911"]}))
    number = f"+1555{secrets.randbelow(10**7):07d}"  # as the stack runners give each call's clinic
    clinic = seed_demo(engine, date(2026, 11, 23), slug=name, number=number)
    instant = scenario.instant(clinic.tz)
    text_call = TextCall(engine, clinic.id, scenario.caller, now=lambda: instant)
    call_id = ensure_call(
        engine,
        clinic.id,
        call_sid=f"eval-{name}",
        direction=CallDirection.inbound,
        from_number=scenario.caller,
        to_number=clinic_number(text_call),
    )
    conversation = await converse_in_text(
        text_call, scenario, ScenarioResult.before_the_call(folder, scenario)
    )
    outcome = text_call.state.outcome.value if text_call.state.outcome else None
    finish_call(engine, clinic.id, call_id, turns=conversation.records, outcome=outcome, ended_at=instant)
    found = check_call(
        engine,
        call_id,
        clinic,
        scenario.expect,
        " ".join(r.text for r in conversation.records if r.role == TurnRole.agent),
        confirmation=None,
        voice_to_voice_ms=None,
        transfer_replies=conversation.transfer_replies if replies_known else None,
    )
    [check] = [c for c in found if c.name == "transfer_said"]
    return conversation, check


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
async def test_transfer_said_where_the_mode_cannot_tell_the_reply(engine: Engine, tmp_path: Path) -> None:
    """The text runners' conversation names the reply that made the transfer; audio mode cannot
    (None): the check is then skipped, not passed, unless the call made no transfer at all."""
    conversation, known = await hold_and_check(engine, tmp_path, "emergency", EMERGENCY, replies_known=True)
    assert conversation.transfer_replies == [conversation.records[-1].text]  # the last reply, alone
    assert known.passed is True
    _, unknown = await hold_and_check(engine, tmp_path, "emergency-unknown", EMERGENCY, replies_known=False)
    assert unknown.passed is None and "skipped" in unknown.got
    hours = {
        **EMERGENCY,
        "turns": [{"say": "Hi, what are your hours?"}, {"say": "Okay, thanks, that's all."}],
    }
    conversation, untransferred = await hold_and_check(engine, tmp_path, "hours", hours, replies_known=False)
    assert conversation.transfer_replies == []
    assert (untransferred.got, untransferred.passed) == ("no transfer", False)


@pytest.mark.slow
async def test_transfer_said_through_a_stacks_workflows(tmp_path: Path) -> None:
    """`--text --embedded`: the engine runs in the eval, its changes go through the stack's
    CallWorkflow, and the reply that made the transfer is still the one checked."""
    write(tmp_path, "911-with-the-transfer", EMERGENCY, {"outcome": "transferred", "transfer_said": ["911"]})
    asked_earlier = {"outcome": "transferred", "transfer_said": ["date of birth"]}
    write(tmp_path, "said-before-the-transfer", TRANSFER_MID_BOOKING, asked_earlier)
    results = {result.name: result for result in await run_embedded_suite([tmp_path], mode="text")}

    assert checks(results["911-with-the-transfer"], "transfer_said") == [
        ("911", "said in the transfer reply", True)
    ]
    assert checks(results["said-before-the-transfer"], "transfer_said") == [
        ("date of birth", "not said in the transfer reply", False)
    ]


def test_phrases_match_as_documented() -> None:
    def found(phrase: Any, words: str) -> str | None:
        return Phrase.model_validate(phrase).found_in(words)

    assert found("no", "I know, NOW") == "no"  # a text: anywhere, any case
    assert found({"word": "no"}, "I know, November is fine") is None
    assert found({"word": "no"}, "No, thanks.") == "no"
    assert found({"word": "Dr. Patel"}, "with dr.  patel.") == "Dr. Patel"  # any spacing between words
    assert found({"word": "911"}, "extension 9115") is None
    assert found({"any": ["911", {"word": "nine one one"}]}, "call nine one one") == "nine one one"
    assert found({"any": ["911", "nine one one"]}, "call the office") is None


@pytest.mark.parametrize(
    ("expect", "field"),
    [
        ("outcome: booke", "expect.outcome"),
        ("outcome: [booked, transferd]", "expect.outcome"),
        ("outcome: []", "expect.outcome"),
        ("outcome: booked\n  appointment: {time: 14:30}", "expect.appointment.time"),  # a number in YAML
        ('outcome: booked\n  appointment: {time: "2:30 PM"}', "expect.appointment.time"),
        ('outcome: booked\n  appointment: {date: "2026-11-31"}', "expect.appointment.date"),
        ("outcome: booked\n  appointment: {day: 2026-11-24}", "expect.appointment.day"),
        ('outcome: booked\n  patient: {date_of_birth: "03/03/1988"}', "expect.patient.date_of_birth"),
        ("outcome: booked\n  patient: {first_name: Ana, phone: x}", "expect.patient.phone"),
        ('outcome: booked\n  patient: {first_name: ""}', "expect.patient.first_name"),
        ('outcome: booked\n  said: [["911", "nine one one"]]', "expect.said.0"),
        ('outcome: booked\n  said: [{words: "no"}]', "expect.said.0.words"),
        ("outcome: booked\n  not_said: [{word: no}]", "expect.not_said.0.word"),  # false in YAML
        ('outcome: booked\n  said: [{word: "no", any: ["yes"]}]', "expect.said.0"),
        ("outcome: booked\n  said: [{any: []}]", "expect.said.0.any"),
        ("outcome: booked\n  transfer_said: [911]", "expect.transfer_said.0"),
    ],
)
def test_a_malformed_expectation_names_the_file_and_the_field(
    tmp_path: Path, expect: str, field: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        f'name: bad\nclinic: demo\ncaller: "+15550199009"\nturns:\n  - say: hi\nexpect:\n  {expect}\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(path)
    assert str(path) in str(raised.value) and f"{field}:" in str(raised.value)


# scenarios-to-pass/ empties as its scenarios move to scenarios/ once they pass.
EXISTING = sorted(
    path for folder in (SCENARIOS, REPO / "scenarios-to-pass") for path in folder.rglob("*.yaml")
)


@pytest.mark.parametrize("path", EXISTING, ids=lambda p: p.name)
def test_every_existing_scenario_keeps_its_meaning(path: Path) -> None:
    """A single outcome is that outcome alone, and a said / not_said entry written as a string is
    a plain text (a substring, reported as written), as before."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["expect"]
    expect = parse_scenario(path).expect
    if isinstance(raw["outcome"], str):
        assert [outcome.value for outcome in expect.outcomes] == [raw["outcome"]]
        assert expect.outcome_text == raw["outcome"]
    for name in ("said", "not_said"):
        for written, phrase in zip(raw.get(name, []), getattr(expect, name), strict=True):
            if isinstance(written, str):
                assert (phrase.text, phrase.word, phrase.any, phrase.describe()) == (
                    written,
                    None,
                    None,
                    written,
                )
