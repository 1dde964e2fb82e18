"""A call's `Actions`: its reads composed with the backend that carries out its changes.

Reads go to `reads`. After a read whose result the backend must know (an availability search, a
patient's upcoming appointments) the backend is told (`slots_offered`, `appointments_seen`), so
a CallWorkflow refuses a change to anything this call never saw; no read is implemented twice.

Changes go to `changes` until it does not answer (ChangesUnanswered: a CallWorkflow Update past
its deadline, or Temporal unreachable). That change is refused with the speakable UNAVAILABLE
message, and from then on every change goes to `fallback` (the database) directly, so a message
the caller leaves next is recorded rather than waiting on a dead worker again. A registration
that does not answer moves the call to the fallback the same way, but the read's result stands:
the database checks nothing against registrations.

A change that went unanswered may still happen: the Temporal server keeps an Update it admitted,
and a worker that comes back runs it, writing once under its Update's key. Done again through
the fallback, it carries another key, so the database's own rules (a slot holds one booking)
decide, not the key. So every message taken after it tells the staff which change's result is
unknown, for them to check.
"""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar
from uuid import UUID

from frontdesk.agent.actions import (
    CallReads,
    ChangeBackend,
    ChangesUnanswered,
    InsuranceCheck,
    PatientRecord,
    SlotOption,
    SlotQuery,
)
from frontdesk.agent.tools import ConfirmationChannel, PatientDetails, TransferReason
from frontdesk.domain.appointment_details import AppointmentRecord
from frontdesk.domain.calls import TurnRecord
from frontdesk.domain.opt_outs import OptOutChannel
from frontdesk.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")


class CallActions:
    """One call's `Actions` (reads, and changes through its backend), plus what the process
    carrying the call needs: `transfer_number` once a transfer was recorded, the hang-up and
    the Update round trips."""

    def __init__(
        self, reads: CallReads, changes: ChangeBackend, fallback: ChangeBackend | None = None
    ) -> None:
        """`fallback` takes the changes once `changes` stopped answering (None: nothing does)."""
        self.reads = reads
        self.transfer_number: str | None = None
        self._backend = changes
        self._fallback = fallback
        self._current = changes  # where changes go now
        self._unknown: list[str] = []  # unanswered changes, in words for the staff

    @property
    def fell_back(self) -> bool:
        """Whether the call's changes now go to the fallback."""
        return self._current is not self._backend

    # Reads.

    async def find_slots(self, query: SlotQuery) -> list[SlotOption]:
        """Bookable slots, registered with the backend as offered in this call."""
        slots = await self.reads.find_slots(query)
        await self._register(lambda backend: backend.slots_offered(slots))
        return slots

    async def patient_by_phone(self, phone: str) -> PatientRecord | None:
        """The patient whose number is calling (unverified: for context only)."""
        return await self.reads.patient_by_phone(phone)

    async def patient_of_appointment(self, appointment_id: UUID) -> PatientRecord | None:
        """The patient an appointment is for, or None."""
        return await self.reads.patient_of_appointment(appointment_id)

    async def identify_patient(
        self, first_name: str, last_name: str, date_of_birth: date
    ) -> PatientRecord | None:
        """The patient matching name and date of birth, or None."""
        return await self.reads.identify_patient(first_name, last_name, date_of_birth)

    async def upcoming_appointments(self, patient_id: UUID) -> list[AppointmentRecord]:
        """A patient's upcoming appointments, registered with the backend as this call's patient's."""
        appointments = await self.reads.upcoming_appointments(patient_id)
        await self._register(lambda backend: backend.appointments_seen(patient_id, appointments))
        return appointments

    async def verify_insurance(self, carrier: str, member_id: str | None) -> InsuranceCheck:
        """Whether the clinic accepts the carrier and the member is eligible."""
        return await self.reads.verify_insurance(carrier, member_id)

    # Changes.

    async def book(
        self, slot: SlotOption, patient: PatientDetails, patient_id: UUID | None
    ) -> AppointmentRecord:
        """Book a slot for a patient (registered when new)."""
        return await self._change("a booking", lambda backend: backend.book(slot, patient, patient_id))

    async def reschedule(self, appointment_id: UUID, slot: SlotOption) -> AppointmentRecord:
        """Move an appointment to a slot."""
        return await self._change("a reschedule", lambda backend: backend.reschedule(appointment_id, slot))

    async def cancel(self, appointment_id: UUID) -> AppointmentRecord:
        """Cancel an appointment."""
        return await self._change("a cancellation", lambda backend: backend.cancel(appointment_id))

    async def confirm(self, appointment_id: UUID) -> AppointmentRecord:
        """Mark an appointment confirmed."""
        return await self._change("a confirmation", lambda backend: backend.confirm(appointment_id))

    async def opt_out(self, channel: OptOutChannel, phone: str) -> None:
        """Stop calls, text messages or both to the call's number."""
        await self._change("an opt-out", lambda backend: backend.opt_out(channel, phone))

    async def send_confirmation(self, appointment_id: UUID, channel: ConfirmationChannel) -> str:
        """Ask for a confirmation message; where it goes, for the agent to say."""
        return await self._change(
            "a confirmation message", lambda backend: backend.send_confirmation(appointment_id, channel)
        )

    async def take_message(self, reason: str, callback_number: str) -> None:
        """Record a message for the staff, naming any change whose result is unknown."""
        if self._unknown:
            reason = (
                f"{reason} (Check: {', '.join(self._unknown)} asked for earlier in this call got no "
                "answer in time, so whether it was made is unknown.)"
            )
        await self._change("a message", lambda backend: backend.take_message(reason, callback_number))

    async def transfer(self, reason: TransferReason, number: str) -> None:
        """Record the hand-off and remember the number for the transport, which moves the call."""
        await self._change("a transfer", lambda backend: backend.transfer(reason, number))
        self.transfer_number = number

    async def end_call(self, outcome: str) -> None:
        """Record the end of the conversation; the transport hangs up."""
        await self._change("the end of the call", lambda backend: backend.end_call(outcome))

    # The call's life.

    def take_update_timings(self) -> dict[str, float]:
        """Round trips (ms) of the workflow Updates that succeeded since the last take, by Update id."""
        return self._backend.take_update_timings()

    async def hang_up(
        self, turns: list[TurnRecord], outcome: str | None, patient_id: UUID | None = None
    ) -> None:
        """Hand the transcript and outcome to the backend. When it stopped answering (during the
        call or now), the fallback stores them too, so they never wait on it; the backend is still
        told, so a workflow that comes back closes the call (its row found closed, nothing in it
        changes) and runs the post-call work."""
        try:
            await self._backend.hang_up(turns, outcome, patient_id)
        except ChangesUnanswered:
            if self._fallback is None:
                raise
            self._fall_back()
        if self.fell_back:
            await self._current.hang_up(turns, outcome, patient_id)

    async def _register(self, registration: Callable[[ChangeBackend], Awaitable[None]]) -> None:
        try:
            await registration(self._current)
        except ChangesUnanswered:
            if self._fallback is None:
                raise
            self._fall_back()

    async def _change(self, what: str, change: Callable[[ChangeBackend], Awaitable[T]]) -> T:
        try:
            return await change(self._current)
        except ChangesUnanswered:
            self._unknown.append(what)
            if self._fallback is not None:
                self._fall_back()
            raise

    def _fall_back(self) -> None:
        assert self._fallback is not None
        if not self.fell_back:
            log.warning("call_changes_fell_back", backend=type(self._fallback).__name__)
        self._current = self._fallback
