"""What the agent knows and has done during one call.

The model never sees database ids: slots and appointments get short per-call handles
("S1", "A1"), so a slot id that this call did not produce cannot name anything.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal
from uuid import UUID

from frontdesk.agent.actions import PatientRecord, SlotOption
from frontdesk.agent.tools import TransferReason
from frontdesk.domain.appointment_details import AppointmentRecord
from frontdesk.domain.outcomes import Outcome, outweighs


class Specialist(StrEnum):
    """Who at the front desk handles the caller's current need (see agent/specialists.py)."""

    desk = "desk"
    scheduling = "scheduling"
    insurance = "insurance"
    billing = "billing"
    clinical = "clinical"


@dataclass
class CallState:
    """The facts of one call, shared by the engine, the tool runner and both brains."""

    caller_number: str
    direction: Literal["inbound", "outbound"] = "inbound"
    # An outbound call's reason (speakable, e.g. a reminder), the appointment it is about (its
    # database id) and the campaign's kind (reminder, recall or follow_up).
    purpose: str | None = None
    appointment_id: UUID | None = None
    campaign_kind: str | None = None
    # Inbound: found by caller id. Outbound: the patient the call was placed to. Either way only
    # context: whoever answers may be someone else.
    known_caller: PatientRecord | None = None
    patient: PatientRecord | None = None  # verified by name and date of birth
    offered: dict[str, SlotOption] = field(default_factory=dict)
    last_offer: list[str] = field(default_factory=list)  # the latest search's handles, in order
    last_search: str | None = None  # the latest search's criteria: the same again asks for more
    appointments: dict[str, AppointmentRecord] = field(default_factory=dict)
    booked_here: set[str] = field(default_factory=set)  # handles of appointments this call booked
    outcome: Outcome | None = None
    transfer_reason: TransferReason | None = None
    ended: bool = False
    booking_intent: bool = False
    specialist: Specialist = Specialist.desk

    def offer(self, slot: SlotOption) -> str:
        """Give a slot a handle (reusing the handle of an identical slot) and remember it."""
        for handle, known in self.offered.items():
            if known == slot:
                return handle
        handle = f"S{len(self.offered) + 1}"
        self.offered[handle] = slot
        return handle

    def remember_appointment(self, appointment: AppointmentRecord) -> str:
        """Give an appointment a handle (stable per appointment id) and remember its latest state."""
        for handle, known in self.appointments.items():
            if known.id == appointment.id:
                self.appointments[handle] = appointment
                return handle
        handle = f"A{len(self.appointments) + 1}"
        self.appointments[handle] = appointment
        return handle

    def call_appointment(self) -> str | None:
        """The handle of the appointment an outbound call is about, once it is remembered."""
        return next(
            (handle for handle, known in self.appointments.items() if known.id == self.appointment_id), None
        )

    def record_outcome(self, outcome: Outcome) -> None:
        """Set the call's outcome unless it already has a weightier one (a booking outranks a
        message, which outranks a plain answer)."""
        if outweighs(outcome, self.outcome):
            self.outcome = outcome
