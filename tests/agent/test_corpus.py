"""The labelled corpus (tests/agent/corpus/): caller utterances, written as callers talk and
without reading the parser, each with what a careful receptionist takes from it. Every key an
entry gives is checked against `understand`; a key given as null must not be read.

Utterances the offline receptionist still misreads are listed, each with what it reads instead,
in corpus/known_misreadings.yaml: they are strict expected failures, so one that starts reading
right fails the suite until it leaves the list.
"""

from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from frontdesk.agent.understanding.intents import Intent
from frontdesk.agent.understanding.reading import ClinicVocabulary, Understanding, understand
from frontdesk.agent.understanding.when import WEEKDAYS

CORPUS = Path(__file__).parent / "corpus"
TZ = ZoneInfo("America/New_York")
# The demo clinic's words; a provider's "id" here is the short name the corpus uses.
VOCABULARY = ClinicVocabulary(
    services={"cleaning": "Cleaning", "exam": "Exam", "filling": "Filling", "consultation": "Consultation"},
    providers={"Dr. Patel": "Dr. Priya Patel", "Dr. Chen": "Dr. Marcus Chen", "Sarah Kim": "Sarah Kim"},
    accepted_carriers=("Delta Dental", "Cigna", "Aetna", "MetLife", "Guardian"),
)
INTENT_NAMES = {Intent.confirm_appointment: "confirm"}
KEYS = {
    "intent",
    "also",
    "service",
    "provider",
    "weekday",
    "date",
    "part_of_day",
    "time",
    "earliest",
    "first_name",
    "last_name",
    "date_of_birth",
    "carrier",
    "yes",
    "no",
    "option",
    "repeat",
    "urgency",
}


@dataclass(frozen=True)
class Entry:
    file: str
    number: int
    say: str
    now: datetime
    expect: dict[str, Any]
    asked: str | None = None  # what the agent had just asked

    @property
    def id(self) -> str:
        return f"{self.file}:{self.number}"


def _entries() -> list[Entry]:
    entries = []
    for path in sorted(CORPUS.glob("*.yaml")):
        if path.name == "known_misreadings.yaml":
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        now = datetime.fromisoformat(data["now"]).replace(tzinfo=TZ)
        for number, item in enumerate(data["utterances"], start=1):
            entries.append(
                Entry(path.stem, number, item["say"], now, item.get("expect") or {}, item.get("asked"))
            )
    return entries


def _part_of_day(heard: Understanding) -> str | None:
    when = heard.when
    if when.part_of_day:
        return when.part_of_day
    if when.after is not None and when.after >= time(12):
        return "afternoon"
    if when.before is not None and when.before <= time(12):
        return "morning"
    return None


def reading(heard: Understanding) -> dict[str, Any]:
    """The understanding in the corpus's terms."""
    when = heard.when if not heard.when.is_empty else heard.existing_when  # the day named, old or new
    day = when.day
    if when.weekdays is not None and len(when.weekdays) == 1:
        weekday: str | None = WEEKDAYS[next(iter(when.weekdays))]
    else:
        weekday = WEEKDAYS[day.weekday()] if day else None
    primary = heard.primary
    option = heard.option_index
    return {
        "intent": INTENT_NAMES.get(primary, primary.value) if primary else "none",
        "service": heard.service,
        "provider": heard.provider_id,
        "weekday": weekday,
        "date": day.isoformat() if day else None,
        "part_of_day": _part_of_day(heard),
        "time": clock.strftime("%H:%M") if (clock := when.at or when.around) else None,
        "earliest": when.earliest or None,
        "first_name": heard.name[0] if heard.name else None,
        "last_name": heard.name[1] if heard.name else None,
        "date_of_birth": heard.date_of_birth.isoformat() if heard.date_of_birth else None,
        "carrier": heard.carrier,
        "yes": heard.affirm or None,
        "no": heard.deny or None,
        "option": None if option is None else (option + 1 if option >= 0 else option),
        "repeat": heard.wants_repeat or None,
        "urgency": heard.urgency.value,
    }


def misreadings(entry: Entry) -> list[str]:
    """Each expected key the understanding gets wrong, as "key: expected != read"."""
    # As the brain reads an answer to "can I have your name?".
    heard = understand(entry.say, entry.now, VOCABULARY, name_asked=entry.asked == "name_and_birth_date")
    got = reading(heard)
    wrong = []
    for key, wanted in entry.expect.items():
        if key == "also":
            named = {INTENT_NAMES.get(i, i.value) for i in heard.intents if heard.has(i)}
            missing = [intent for intent in wanted if intent not in named]
            if missing:
                wrong.append(f"also: {missing} not read")
            continue
        value = got[key]
        if key in ("yes", "no", "earliest", "repeat") and wanted is False:
            wanted = None
        texts = isinstance(value, str) and isinstance(wanted, str)
        if key in ("first_name", "last_name", "carrier") and texts:
            # Names in any case; a carrier in any spacing ("United Healthcare", "UnitedHealthcare").
            same = str(value).lower().replace(" ", "") == str(wanted).lower().replace(" ", "")
        else:
            same = value == wanted
        if not same:
            wrong.append(f"{key}: {wanted!r} != {value!r}")
    return wrong


ENTRIES = _entries()
KNOWN = yaml.safe_load((CORPUS / "known_misreadings.yaml").read_text(encoding="utf-8")) or {}


def test_the_corpus_is_large_and_well_formed() -> None:
    assert len(ENTRIES) >= 300
    for entry in ENTRIES:
        unknown = set(entry.expect) - KEYS
        assert not unknown, f"{entry.id}: unknown keys {unknown}"
    stale = set(KNOWN) - {e.id for e in ENTRIES}
    assert not stale, f"known_misreadings.yaml names entries that do not exist: {stale}"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_an_utterance_is_read_as_labelled(entry: Entry) -> None:
    wrong = misreadings(entry)
    if entry.id in KNOWN:
        assert wrong, f"{entry.id} now reads right: take it off known_misreadings.yaml"
        pytest.xfail(f"known misreading: {KNOWN[entry.id]}")
    assert not wrong, f"{entry.say!r}: " + "; ".join(wrong)
