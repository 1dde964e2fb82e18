"""The clinic data model: SQLModel tables, one row type per table.

Every table that holds clinic data carries an indexed `clinic_id`; queries go through
`frontdesk.domain.repository.ClinicRepository`, which filters by it. Datetimes are aware UTC
(`UTCDateTime`); wall-clock times (schedules) are local to the clinic's time zone.
Table models skip pydantic validation, so the checks that matter are SQLAlchemy `validates`
hooks, which run on construction and on every assignment.
"""

import re
import uuid
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import validates
from sqlmodel import JSON, Field, SQLModel

from frontdesk.domain.campaign_settings import (
    CampaignAudience,
    CampaignKind,
    CampaignPlan,
    CampaignStatus,
    TargetStatus,
)
from frontdesk.domain.clinic_settings import (
    DEFAULT_RETENTION_DAYS,
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
    BookingRules,
    EndOfTurnProfile,
    EscalationRules,
    InsuranceCarriers,
    OpeningHours,
    check_retention_days,
)
from frontdesk.domain.types import SettingsJSON, StrEnumType, UTCDateTime, enum_check

# Stable constraint names, so migrations (and SQLite batch mode) can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

E164_PATTERN = re.compile(r"^\+[1-9]\d{6,14}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ACTIVE_APPOINTMENT_STATUSES = ("booked", "confirmed")


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def check_e164(value: str, field: str) -> str:
    """Return `value` if it is an E.164 phone number, else raise a clear ValueError."""
    if not isinstance(value, str) or not E164_PATTERN.fullmatch(value):
        raise ValueError(f"{field} must be an E.164 phone number like +15551234567")
    return value


def check_slug(value: str, field: str) -> str:
    """Return `value` if it is a url-safe slug (lower-case words joined by hyphens)."""
    if not isinstance(value, str) or not SLUG_PATTERN.fullmatch(value) or len(value) > 64:
        raise ValueError(f"{field} {value!r} must be lower-case letters, digits and hyphens (at most 64)")
    return value


def check_timezone(value: str) -> str:
    """Return `value` if it names an IANA time zone, else raise a clear ValueError."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"timezone {value!r} is not an IANA time zone name like America/New_York") from None
    return value


def _settings_field(model: type[BaseModel]) -> Any:
    return Field(default_factory=model, sa_type=SettingsJSON(model), nullable=False)


def _uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def _clinic_fk(nullable: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        foreign_key="clinics.id",
        index=True,
        nullable=nullable,
        ondelete="CASCADE",
    )


def _created_at() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _updated_at() -> Any:
    return Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, sa_column_kwargs={"onupdate": utcnow}
    )


# --- enums -------------------------------------------------------------------------------


class ProviderRole(StrEnum):
    """What a provider does; decides which services they can plausibly offer."""

    dentist = "dentist"
    hygienist = "hygienist"
    assistant = "assistant"
    physician = "physician"
    nurse = "nurse"
    specialist = "specialist"


class ExceptionKind(StrEnum):
    """A schedule exception removes hours (time off) or adds them (extra hours)."""

    time_off = "time_off"
    extra_hours = "extra_hours"


class AppointmentStatus(StrEnum):
    """The life of an appointment; booked and confirmed ones hold their slot."""

    booked = "booked"
    confirmed = "confirmed"
    cancelled = "cancelled"
    completed = "completed"
    no_show = "no_show"

    @property
    def is_active(self) -> bool:
        """True when the appointment still occupies the provider's time."""
        return self.value in ACTIVE_APPOINTMENT_STATUSES


class CallDirection(StrEnum):
    """Who placed the call."""

    inbound = "inbound"
    outbound = "outbound"
    web = "web"  # from the dashboard's "talk to your agent", through the browser transport


class CallStatus(StrEnum):
    """Twilio's call statuses; the values are Twilio's own strings."""

    queued = "queued"
    ringing = "ringing"
    in_progress = "in-progress"
    completed = "completed"
    busy = "busy"
    failed = "failed"
    no_answer = "no-answer"
    canceled = "canceled"


class TurnRole(StrEnum):
    """Who spoke a turn."""

    caller = "caller"
    agent = "agent"


class ActionStatus(StrEnum):
    """Where an action (a side effect ordered during or after a call) stands."""

    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class MessageChannel(StrEnum):
    """How a message reaches the patient."""

    sms = "sms"
    email = "email"


class MessageStatus(StrEnum):
    """Delivery state of an SMS or email."""

    queued = "queued"
    sent = "sent"
    delivered = "delivered"
    failed = "failed"


class ApiKeyScope(StrEnum):
    """A key sees one clinic, or (operators) all of them."""

    clinic = "clinic"
    operator = "operator"


class UserRole(StrEnum):
    """What a dashboard user may do: a clinic's admin changes it, its staff reads and schedules, an
    operator (no clinic) does either for every clinic."""

    admin = "admin"
    staff = "staff"
    operator = "operator"


class ActorKind(StrEnum):
    """Who made a change the audit log records."""

    api_key = "api_key"
    user = "user"
    system = "system"  # Frontdesk itself, e.g. the retention clean-up


class IntegrationKind(StrEnum):
    """The kinds of outside systems a clinic connects."""

    crm = "crm"
    practice_management = "practice_management"


class OptOutSource(StrEnum):
    """Where a number's opt-out came from."""

    sms_stop = "sms_stop"  # the patient texted STOP (or another carrier opt-out keyword)
    call = "call"  # the patient asked on a call
    api = "api"  # staff, on the admin API's do-not-contact list
    patient_record = "patient_record"  # staff, on a patient's record (or its flags before the list)


# --- tables ------------------------------------------------------------------------------


class Clinic(SQLModel, table=True):
    """A clinic (the tenant): its identity, its agent's persona and its rules."""

    __tablename__: ClassVar[str] = "clinics"

    id: uuid.UUID = _uuid_pk()
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    address: str = Field(default="", max_length=500)
    # The settings columns accept their pydantic model or a dict; read them with get_*().
    opening_hours: OpeningHours | dict[str, Any] = _settings_field(OpeningHours)
    agent_name: str = Field(default="Ava", max_length=64)
    voice: str = Field(default="default", max_length=128)
    greeting: str = Field(default="", max_length=1000)
    style_notes: str = Field(default="", max_length=4000)
    max_call_seconds: int = Field(default=600, ge=30)
    end_of_turn_profile: EndOfTurnProfile = Field(
        default=EndOfTurnProfile.balanced, sa_type=StrEnumType(EndOfTurnProfile), nullable=False
    )
    escalation: EscalationRules | dict[str, Any] = _settings_field(EscalationRules)
    booking_rules: BookingRules | dict[str, Any] = _settings_field(BookingRules)
    insurance: InsuranceCarriers | dict[str, Any] = _settings_field(InsuranceCarriers)
    # Days a call's transcript and a message's body are kept (frontdesk.activities.retention).
    retention_days: int = Field(
        default=DEFAULT_RETENTION_DAYS, sa_column_kwargs={"server_default": str(DEFAULT_RETENTION_DAYS)}
    )
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()

    __table_args__ = (
        enum_check("end_of_turn_profile", EndOfTurnProfile),
        sa.CheckConstraint("max_call_seconds >= 30", name="max_call_seconds_min"),
        sa.CheckConstraint(
            f"retention_days >= {MIN_RETENTION_DAYS} AND retention_days <= {MAX_RETENTION_DAYS}",
            name="retention_days_range",
        ),
    )

    @validates("slug")
    def _validate_slug(self, _key: str, value: str) -> str:
        return check_slug(value, "clinic slug")

    @validates("timezone")
    def _validate_timezone(self, _key: str, value: str) -> str:
        return check_timezone(value)

    @validates("max_call_seconds")
    def _validate_max_call(self, _key: str, value: int) -> int:
        if not isinstance(value, int) or value < 30:
            raise ValueError(f"max_call_seconds must be a whole number of at least 30, got {value!r}")
        return value

    @validates("retention_days")
    def _validate_retention_days(self, _key: str, value: int) -> int:
        return check_retention_days(value)

    @validates("opening_hours", "escalation", "booking_rules", "insurance")
    def _validate_settings(self, key: str, value: BaseModel | dict[str, Any]) -> BaseModel | dict[str, Any]:
        # Fail at assignment with the field-named pydantic error, not at flush.
        _CLINIC_SETTINGS_MODELS[key].model_validate(value)
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The clinic's time zone."""
        return ZoneInfo(self.timezone)

    def get_opening_hours(self) -> OpeningHours:
        """The opening hours as their pydantic model."""
        return OpeningHours.model_validate(self.opening_hours)

    def get_escalation(self) -> EscalationRules:
        """The escalation rules (transfer numbers, after-hours policy)."""
        return EscalationRules.model_validate(self.escalation)

    def get_booking_rules(self) -> BookingRules:
        """The booking rules (lead time, horizon, buffer, slot step)."""
        return BookingRules.model_validate(self.booking_rules)

    def get_insurance(self) -> InsuranceCarriers:
        """The accepted insurance carriers."""
        return InsuranceCarriers.model_validate(self.insurance)


_CLINIC_SETTINGS_MODELS: dict[str, type[BaseModel]] = {
    "opening_hours": OpeningHours,
    "escalation": EscalationRules,
    "booking_rules": BookingRules,
    "insurance": InsuranceCarriers,
}


class PhoneNumber(SQLModel, table=True):
    """A number callers dial; it routes to exactly one clinic."""

    __tablename__: ClassVar[str] = "phone_numbers"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    e164: str = Field(max_length=16, unique=True, index=True)
    label: str = Field(default="main", max_length=64)
    created_at: datetime = _created_at()

    @validates("e164")
    def _validate_e164(self, _key: str, value: str) -> str:
        return check_e164(value, "phone number")


class Provider(SQLModel, table=True):
    """A dentist, hygienist or other clinician patients book with."""

    __tablename__: ClassVar[str] = "providers"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    name: str = Field(max_length=200)  # "Dr. Priya Patel"
    short_name: str = Field(max_length=100)  # "Dr. Patel", what the agent says
    role: ProviderRole = Field(sa_type=StrEnumType(ProviderRole), nullable=False)
    active: bool = Field(default=True)
    created_at: datetime = _created_at()

    __table_args__ = (enum_check("role", ProviderRole),)


class Service(SQLModel, table=True):
    """A kind of appointment (cleaning, exam...) with its length."""

    __tablename__: ClassVar[str] = "services"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    slug: str = Field(max_length=64)
    name: str = Field(max_length=200)
    duration_minutes: int
    description: str = Field(default="", max_length=1000)
    active: bool = Field(default=True)
    created_at: datetime = _created_at()

    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "slug"),
        sa.CheckConstraint("duration_minutes > 0 AND duration_minutes <= 480", name="duration_range"),
    )

    @validates("slug")
    def _validate_slug(self, _key: str, value: str) -> str:
        return check_slug(value, "service slug")

    @validates("duration_minutes")
    def _validate_duration(self, _key: str, value: int) -> int:
        if not isinstance(value, int) or not 0 < value <= 480:
            raise ValueError(f"duration_minutes must be between 1 and 480, got {value!r}")
        return value


class ProviderService(SQLModel, table=True):
    """Which provider offers which service."""

    __tablename__: ClassVar[str] = "provider_services"

    provider_id: uuid.UUID = Field(foreign_key="providers.id", primary_key=True, ondelete="CASCADE")
    service_id: uuid.UUID = Field(foreign_key="services.id", primary_key=True, index=True, ondelete="CASCADE")
    clinic_id: uuid.UUID = _clinic_fk()


class ProviderSchedule(SQLModel, table=True):
    """A weekly working block of a provider, in the clinic's local wall clock."""

    __tablename__: ClassVar[str] = "provider_schedules"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    provider_id: uuid.UUID = Field(foreign_key="providers.id", index=True, ondelete="CASCADE")
    weekday: int  # 0 = Monday, as date.weekday()
    start_time: time
    end_time: time

    __table_args__ = (
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        sa.CheckConstraint("end_time > start_time", name="ordered"),
    )

    @validates("weekday")
    def _validate_weekday(self, _key: str, value: int) -> int:
        if not isinstance(value, int) or not 0 <= value <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {value!r}")
        return value


class ScheduleException(SQLModel, table=True):
    """A one-off change to a provider's hours: time off or extra hours."""

    __tablename__: ClassVar[str] = "schedule_exceptions"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    provider_id: uuid.UUID = Field(foreign_key="providers.id", index=True, ondelete="CASCADE")
    start_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    end_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    kind: ExceptionKind = Field(sa_type=StrEnumType(ExceptionKind), nullable=False)
    note: str = Field(default="", max_length=500)

    __table_args__ = (
        enum_check("kind", ExceptionKind),
        sa.CheckConstraint("end_at > start_at", name="ordered"),
    )


class Patient(SQLModel, table=True):
    """A patient of the clinic. Several patients may share a phone (a family); whether the
    clinic may call or text it is the do-not-contact list's (`DoNotContact`), by number."""

    __tablename__: ClassVar[str] = "patients"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    phone: str = Field(max_length=16, index=True)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    date_of_birth: date | None = None
    email: str | None = Field(default=None, max_length=254)
    insurance_carrier: str | None = Field(default=None, max_length=100)
    insurance_member_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()

    @validates("phone")
    def _validate_phone(self, _key: str, value: str) -> str:
        return check_e164(value, "patient phone")

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"


class DoNotContact(SQLModel, table=True):
    """A phone number the clinic must not call, text, or either: the one record of consent.

    Kept by number, as a carrier's STOP is, not by patient: it holds for every patient with the
    number, registered before or after (see frontdesk.domain.opt_outs). A channel is blocked while
    its `*_since` is set, with the source of that opt-out; a row blocking nothing is deleted.
    """

    __tablename__: ClassVar[str] = "do_not_contact"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    phone: str = Field(max_length=16)
    calls_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    calls_source: OptOutSource | None = Field(default=None, sa_type=StrEnumType(OptOutSource))
    sms_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sms_source: OptOutSource | None = Field(default=None, sa_type=StrEnumType(OptOutSource))
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()

    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "phone"),
        enum_check("calls_source", OptOutSource),
        enum_check("sms_source", OptOutSource),
        sa.CheckConstraint("(calls_since IS NULL) = (calls_source IS NULL)", name="calls_since_and_source"),
        sa.CheckConstraint("(sms_since IS NULL) = (sms_source IS NULL)", name="sms_since_and_source"),
        sa.CheckConstraint("calls_since IS NOT NULL OR sms_since IS NOT NULL", name="blocks_a_channel"),
    )

    @validates("phone")
    def _validate_phone(self, _key: str, value: str) -> str:
        return check_e164(value, "do-not-contact number")

    @property
    def blocks_calls(self) -> bool:
        """Whether the number may not be called."""
        return self.calls_since is not None

    @property
    def blocks_sms(self) -> bool:
        """Whether the number may not be texted."""
        return self.sms_since is not None


class Appointment(SQLModel, table=True):
    """A patient's appointment with a provider for a service.

    On PostgreSQL an exclusion constraint makes two active appointments of one provider that
    overlap in time impossible; on SQLite booking serializes its writes instead.
    """

    __tablename__: ClassVar[str] = "appointments"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    patient_id: uuid.UUID = Field(foreign_key="patients.id", index=True, ondelete="CASCADE")
    provider_id: uuid.UUID = Field(foreign_key="providers.id", index=True, ondelete="CASCADE")
    service_id: uuid.UUID = Field(foreign_key="services.id", index=True, ondelete="CASCADE")
    start_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    end_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: AppointmentStatus = Field(
        default=AppointmentStatus.booked, sa_type=StrEnumType(AppointmentStatus), nullable=False
    )
    created_by_call_id: uuid.UUID | None = Field(default=None, foreign_key="calls.id", ondelete="SET NULL")
    notes: str = Field(default="", max_length=2000)
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()

    __table_args__ = (
        enum_check("status", AppointmentStatus),
        sa.CheckConstraint("end_at > start_at", name="ordered"),
        ExcludeConstraint(
            ("provider_id", "="),
            (sa.func.tstzrange(sa.column("start_at"), sa.column("end_at")), "&&"),
            name="ex_appointments_no_overlap",
            using="gist",
            where=sa.text("status IN ('booked', 'confirmed')"),
        ).ddl_if(dialect="postgresql"),
    )


class Call(SQLModel, table=True):
    """One phone call, inbound or outbound."""

    __tablename__: ClassVar[str] = "calls"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    call_sid: str = Field(max_length=64, unique=True, index=True)
    direction: CallDirection = Field(sa_type=StrEnumType(CallDirection), nullable=False)
    from_number: str = Field(max_length=32)
    to_number: str = Field(max_length=32)
    status: CallStatus = Field(default=CallStatus.queued, sa_type=StrEnumType(CallStatus), nullable=False)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=64)  # booked, transferred, message_taken...
    summary: str | None = Field(default=None, sa_type=sa.Text)
    patient_id: uuid.UUID | None = Field(default=None, foreign_key="patients.id", ondelete="SET NULL")
    # Set when the clinic's retention period removed the transcript and summary (the row, its
    # outcome and its turns' timings stay, for the clinic's numbers).
    transcript_removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (enum_check("direction", CallDirection), enum_check("status", CallStatus))


class CallTurn(SQLModel, table=True):
    """One turn of a call's transcript."""

    __tablename__: ClassVar[str] = "call_turns"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    call_id: uuid.UUID = Field(foreign_key="calls.id", index=True, ondelete="CASCADE")
    index: int  # 0-based position in the call
    role: TurnRole = Field(sa_type=StrEnumType(TurnRole), nullable=False)
    text: str = Field(sa_type=sa.Text)  # what was said (caller) or generated (agent)
    heard_text: str | None = Field(
        default=None, sa_type=sa.Text
    )  # the part of an agent turn the caller actually heard
    timings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # millisecond figures
    created_at: datetime = _created_at()

    __table_args__ = (sa.UniqueConstraint("call_id", "index"), enum_check("role", TurnRole))


class Action(SQLModel, table=True):
    """A side effect (book, cancel, transfer, SMS...) with its idempotency key and result."""

    __tablename__: ClassVar[str] = "actions"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    call_id: uuid.UUID | None = Field(default=None, foreign_key="calls.id", index=True, ondelete="SET NULL")
    kind: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: ActionStatus = Field(
        default=ActionStatus.pending, sa_type=StrEnumType(ActionStatus), nullable=False
    )
    idempotency_key: str = Field(max_length=255)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _created_at()
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("clinic_id", "idempotency_key"), enum_check("status", ActionStatus))


class Message(SQLModel, table=True):
    """An SMS or email sent to a patient."""

    __tablename__: ClassVar[str] = "messages"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    channel: MessageChannel = Field(sa_type=StrEnumType(MessageChannel), nullable=False)
    to: str = Field(max_length=254)
    body: str = Field(sa_type=sa.Text)
    provider_message_id: str | None = Field(default=None, max_length=128)
    status: MessageStatus = Field(
        default=MessageStatus.queued, sa_type=StrEnumType(MessageStatus), nullable=False
    )
    error: str | None = Field(default=None, sa_type=sa.Text)
    idempotency_key: str = Field(max_length=255)
    appointment_id: uuid.UUID | None = Field(
        default=None, foreign_key="appointments.id", index=True, ondelete="SET NULL"
    )
    call_id: uuid.UUID | None = Field(default=None, foreign_key="calls.id", ondelete="SET NULL")
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()

    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "idempotency_key"),
        enum_check("channel", MessageChannel),
        enum_check("status", MessageStatus),
    )


class ApiKey(SQLModel, table=True):
    """An API key: the prefix finds the row, the SHA-256 of the whole secret proves it."""

    __tablename__: ClassVar[str] = "api_keys"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID | None = _clinic_fk(nullable=True)  # None only for operator keys
    prefix: str = Field(max_length=32, unique=True, index=True)
    secret_hash: str = Field(max_length=64)  # hex SHA-256
    scope: ApiKeyScope = Field(sa_type=StrEnumType(ApiKeyScope), nullable=False)
    name: str = Field(max_length=200)
    created_at: datetime = _created_at()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (
        enum_check("scope", ApiKeyScope),
        # A clinic key names its clinic; an operator key names none.
        sa.CheckConstraint(
            "(scope = 'clinic' AND clinic_id IS NOT NULL) OR (scope = 'operator' AND clinic_id IS NULL)",
            name="scope_matches_clinic",
        ),
    )


class Integration(SQLModel, table=True):
    """A connection to a CRM or practice-management system; credentials encrypted at rest."""

    __tablename__: ClassVar[str] = "integrations"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    kind: IntegrationKind = Field(sa_type=StrEnumType(IntegrationKind), nullable=False)
    provider: str = Field(max_length=64)  # hubspot, salesforce, zendesk...
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    credentials_encrypted: str | None = Field(
        default=None, sa_type=sa.Text
    )  # Fernet token, see frontdesk.domain.crypto
    enabled: bool = Field(default=True)
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()

    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "kind", "provider"),
        enum_check("kind", IntegrationKind),
    )


class Campaign(SQLModel, table=True):
    """An outbound calling campaign (reminders, recalls, follow-ups) run by its CampaignWorkflow."""

    __tablename__: ClassVar[str] = "campaigns"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    name: str = Field(max_length=200)
    kind: CampaignKind = Field(sa_type=StrEnumType(CampaignKind), nullable=False)
    status: CampaignStatus = Field(
        default=CampaignStatus.scheduled, sa_type=StrEnumType(CampaignStatus), nullable=False
    )
    # Left as voicemail and sent as the SMS fallback; the kind's default wording when empty.
    message: str = Field(default="", max_length=1000)
    start_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    plan: dict[str, Any] = _settings_field(CampaignPlan)
    audience: dict[str, Any] = Field(sa_type=SettingsJSON(CampaignAudience), nullable=False)
    workflow_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()

    __table_args__ = (enum_check("kind", CampaignKind), enum_check("status", CampaignStatus))

    def get_plan(self) -> CampaignPlan:
        """The plan as its typed model (read as stored: see CampaignPlan.stored)."""
        return CampaignPlan.stored(self.plan)

    def get_audience(self) -> CampaignAudience:
        """The audience as its typed model."""
        return CampaignAudience.model_validate(self.audience)


class CampaignTarget(SQLModel, table=True):
    """One patient (and appointment, for reminders) a campaign calls, and how that went."""

    __tablename__: ClassVar[str] = "campaign_targets"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID = _clinic_fk()
    campaign_id: uuid.UUID = Field(foreign_key="campaigns.id", index=True, ondelete="CASCADE")
    patient_id: uuid.UUID = Field(foreign_key="patients.id", ondelete="CASCADE")
    appointment_id: uuid.UUID | None = Field(default=None, foreign_key="appointments.id", ondelete="SET NULL")
    position: int  # calling order within the campaign, from 0
    status: TargetStatus = Field(
        default=TargetStatus.pending, sa_type=StrEnumType(TargetStatus), nullable=False
    )
    attempts: int = Field(default=0)
    last_call_sid: str | None = Field(default=None, max_length=64)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    detail: str | None = Field(default=None, max_length=500)
    updated_at: datetime = _updated_at()

    __table_args__ = (sa.UniqueConstraint("campaign_id", "position"), enum_check("status", TargetStatus))


class User(SQLModel, table=True):
    """A person who signs in to the dashboard: of one clinic (admin, staff) or an operator.

    The password is kept as its argon2 hash only. Failed sign-ins count up to a lock-out
    (frontdesk.domain.users) and a successful one resets the count.
    """

    __tablename__: ClassVar[str] = "users"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID | None = _clinic_fk(nullable=True)  # None only for operators
    email: str = Field(max_length=254, unique=True, index=True)  # stored lower-case
    name: str = Field(default="", max_length=200)
    role: UserRole = Field(sa_type=StrEnumType(UserRole), nullable=False)
    password_hash: str = Field(max_length=255)
    failed_sign_ins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created_at()

    __table_args__ = (
        enum_check("role", UserRole),
        sa.CheckConstraint(
            "(role = 'operator' AND clinic_id IS NULL) OR (role != 'operator' AND clinic_id IS NOT NULL)",
            name="role_matches_clinic",
        ),
    )


class UserSession(SQLModel, table=True):
    """A signed-in browser: the SHA-256 of its cookie's token finds it; its CSRF token guards its forms."""

    __tablename__: ClassVar[str] = "user_sessions"

    id: uuid.UUID = _uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)  # hex SHA-256 of the cookie's token
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _created_at()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AuditEntry(SQLModel, table=True):
    """One change made through the admin API or the dashboard: who (a key or a user), what
    (method, route, resource), when; or by Frontdesk itself (actor kind `system`), its task named
    in `route` and what it did counted in `detail`.

    Never holds request bodies, so no patient data. `clinic_id` and `actor_id` are plain ids,
    not foreign keys: the log outlives the clinic, key or user it names.
    """

    __tablename__: ClassVar[str] = "audit_log"

    id: uuid.UUID = _uuid_pk()
    clinic_id: uuid.UUID | None = Field(default=None, index=True)  # None: an operator-wide change
    actor_kind: ActorKind = Field(sa_type=StrEnumType(ActorKind), nullable=False)
    actor_id: uuid.UUID
    actor_name: str = Field(max_length=254)
    method: str = Field(max_length=8)
    route: str = Field(max_length=300)  # the route template, e.g. /v1/clinics/{clinic_id}/providers
    resource_id: str | None = Field(default=None, max_length=64)
    status_code: int
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    detail: dict[str, int] | None = Field(default=None, sa_type=JSON)  # a system task's counts

    __table_args__ = (enum_check("actor_kind", ActorKind),)
