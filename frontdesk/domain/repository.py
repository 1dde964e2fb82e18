"""Tenancy-scoped data access: every query of clinic data goes through `ClinicRepository`.

A repository is bound to one clinic. All its reads are built on `_scoped` (a select filtered by
`clinic_id`) or `get` (which checks the row's `clinic_id`), so no method can forget the tenant:
another clinic's row looks exactly like a missing one. The two lookups that find the tenant in
the first place (by slug, by dialled number) are module-level functions.
"""

import difflib
import re
import uuid
from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from frontdesk.domain import availability
from frontdesk.domain.campaign_settings import TargetStatus
from frontdesk.domain.clinic_settings import OpeningHours
from frontdesk.domain.errors import NotFound, ProviderDoesNotOfferService
from frontdesk.domain.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Action,
    Appointment,
    AppointmentStatus,
    Call,
    CallTurn,
    CampaignTarget,
    Clinic,
    DoNotContact,
    Message,
    Patient,
    PhoneNumber,
    Provider,
    ProviderSchedule,
    ProviderService,
    ScheduleException,
    Service,
)

Row = TypeVar("Row", bound=Any)

# Enough context around a queried range to see every busy interval, buffer and exception that
# can touch it (buffers are at most 4 h and services at most 8 h, see clinic_settings / models).
CALENDAR_MARGIN = timedelta(days=1)
# Words callers put around a provider's name that say nothing about which provider they mean.
_NAME_FILLER = frozenset({"dr", "doctor", "doc", "the", "with", "see", "ms", "mrs", "mr", "miss"})
_FUZZY_CUTOFF = 0.8
_MIN_PREFIX = 4  # shorter prefixes ("dr", "ex") match too much


def clinic_by_slug(session: Session, slug: str) -> Clinic | None:
    """The clinic with this slug, or None."""
    return session.exec(select(Clinic).where(Clinic.slug == slug)).first()


def clinic_by_phone_number(session: Session, e164: str) -> Clinic | None:
    """The clinic a dialled number routes to, or None (the voice webhook's lookup)."""
    statement = select(Clinic).join(PhoneNumber, col(PhoneNumber.clinic_id) == Clinic.id)
    return session.exec(statement.where(PhoneNumber.e164 == e164)).first()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _word_matches(word: str, candidates: Collection[str]) -> bool:
    """Whether `word` is one of `candidates`, a shortening of one ("consult"), or close enough
    to survive a speech-to-text misspelling ("patell")."""
    if word in candidates:
        return True
    if any(
        _MIN_PREFIX <= min(len(word), len(c)) and (c.startswith(word) or word.startswith(c))
        for c in candidates
    ):
        return True
    return bool(difflib.get_close_matches(word, candidates, n=1, cutoff=_FUZZY_CUTOFF))


class ClinicRepository:
    """Reads and writes of one clinic's data; every query is filtered by the clinic id."""

    def __init__(self, session: Session, clinic_id: uuid.UUID) -> None:
        if not isinstance(clinic_id, uuid.UUID):
            raise TypeError(f"clinic_id must be a UUID, got {type(clinic_id).__name__}")
        self.session = session
        self.clinic_id = clinic_id
        self._clinic: Clinic | None = None

    # --- the scoping primitives -------------------------------------------------------

    def _scoped(self, model: type[Row]) -> SelectOfScalar[Row]:
        return select(model).where(model.clinic_id == self.clinic_id)

    def get(self, model: type[Row], ident: uuid.UUID) -> Row | None:
        """The row of `model` with this id if it belongs to this clinic, else None."""
        row = self.session.get(model, ident)
        return row if row is not None and row.clinic_id == self.clinic_id else None

    def require(self, model: type[Row], ident: uuid.UUID) -> Row:
        """Like `get`, but raise NotFound (naming the kind of row) when it is absent."""
        row = self.get(model, ident)
        if row is None:
            raise NotFound(model.__name__.lower(), ident)
        return row

    def add(self, row: Row) -> Row:
        """Add a new row of this clinic to the session (its clinic_id is set or checked)."""
        if getattr(row, "clinic_id", None) is None:
            row.clinic_id = self.clinic_id
        elif row.clinic_id != self.clinic_id:
            kind = type(row).__name__
            raise ValueError(f"a {kind} of clinic {row.clinic_id} cannot be added to clinic {self.clinic_id}")
        self.session.add(row)
        return row

    # --- clinic ------------------------------------------------------------------------

    def clinic(self) -> Clinic:
        """This repository's clinic (NotFound when the id names no clinic)."""
        if self._clinic is None:
            clinic = self.session.get(Clinic, self.clinic_id)
            if clinic is None:
                raise NotFound("clinic", self.clinic_id)
            self._clinic = clinic
        return self._clinic

    def phone_numbers(self) -> list[PhoneNumber]:
        """The numbers that route to this clinic."""
        return list(self.session.exec(self._scoped(PhoneNumber).order_by(col(PhoneNumber.e164))))

    # --- providers and services -------------------------------------------------------

    def providers(self, *, active_only: bool = True) -> list[Provider]:
        """The clinic's providers, by name."""
        statement = self._scoped(Provider).order_by(col(Provider.name))
        if active_only:
            statement = statement.where(col(Provider.active).is_(True))
        return list(self.session.exec(statement))

    def find_providers(self, spoken: str) -> list[Provider]:
        """Active providers a spoken name could mean ("Dr. Patel", "patel", "the hygienist").

        Every meaningful word must match (closely) a word of the provider's name, short name
        or role; an empty query ("a doctor") matches nobody.
        """
        words = [w for w in _words(spoken) if w not in _NAME_FILLER]
        if not words:
            return []
        matches = []
        for provider in self.providers():
            own = {*_words(provider.name), *_words(provider.short_name), provider.role.value}
            if all(_word_matches(word, own) for word in words):
                matches.append(provider)
        return matches

    def provider_by_name(self, spoken: str) -> Provider | None:
        """The one active provider a spoken name means, or None when none or several match."""
        matches = self.find_providers(spoken)
        return matches[0] if len(matches) == 1 else None

    def services(self, *, active_only: bool = True) -> list[Service]:
        """The clinic's services, by name."""
        statement = self._scoped(Service).order_by(col(Service.name))
        if active_only:
            statement = statement.where(col(Service.active).is_(True))
        return list(self.session.exec(statement))

    def service_by_slug(self, slug: str) -> Service | None:
        """The service with this slug, or None."""
        return self.session.exec(self._scoped(Service).where(Service.slug == slug)).first()

    def find_service(self, spoken: str) -> Service | None:
        """The one active service a phrase names ("cleaning", "a teeth cleaning", "Exam"), or None.

        Tried in order: the slug, the exact name, then services all of whose name words occur
        (closely) in the phrase; None when that is ambiguous.
        """
        services = self.services()
        text = spoken.strip().lower()
        for service in services:
            if text in (service.slug, service.name.lower()):
                return service
        words = set(_words(spoken))
        matches = [
            service
            for service in services
            if all(_word_matches(word, words) for word in _words(service.name))
            or _word_matches(service.slug.replace("-", ""), words)
        ]
        return matches[0] if len(matches) == 1 else None

    def providers_for_service(self, service_id: uuid.UUID) -> list[Provider]:
        """The active providers who offer a service, by name."""
        statement = (
            self._scoped(Provider)
            .join(ProviderService, col(ProviderService.provider_id) == Provider.id)
            .where(ProviderService.service_id == service_id, col(Provider.active).is_(True))
            .order_by(col(Provider.name))
        )
        return list(self.session.exec(statement))

    def services_of_provider(self, provider_id: uuid.UUID) -> list[Service]:
        """The active services a provider offers, by name."""
        statement = (
            self._scoped(Service)
            .join(ProviderService, col(ProviderService.service_id) == Service.id)
            .where(ProviderService.provider_id == provider_id, col(Service.active).is_(True))
            .order_by(col(Service.name))
        )
        return list(self.session.exec(statement))

    def require_offering(self, provider_id: uuid.UUID, service_id: uuid.UUID) -> tuple[Provider, Service]:
        """The provider and service, checked to be active and to go together.

        Raises NotFound for unknown ids and ProviderDoesNotOfferService otherwise.
        """
        provider = self.require(Provider, provider_id)
        service = self.require(Service, service_id)
        offered = self.session.exec(
            self._scoped(ProviderService).where(
                ProviderService.provider_id == provider_id, ProviderService.service_id == service_id
            )
        ).first()
        if offered is None or not provider.active or not service.active:
            raise ProviderDoesNotOfferService(provider.short_name, service.name.lower())
        return provider, service

    # --- patients ------------------------------------------------------------------------

    def patients_by_phone(self, e164: str) -> list[Patient]:
        """The patients registered with this phone number (a family may share one)."""
        statement = self._scoped(Patient).where(Patient.phone == e164)
        return list(self.session.exec(statement.order_by(col(Patient.created_at))))

    def patient_by_name_and_dob(self, first_name: str, last_name: str, date_of_birth: date) -> Patient | None:
        """The patient with this name (case-insensitive) and date of birth, or None."""
        statement = self._scoped(Patient).where(
            Patient.date_of_birth == date_of_birth,
            col(Patient.first_name).ilike(first_name.strip()),
            col(Patient.last_name).ilike(last_name.strip()),
        )
        return self.session.exec(statement).first()

    # --- the do-not-contact list ----------------------------------------------------------

    def do_not_contact(self, phone: str) -> DoNotContact | None:
        """The list's entry of a number, or None when the clinic may call and text it."""
        return self.session.exec(self._scoped(DoNotContact).where(DoNotContact.phone == phone)).first()

    def do_not_contact_of(self, phones: Collection[str]) -> dict[str, DoNotContact]:
        """The list's entries of these numbers, by number (those not on the list are absent)."""
        statement = self._scoped(DoNotContact).where(col(DoNotContact.phone).in_(set(phones)))
        return {entry.phone: entry for entry in self.session.exec(statement)}

    # --- appointments ------------------------------------------------------------------

    def upcoming_appointments(self, patient_id: uuid.UUID, now: datetime) -> list[Appointment]:
        """A patient's booked or confirmed appointments that start at or after `now`, soonest first."""
        statement = self._scoped(Appointment).where(
            Appointment.patient_id == patient_id,
            col(Appointment.start_at) >= now,
            col(Appointment.status).in_(ACTIVE_APPOINTMENT_STATUSES),
        )
        return list(self.session.exec(statement.order_by(col(Appointment.start_at))))

    def appointments(
        self,
        *,
        day: date | None = None,
        provider_id: uuid.UUID | None = None,
        patient_id: uuid.UUID | None = None,
        statuses: Iterable[AppointmentStatus] | None = None,
    ) -> list[Appointment]:
        """Appointments filtered by clinic-local day, provider, patient and status, by start."""
        statement = self._scoped(Appointment)
        if day is not None:
            start, end = self.local_day_bounds(day)
            statement = statement.where(col(Appointment.start_at) >= start, col(Appointment.start_at) < end)
        if provider_id is not None:
            statement = statement.where(Appointment.provider_id == provider_id)
        if patient_id is not None:
            statement = statement.where(Appointment.patient_id == patient_id)
        if statuses is not None:
            statement = statement.where(col(Appointment.status).in_([AppointmentStatus(s) for s in statuses]))
        return list(self.session.exec(statement.order_by(col(Appointment.start_at))))

    def appointments_between(
        self, start: datetime, end: datetime, statuses: Iterable[AppointmentStatus]
    ) -> list[Appointment]:
        """Appointments starting in [start, end) with one of `statuses`, by start."""
        statement = (
            self._scoped(Appointment)
            .where(col(Appointment.start_at) >= start, col(Appointment.start_at) < end)
            .where(col(Appointment.status).in_([AppointmentStatus(s) for s in statuses]))
            .order_by(col(Appointment.start_at), col(Appointment.id))
        )
        return list(self.session.exec(statement))

    def existing_patient_ids(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Those of `ids` that are patients of this clinic."""
        wanted = list(set(ids))
        found: set[uuid.UUID] = set()
        for start in range(0, len(wanted), 500):  # bounded IN lists
            chunk = wanted[start : start + 500]
            found.update(
                self.session.exec(
                    select(Patient.id).where(Patient.clinic_id == self.clinic_id, col(Patient.id).in_(chunk))
                )
            )
        return found

    def campaign_targets(
        self,
        campaign_id: uuid.UUID,
        *,
        statuses: Iterable[TargetStatus] | None = None,
        after: int = -1,
        limit: int | None = None,
    ) -> list[CampaignTarget]:
        """A campaign's targets after calling position `after`, in calling order."""
        statement = (
            self._scoped(CampaignTarget)
            .where(CampaignTarget.campaign_id == campaign_id)
            .where(col(CampaignTarget.position) > after)
        )
        if statuses is not None:
            statement = statement.where(col(CampaignTarget.status).in_(list(statuses)))
        return list(self.session.exec(statement.order_by(col(CampaignTarget.position)).limit(limit)))

    def campaign_target_by_call_sid(self, call_sid: str) -> CampaignTarget | None:
        """The campaign target whose latest call this is."""
        return self.session.exec(
            self._scoped(CampaignTarget).where(CampaignTarget.last_call_sid == call_sid)
        ).first()

    def count_campaign_targets(self, campaign_id: uuid.UUID) -> int:
        """How many targets the campaign has."""
        statement = (
            select(func.count())
            .select_from(CampaignTarget)
            .where(CampaignTarget.clinic_id == self.clinic_id, CampaignTarget.campaign_id == campaign_id)
        )
        return int(self.session.exec(statement).one())

    def local_day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The instants a clinic-local date starts and ends (23 or 25 hours apart on DST days)."""
        tz = self.clinic().tz
        start = datetime.combine(day, time(), tzinfo=tz)
        return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)

    # --- availability ------------------------------------------------------------------

    def provider_calendars(
        self,
        provider_ids: Collection[uuid.UUID],
        start: datetime,
        end: datetime,
        *,
        exclude_appointment_id: uuid.UUID | None = None,
    ) -> list[availability.ProviderCalendar]:
        """The availability engine's view of providers around [start, end): weekly hours,
        exceptions and active appointments (optionally leaving one out, for a reschedule)."""
        ids = list(provider_ids)
        window_start, window_end = start - CALENDAR_MARGIN, end + CALENDAR_MARGIN
        schedules = self.session.exec(
            self._scoped(ProviderSchedule).where(col(ProviderSchedule.provider_id).in_(ids))
        )
        exceptions = self.session.exec(
            self._scoped(ScheduleException).where(
                col(ScheduleException.provider_id).in_(ids),
                col(ScheduleException.start_at) < window_end,
                col(ScheduleException.end_at) > window_start,
            )
        )
        busy_statement = self._scoped(Appointment).where(
            col(Appointment.provider_id).in_(ids),
            col(Appointment.status).in_(ACTIVE_APPOINTMENT_STATUSES),
            col(Appointment.start_at) < window_end,
            col(Appointment.end_at) > window_start,
        )
        if exclude_appointment_id is not None:
            busy_statement = busy_statement.where(Appointment.id != exclude_appointment_id)
        weekly: dict[uuid.UUID, list[availability.WeeklyHours]] = {pid: [] for pid in ids}
        for row in schedules:
            hours = availability.WeeklyHours(row.weekday, row.start_time, row.end_time)
            weekly[row.provider_id].append(hours)
        changes: dict[uuid.UUID, list[availability.ScheduleException]] = {pid: [] for pid in ids}
        for row in exceptions:
            change = availability.ScheduleException(row.start_at, row.end_at, row.kind.value)
            changes[row.provider_id].append(change)
        busy: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {pid: [] for pid in ids}
        for row in self.session.exec(busy_statement):
            busy[row.provider_id].append((row.start_at, row.end_at))
        return [availability.ProviderCalendar(pid, weekly[pid], changes[pid], busy[pid]) for pid in ids]

    def opening_hours(self) -> OpeningHours | None:
        """The clinic's opening hours for the availability engine; None when none are configured
        (a clinic closed every day is an unconfigured one, not one that offers nothing)."""
        hours = self.clinic().get_opening_hours()
        return hours if any(hours.days.values()) else None

    def available_slots(
        self,
        service_id: uuid.UUID,
        provider_id: uuid.UUID | None,
        date_from: date,
        date_to: date,
        now: datetime,
    ) -> list[availability.Slot]:
        """Bookable slots for a service on clinic-local dates date_from..date_to (inclusive),
        with one provider or (provider_id None) any provider who offers it."""
        if provider_id is not None:
            _, service = self.require_offering(provider_id, service_id)
            provider_ids = [provider_id]
        else:
            service = self.require(Service, service_id)
            provider_ids = [provider.id for provider in self.providers_for_service(service_id)]
        if not provider_ids:
            return []
        clinic = self.clinic()
        start, _ = self.local_day_bounds(date_from)
        _, end = self.local_day_bounds(date_to)
        return availability.available_slots(
            self.provider_calendars(provider_ids, start, end),
            duration=timedelta(minutes=service.duration_minutes),
            rules=clinic.get_booking_rules(),
            tz=clinic.tz,
            now=now,
            date_from=date_from,
            date_to=date_to,
            opening_hours=self.opening_hours(),
        )

    # --- calls, turns, actions, messages ------------------------------------------------

    def calls(self, *, limit: int = 50, offset: int = 0) -> list[Call]:
        """The clinic's calls, newest first."""
        statement = self._scoped(Call).order_by(col(Call.started_at).desc()).offset(offset).limit(limit)
        return list(self.session.exec(statement))

    def call_by_sid(self, call_sid: str) -> Call | None:
        """The call with this Twilio call sid, or None."""
        return self.session.exec(self._scoped(Call).where(Call.call_sid == call_sid)).first()

    def turns(self, call_id: uuid.UUID) -> list[CallTurn]:
        """A call's transcript turns, in order."""
        statement = self._scoped(CallTurn).where(CallTurn.call_id == call_id).order_by(col(CallTurn.index))
        return list(self.session.exec(statement))

    def actions(
        self, *, call_id: uuid.UUID | None = None, kind: str | None = None, target_id: uuid.UUID | None = None
    ) -> list[Action]:
        """Actions, optionally of one call, of one kind, about one campaign target (their payload's
        target_id), oldest first."""
        statement = self._scoped(Action)
        if call_id is not None:
            statement = statement.where(Action.call_id == call_id)
        if kind is not None:
            statement = statement.where(Action.kind == kind)
        if target_id is not None:
            statement = statement.where(col(Action.payload)["target_id"].as_string() == str(target_id))
        return list(self.session.exec(statement.order_by(col(Action.created_at))))

    def action_by_key(self, idempotency_key: str) -> Action | None:
        """The action recorded under an idempotency key, or None."""
        statement = self._scoped(Action).where(Action.idempotency_key == idempotency_key)
        return self.session.exec(statement).first()

    def messages(
        self, *, appointment_id: uuid.UUID | None = None, call_id: uuid.UUID | None = None
    ) -> list[Message]:
        """Messages sent, optionally about one appointment or from one call, oldest first."""
        statement = self._scoped(Message)
        if appointment_id is not None:
            statement = statement.where(Message.appointment_id == appointment_id)
        if call_id is not None:
            statement = statement.where(Message.call_id == call_id)
        return list(self.session.exec(statement.order_by(col(Message.created_at))))

    def message_by_key(self, idempotency_key: str) -> Message | None:
        """The message recorded under an idempotency key, or None."""
        statement = self._scoped(Message).where(Message.idempotency_key == idempotency_key)
        return self.session.exec(statement).first()

    # --- admin API listings ---------------------------------------------------------------

    def page(
        self, model: type[Row], *conditions: Any, order_by: Collection[Any], limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """One page of this clinic's rows of `model` matching `conditions`, and how many match.

        Rows are sorted by `order_by`, then by id, so pages never overlap or skip a row."""
        statement = self._scoped(model).where(*conditions)
        total = self.session.exec(select(func.count()).select_from(statement.subquery())).one()
        ordered = statement.order_by(*order_by, model.id)
        rows = self.session.exec(ordered.offset(offset).limit(limit))
        return list(rows), int(total)

    def rows(self, model: type[Row], *conditions: Any) -> list[Row]:
        """Every row of this clinic's `model` matching `conditions` (for aggregates over a period)."""
        return list(self.session.exec(self._scoped(model).where(*conditions)))
