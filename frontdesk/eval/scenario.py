"""The scenario format of the test-call suite (issue 7): one call, the caller's side of it, and
what the call must end with. Other suites are written against this format, so it is strict:
unknown fields are errors, and every error names the file and the field."""

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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


class AppointmentExpectation(_Strict):
    """Fields the appointment the call made or changed must match (any subset)."""

    service: str | None = None  # the service's slug, e.g. cleaning
    provider: str | None = None  # the provider's short name, e.g. "Dr. Patel"
    weekday: Weekday | None = None
    part_of_day: PartOfDay | None = None


class Expectations(_Strict):
    """What the call must end with; only the fields given are checked."""

    outcome: Outcome
    appointment: AppointmentExpectation | None = None
    transfer_reason: TransferReason | None = None
    said: list[str] = Field(default_factory=list)
    not_said: list[str] = Field(default_factory=list)
    confirmation_sent: bool | None = None
    max_voice_to_voice_ms: int | None = Field(default=None, gt=0)


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
