"""The scenario format of the test-call suite (issue 7): one call, the caller's side of it, and
what the call must end with. Other suites are written against this format, so it is strict:
unknown fields are errors, and every error names the file and the field.

What the call must end with (`expect`; only the fields given are checked):
- `outcome`: the call's outcome, or a list of acceptable ones (`[booked, transferred]`).
- `appointment`: the appointment the call made or changed last (`service`, `provider`, `weekday`,
  `part_of_day`, `date` "YYYY-MM-DD" and `time` "HH:MM" on the clinic's 24-hour clock).
- `patient`: that appointment's patient (`first_name`, `last_name` in any case,
  `date_of_birth` "YYYY-MM-DD").
- `transfer_reason`: the reason of the call's one transfer.
- `said` / `not_said`: phrases in all of the agent's words; `transfer_said`: phrases in the one
  reply that made the transfer (fails when there is none; skipped in audio mode, which cannot
  tell that reply, when there is one). A phrase is a text, found anywhere in
  any case ("Tuesday" is found in "TUESDAY,"; "no" in "know"); `{word: "no"}`, the text as whole
  words ("no" is not found in "know" or "November"); or `{any: [phrase, ...]}`, any one of them
  (`not_said` then fails when any one of them is said).
- `confirmation_sent`, `max_voice_to_voice_ms` (audio only).
"""

import re
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from frontdesk.agent.tools import TransferReason
from frontdesk.domain.models import check_e164
from frontdesk.domain.outcomes import Outcome

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
PartOfDay = Literal["morning", "afternoon", "evening"]


class ScenarioError(ValueError):
    """A scenario file that cannot be read or does not follow the format."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Turn(_Strict):
    """One thing the caller does: exactly one of the fields is set."""

    say: str | None = Field(default=None, min_length=1)
    dtmf: str | None = Field(default=None, pattern=r"^[0-9*#]+$")
    silence: float | None = Field(default=None, gt=0, le=600)  # seconds
    barge_in: str | None = Field(default=None, min_length=1)  # spoken while the agent talks
    hangup: Literal[True] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Turn":
        if len(self.model_fields_set) != 1:
            raise ValueError("a turn has exactly one of say, dtmf, silence, barge_in, hangup")
        return self


def _iso_date(value: object) -> object:
    """A date as YAML gives it (unquoted, a date; quoted, a text), kept as its "YYYY-MM-DD" text,
    the form the checks compare."""
    if isinstance(value, datetime):  # a subclass of date: say why it is refused
        raise ValueError("give a date without a time, as YYYY-MM-DD")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date: give it as YYYY-MM-DD, e.g. 2026-11-24")


def _clock_time(value: object) -> object:
    if isinstance(value, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        return value
    if isinstance(value, int):  # YAML 1.1 reads an unquoted 14:30 as the number 870
        raise ValueError('put the time in quotes, "HH:MM" (YAML reads an unquoted 14:30 as a number)')
    raise ValueError(f'{value!r} is not a time: give it as "HH:MM" on the 24-hour clock, e.g. "14:30"')


IsoDate = Annotated[str, BeforeValidator(_iso_date)]
ClockTime = Annotated[str, BeforeValidator(_clock_time)]


class AppointmentExpectation(_Strict):
    """Fields the appointment the call made or changed must match (any subset)."""

    service: str | None = None  # the service's slug, e.g. cleaning
    provider: str | None = None  # the provider's short name, e.g. "Dr. Patel"
    weekday: Weekday | None = None
    part_of_day: PartOfDay | None = None
    date: IsoDate | None = None  # clinic-local, "YYYY-MM-DD"
    time: ClockTime | None = None  # clinic-local start, "HH:MM" on the 24-hour clock


class PatientExpectation(_Strict):
    """Fields the patient of that appointment must match (any subset); names in any case."""

    first_name: str | None = Field(default=None, min_length=1)
    last_name: str | None = Field(default=None, min_length=1)
    date_of_birth: IsoDate | None = None


def _unquoted(value: object) -> str | None:
    """Why a YAML scalar that is not a text was likely meant as one, or None."""
    if isinstance(value, bool | int | float):
        return f"{value!r} is not a text: put it in quotes (YAML reads unquoted no as false, 911 as a number)"
    return None


class Phrase(_Strict):
    """An entry of said / not_said / transfer_said: exactly one of `text` (a plain string in the
    file: found anywhere, in any case), `word` (found as whole words, in any case) or `any` (any
    one of its phrases)."""

    text: str | None = None
    word: str | None = None
    any: list["Phrase"] | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"text": value}
        if (isinstance(value, dict) and "text" not in value) or isinstance(value, Phrase):
            return value
        raise ValueError(_unquoted(value) or 'a phrase is a text, {word: "..."} or {any: [...]}')

    @field_validator("word", mode="before")
    @classmethod
    def _a_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(_unquoted(value) or "give the word or words to find, as a text")
        if not value.strip():
            raise ValueError("give the word or words to find")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> "Phrase":
        if len(self.model_fields_set) != 1:
            raise ValueError("a phrase given as a mapping has exactly one of word, any")
        return self

    def found_in(self, words: str) -> str | None:
        """The text of this phrase that `words` contain (of `any`, the first found), or None."""
        if self.any is not None:
            for phrase in self.any:
                if (found := phrase.found_in(words)) is not None:
                    return found
            return None
        if self.word is not None:
            # Whole words: no letter or digit just before or after; any spacing between words.
            body = r"\s+".join(re.escape(part) for part in self.word.split())
            return self.word if re.search(rf"(?<!\w){body}(?!\w)", words, re.IGNORECASE) else None
        text = self.text or ""
        return text if text.lower() in words.lower() else None

    def describe(self, nested: bool = False) -> str:
        """The phrase as a report shows it: a plain text as it is written (quoted inside `any`)."""
        if self.any is not None:
            return "any of " + ", ".join(phrase.describe(nested=True) for phrase in self.any)
        if self.word is not None:
            return f'word "{self.word}"'
        return f'"{self.text}"' if nested else self.text or ""


class Expectations(_Strict):
    """What the call must end with; only the fields given are checked."""

    outcome: Outcome | list[Outcome]  # one, or a list of acceptable outcomes
    appointment: AppointmentExpectation | None = None
    patient: PatientExpectation | None = None  # the patient of that same appointment
    transfer_reason: TransferReason | None = None
    said: list[Phrase] = Field(default_factory=list)
    not_said: list[Phrase] = Field(default_factory=list)
    transfer_said: list[Phrase] = Field(default_factory=list)  # in the reply that made the transfer
    confirmation_sent: bool | None = None
    max_voice_to_voice_ms: int | None = Field(default=None, gt=0)

    @field_validator("outcome", mode="before")
    @classmethod
    def _known_outcomes(cls, value: object) -> object:
        # Checked here, not by the union: its error would name both of its forms, not the value.
        values = value if isinstance(value, list) else [value]
        if not values:
            raise ValueError("give an outcome, or a list of the acceptable ones")
        for item in values:
            if not isinstance(item, str) or item not in {outcome.value for outcome in Outcome}:
                raise ValueError(f"{item!r} is not an outcome: one of {', '.join(Outcome)}")
        return value

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        """The acceptable outcomes."""
        return tuple(self.outcome) if isinstance(self.outcome, list) else (self.outcome,)

    @property
    def outcome_text(self) -> str:
        """The acceptable outcomes as a report shows them: "booked", "booked or transferred"."""
        return " or ".join(outcome.value for outcome in self.outcomes)


class Scenario(_Strict):
    """One test call."""

    name: str = Field(min_length=1, max_length=120)
    clinic: str = Field(min_length=1)
    now: datetime | None = None  # clinic-local wall clock; default: the real now
    direction: Literal["inbound", "outbound"] = "inbound"
    campaign: Literal["reminder", "recall", "follow_up"] | None = None
    appointment: Literal["first_upcoming"] | None = None
    caller: str
    noise_db: float | None = Field(default=None, le=0)
    turns: list[Turn] = Field(min_length=1)
    expect: Expectations

    def instant(self, tz: tzinfo) -> datetime:
        """The moment the call happens (`now` read in the clinic's time zone), aware in UTC."""
        return self.now.replace(tzinfo=tz).astimezone(UTC) if self.now else datetime.now(UTC)

    @field_validator("caller")
    @classmethod
    def _e164(cls, value: str) -> str:
        return check_e164(value, "caller")

    @field_validator("now")
    @classmethod
    def _wall_clock(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            raise ValueError("now is the clinic's local time: give it without a UTC offset")
        return value

    @model_validator(mode="after")
    def _direction_fields(self) -> "Scenario":
        if self.direction == "outbound" and self.campaign is None:
            raise ValueError("an outbound scenario needs campaign (reminder, recall or follow_up)")
        if self.direction == "inbound" and (self.campaign or self.appointment):
            raise ValueError("campaign and appointment are for outbound scenarios only")
        return self


def parse_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file; ScenarioError names the file and the bad field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ScenarioError(f"{path}: cannot read the scenario: {error}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a YAML mapping (name:, clinic:, turns:, expect: ...)")
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'scenario'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise ScenarioError(f"{path}: {problems}") from None
