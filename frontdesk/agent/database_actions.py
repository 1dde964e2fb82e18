"""A call's reads and changes directly on the clinic's database: `DatabaseReads` and
`DatabaseChanges`, composed by `database_call_actions`.

This is the direct path: text chat, tests, and a live call whose CallWorkflow could not be
started (or stopped answering). Database work runs in a thread so it never blocks the event
loop that carries audio. Each change carries an idempotency key made of the call's key and a
per-call sequence number.
"""

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from itertools import count
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from frontdesk.agent.actions import (
    ActionRefused,
    InsuranceCheck,
    PatientRecord,
    SlotOption,
    SlotQuery,
    confirmation_destination,
)
from frontdesk.agent.call_actions import CallActions
from frontdesk.agent.clinic_profile import ClinicProfile, ProviderInfo, ServiceInfo
from frontdesk.agent.tools import ConfirmationChannel, PatientDetails, TransferReason
from frontdesk.domain import booking, opt_outs
from frontdesk.domain.appointment_details import AppointmentRecord
from frontdesk.domain.call_actions import CONFIRMATION_REQUEST_KIND, record_action
from frontdesk.domain.calls import TurnRecord, finish_call
from frontdesk.domain.database import session_scope
from frontdesk.domain.errors import DomainError
from frontdesk.domain.insurance import EligibilityChecker, OfflineEligibility
from frontdesk.domain.models import Appointment, Patient
from frontdesk.domain.new_patient import find_or_register_patient
from frontdesk.domain.opt_outs import OptOutChannel
from frontdesk.domain.repository import ClinicRepository
from frontdesk.log_redaction import remember_names

T = TypeVar("T")


def load_clinic_profile(engine: Engine, clinic_id: uuid.UUID) -> ClinicProfile:
    """Read the clinic, its providers and services into the snapshot one call uses."""
    with session_scope(engine) as session:
        repo = ClinicRepository(session, clinic_id)
        clinic = repo.clinic()
        services = repo.services()
        numbers = repo.phone_numbers()
        return ClinicProfile(
            id=clinic.id,
            slug=clinic.slug,
            name=clinic.name,
            timezone=clinic.timezone,
            address=clinic.address,
            phone_number=numbers[0].e164 if numbers else None,
            agent_name=clinic.agent_name,
            voice=clinic.voice,
            greeting=clinic.greeting or None,
            style_notes=clinic.style_notes or None,
            opening_hours=clinic.get_opening_hours(),
            escalation=clinic.get_escalation(),
            booking_rules=clinic.get_booking_rules(),
            accepted_insurance=clinic.get_insurance().accepted,
            end_of_turn_profile=clinic.end_of_turn_profile,
            max_call_seconds=clinic.max_call_seconds,
            providers=[
                ProviderInfo(
                    id=p.id,
                    name=p.name,
                    short_name=p.short_name,
                    role=p.role.value,
                    service_slugs=[s.slug for s in repo.services_of_provider(p.id)],
                )
                for p in repo.providers()
            ],
            services=[
                ServiceInfo(id=s.id, slug=s.slug, name=s.name, duration_minutes=s.duration_minutes)
                for s in services
            ],
        )


def _patient_record(patient: Patient, last_visit: datetime | None = None) -> PatientRecord:
    remember_names(patient.first_name, patient.last_name)  # the call knows them now: never in its logs
    return PatientRecord(
        id=patient.id,
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        phone=patient.phone,
        email=patient.email,
        insurance_carrier=patient.insurance_carrier,
        last_visit=last_visit,
    )


async def _in_thread(work: Callable[[], T]) -> T:
    """Run database work off the event loop; a domain error becomes a speakable refusal."""
    try:
        return await asyncio.to_thread(work)
    except DomainError as error:
        raise ActionRefused(str(error)) from None


def _now() -> datetime:
    return datetime.now(UTC)


class DatabaseReads:
    """The receptionist's look-ups for one call, on the database."""

    def __init__(
        self,
        engine: Engine,
        profile: ClinicProfile,
        *,
        now: Callable[[], datetime] = _now,
        eligibility: EligibilityChecker | None = None,
    ) -> None:
        self.engine = engine
        self.profile = profile
        self.now = now
        self.eligibility = eligibility or OfflineEligibility()

    async def _read(self, work: Callable[[ClinicRepository], T]) -> T:
        def run() -> T:
            with session_scope(self.engine) as session:
                return work(ClinicRepository(session, self.profile.id))

        return await _in_thread(run)

    async def find_slots(self, query: SlotQuery) -> list[SlotOption]:
        """Bookable slots, soonest first, within the query's wall-clock window."""
        tz = self.profile.tz
        slots = await self._read(
            lambda repo: repo.available_slots(
                query.service_id, query.provider_id, query.date_from, query.date_to, self.now()
            )
        )
        options = []
        for slot in slots:
            local = slot.start.astimezone(tz).time()
            if (query.after and local < query.after) or (query.before and local >= query.before):
                continue
            options.append(
                SlotOption(
                    provider_id=slot.provider_id, service_id=query.service_id, start=slot.start, end=slot.end
                )
            )
        return options

    async def patient_by_phone(self, phone: str) -> PatientRecord | None:
        """The first patient registered with the calling number who could be identified on the phone."""

        def work(repo: ClinicRepository) -> PatientRecord | None:
            patients = [p for p in repo.patients_by_phone(phone) if p.date_of_birth is not None]
            return _patient_record(patients[0]) if patients else None

        return await self._read(work)

    async def patient_of_appointment(self, appointment_id: uuid.UUID) -> PatientRecord | None:
        """The patient the appointment is for, or None when the clinic has no such appointment."""

        def work(repo: ClinicRepository) -> PatientRecord | None:
            appointment = repo.get(Appointment, appointment_id)
            patient = repo.get(Patient, appointment.patient_id) if appointment else None
            return _patient_record(patient) if patient else None

        return await self._read(work)

    async def identify_patient(
        self, first_name: str, last_name: str, date_of_birth: date
    ) -> PatientRecord | None:
        """The patient with this name and date of birth."""

        def work(repo: ClinicRepository) -> PatientRecord | None:
            patient = repo.patient_by_name_and_dob(first_name, last_name, date_of_birth)
            return _patient_record(patient) if patient else None

        return await self._read(work)

    async def upcoming_appointments(self, patient_id: uuid.UUID) -> list[AppointmentRecord]:
        """The patient's active appointments from now on."""
        return await self._read(
            lambda repo: [AppointmentRecord.of(a) for a in repo.upcoming_appointments(patient_id, self.now())]
        )

    async def verify_insurance(self, carrier: str, member_id: str | None) -> InsuranceCheck:
        """The eligibility adapter's answer for the clinic's accepted carriers (asked in a thread:
        a clearinghouse is a network round trip, and the event loop carries audio)."""
        answer = await asyncio.to_thread(
            self.eligibility.check, self.profile.accepted_insurance, carrier, member_id
        )
        return InsuranceCheck(
            carrier=answer.carrier, accepted=answer.accepted, eligible=answer.eligible, detail=answer.detail
        )


class DatabaseChanges:
    """The receptionist's changes for one call, each written directly through the domain layer."""

    def __init__(
        self,
        engine: Engine,
        profile: ClinicProfile,
        call_key: str,
        *,
        call_id: uuid.UUID | None = None,
        now: Callable[[], datetime] = _now,
    ) -> None:
        """`call_key` prefixes every change's idempotency key; `call_id` is the call's row, if any."""
        self.engine = engine
        self.profile = profile
        self.call_key = call_key
        self.call_id = call_id
        self.now = now
        self._sequence = count(1)

    def _key(self, kind: str) -> str:
        return f"{self.call_key}:{kind}:{next(self._sequence)}"

    async def slots_offered(self, slots: list[SlotOption]) -> None:
        """Nothing to learn: the database checks a booking's slot itself (and the tool runner
        books only slots it offered)."""

    async def appointments_seen(self, patient_id: uuid.UUID, appointments: list[AppointmentRecord]) -> None:
        """Nothing to learn: the tool runner changes only appointments the call looked up."""

    async def book(
        self, slot: SlotOption, patient: PatientDetails, patient_id: uuid.UUID | None
    ) -> AppointmentRecord:
        """Book the slot, registering the patient first when they are new."""
        key = self._key("book")

        def work() -> AppointmentRecord:
            pid = patient_id or find_or_register_patient(
                self.engine, self.profile.id, patient.as_new_patient()
            )
            appointment = booking.book_appointment(
                self.engine,
                self.profile.id,
                patient_id=pid,
                provider_id=slot.provider_id,
                service_id=slot.service_id,
                start_at=slot.start,
                idempotency_key=key,
                call_id=self.call_id,
                now=self.now(),
            )
            return AppointmentRecord.of(appointment)

        return await _in_thread(work)

    async def reschedule(self, appointment_id: uuid.UUID, slot: SlotOption) -> AppointmentRecord:
        """Move the appointment to the slot (and its provider)."""
        key = self._key("reschedule")
        return await _in_thread(
            lambda: AppointmentRecord.of(
                booking.reschedule_appointment(
                    self.engine,
                    self.profile.id,
                    appointment_id=appointment_id,
                    new_start_at=slot.start,
                    provider_id=slot.provider_id,
                    idempotency_key=key,
                    call_id=self.call_id,
                    now=self.now(),
                )
            )
        )

    async def cancel(self, appointment_id: uuid.UUID) -> AppointmentRecord:
        """Cancel the appointment."""
        key = self._key("cancel")
        return await _in_thread(
            lambda: AppointmentRecord.of(
                booking.cancel_appointment(
                    self.engine,
                    self.profile.id,
                    appointment_id=appointment_id,
                    idempotency_key=key,
                    call_id=self.call_id,
                    reason="cancelled by the patient on the phone",
                )
            )
        )

    async def confirm(self, appointment_id: uuid.UUID) -> AppointmentRecord:
        """Mark the appointment confirmed."""
        key = self._key("confirm")
        return await _in_thread(
            lambda: AppointmentRecord.of(
                booking.confirm_appointment(
                    self.engine,
                    self.profile.id,
                    appointment_id=appointment_id,
                    idempotency_key=key,
                    call_id=self.call_id,
                )
            )
        )

    async def opt_out(self, channel: OptOutChannel, phone: str) -> None:
        """Put the number on the clinic's do-not-contact list for the channel."""
        key = self._key("opt_out")
        await _in_thread(
            lambda: opt_outs.set_opt_out(
                self.engine,
                self.profile.id,
                phone=phone,
                channel=channel,
                opted_out=True,
                idempotency_key=key,
                call_id=self.call_id,
            )
        )

    async def send_confirmation(self, appointment_id: uuid.UUID, channel: ConfirmationChannel) -> str:
        """Record the confirmation request; the call's post-call workflow delivers it exactly once."""
        await self._record(
            CONFIRMATION_REQUEST_KIND, {"appointment_id": str(appointment_id), "channel": channel.value}
        )
        return confirmation_destination(channel)

    async def take_message(self, reason: str, callback_number: str) -> None:
        """Record a message for the staff."""
        await self._record("take_message", {"reason": reason, "callback_number": callback_number})

    async def transfer(self, reason: TransferReason, number: str) -> None:
        """Record the hand-off; the telephony layer moves the live call."""
        await self._record("transfer_to_human", {"reason": reason.value, "number": number})

    async def end_call(self, outcome: str) -> None:
        """Record the end of the conversation; the telephony layer hangs up."""
        await self._record("end_call", {"outcome": outcome})

    async def hang_up(
        self, turns: list[TurnRecord], outcome: str | None, patient_id: uuid.UUID | None = None
    ) -> None:
        """Store the transcript and close the call's row."""
        call_id = self.call_id
        if call_id is None:
            raise ValueError("a call without its Call row cannot be closed")
        await asyncio.to_thread(
            finish_call,
            self.engine,
            self.profile.id,
            call_id,
            turns=turns,
            outcome=outcome,
            patient_id=patient_id,
        )

    def take_update_timings(self) -> dict[str, float]:
        """No workflow, no Updates: always empty."""
        return {}

    async def _record(self, kind: str, payload: dict[str, Any]) -> None:
        key = self._key(kind)
        await _in_thread(
            lambda: record_action(
                self.engine,
                self.profile.id,
                kind=kind,
                payload=payload,
                idempotency_key=key,
                call_id=self.call_id,
            )
        )


def database_call_actions(
    engine: Engine,
    profile: ClinicProfile,
    call_key: str,
    *,
    call_id: uuid.UUID | None = None,
    now: Callable[[], datetime] = _now,
    eligibility: EligibilityChecker | None = None,
) -> CallActions:
    """A call's actions directly on the database (reads and changes), on the call's clock;
    `eligibility` checks insurance (by default offline)."""
    return CallActions(
        DatabaseReads(engine, profile, now=now, eligibility=eligibility),
        DatabaseChanges(engine, profile, call_key, call_id=call_id, now=now),
    )
