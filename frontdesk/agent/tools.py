"""The receptionist's tools: one argument model per tool, and their JSON-schema definitions.

The same definitions are given to every brain (Claude sees them as tool definitions, the
deterministic brain builds the argument models directly), and every tool call is validated
against its model before it reaches `Actions`, whichever brain made it.
"""

from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from frontdesk.domain.new_patient import NewPatient
from frontdesk.domain.opt_outs import OptOutChannel


class TransferReason(StrEnum):
    """Why a caller is handed to a human; each maps to a number in the clinic's escalation rules."""

    billing = "billing"
    clinical = "clinical"
    distress = "distress"
    caller_request = "caller_request"
    out_of_scope = "out_of_scope"
    failure = "failure"


class ConfirmationChannel(StrEnum):
    """How a booking confirmation reaches the patient."""

    sms = "sms"
    email = "email"


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# A wall-clock time HH:MM: "25:99" is bad arguments, not a search that fails.
_CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"


class GetAvailability(_Args):
    """Find bookable appointment slots. Offer only slots this tool returned."""

    service: str = Field(description="the service, e.g. cleaning, exam, filling, consultation")
    provider: str | None = Field(default=None, description="a provider's name, if the caller asked for one")
    date_from: date = Field(description="first clinic-local date to search (YYYY-MM-DD)")
    date_to: date = Field(description="last clinic-local date to search, inclusive (YYYY-MM-DD)")
    part_of_day: Literal["morning", "afternoon", "evening"] | None = None
    weekdays: (
        list[Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]] | None
    ) = Field(default=None, description="only these days of the week, e.g. when the caller said 'Tuesdays'")
    after: str | None = Field(default=None, pattern=_CLOCK_TIME, description="earliest start, HH:MM")
    before: str | None = Field(default=None, pattern=_CLOCK_TIME, description="latest start, HH:MM")


class PatientDetails(_Args):
    """Who an appointment is for."""

    first_name: str = Field(min_length=1, max_length=80)
    last_name: str = Field(min_length=1, max_length=80)
    date_of_birth: date
    phone: str | None = Field(default=None, description="E.164; defaults to the caller's number")
    email: str | None = None

    def as_new_patient(self) -> NewPatient:
        """The patient as the clinic registers them when new (a missing phone is stored empty)."""
        return NewPatient(
            self.first_name, self.last_name, self.date_of_birth.isoformat(), self.phone or "", self.email
        )


class BookAppointment(_Args):
    """Book a slot returned by get_availability, after the caller said yes to it."""

    slot_id: str = Field(min_length=1, max_length=16)
    patient: PatientDetails


class RescheduleAppointment(_Args):
    """Move an identified patient's appointment to a slot returned by get_availability."""

    appointment_id: str = Field(min_length=1, max_length=16)
    slot_id: str = Field(min_length=1, max_length=16)


class CancelAppointment(_Args):
    """Cancel an identified patient's appointment, after the caller confirmed."""

    appointment_id: str = Field(min_length=1, max_length=16)


class ConfirmAppointment(_Args):
    """Mark an appointment confirmed after the patient said they will come to it."""

    appointment_id: str = Field(min_length=1, max_length=16)


class OptOut(_Args):
    """Stop contacting the caller's number: no more calls, text messages, or both (all)."""

    channel: OptOutChannel = Field(description="calls, sms or all; all when the caller did not say which")


class IdentifyPatient(_Args):
    """Verify an existing patient by name and date of birth before discussing their appointments."""

    first_name: str = Field(min_length=1, max_length=80)
    last_name: str = Field(min_length=1, max_length=80)
    date_of_birth: date


class VerifyInsurance(_Args):
    """Check whether the clinic accepts a carrier and whether the member id is eligible."""

    carrier: str = Field(min_length=1, max_length=120)
    member_id: str | None = Field(default=None, max_length=64)


class SendConfirmation(_Args):
    """Send the patient a confirmation of an appointment."""

    appointment_id: str = Field(min_length=1, max_length=16)
    channel: ConfirmationChannel = ConfirmationChannel.sms


class TakeMessage(_Args):
    """Leave a message for the clinic's staff, who will call back."""

    reason: str = Field(min_length=1, max_length=500)
    callback_number: str | None = Field(default=None, description="E.164; defaults to the caller's number")


class TransferToHuman(_Args):
    """Hand the caller to a person at the clinic."""

    reason: TransferReason


class EndCall(_Args):
    """End the call after saying goodbye."""


TOOL_MODELS: dict[str, type[_Args]] = {
    "get_availability": GetAvailability,
    "book_appointment": BookAppointment,
    "reschedule_appointment": RescheduleAppointment,
    "cancel_appointment": CancelAppointment,
    "confirm_appointment": ConfirmAppointment,
    "identify_patient": IdentifyPatient,
    "verify_insurance": VerifyInsurance,
    "send_confirmation": SendConfirmation,
    "take_message": TakeMessage,
    "opt_out": OptOut,
    "transfer_to_human": TransferToHuman,
    "end_call": EndCall,
}


class ToolArgumentsError(ValueError):
    """A tool call whose name or arguments do not fit its definition."""


def tool_definitions() -> list[dict[str, Any]]:
    """The tools as Anthropic tool definitions (name, description, input_schema)."""
    return [
        {"name": name, "description": model.__doc__ or name, "input_schema": model.model_json_schema()}
        for name, model in TOOL_MODELS.items()
    ]


def parse_tool_call(name: str, arguments: dict[str, Any]) -> _Args:
    """Validate a tool call's arguments; a clear ToolArgumentsError names what is wrong."""
    model = TOOL_MODELS.get(name)
    if model is None:
        raise ToolArgumentsError(f"there is no tool named {name!r}")
    try:
        return model.model_validate(arguments)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in error.errors()
        )
        raise ToolArgumentsError(f"{name} arguments are invalid: {problems}") from None
