"""Clinics: read and change a clinic's agent and rules; operators list clinics and set one up end to end.

A change applies to the next call without a restart: the conversation engine reads the clinic
at the start of every call (frontdesk.agent.database_actions.load_clinic_profile).
"""

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from frontdesk.api.backends import get_backends
from frontdesk.api.errors import ApiError
from frontdesk.api.v1.access import (
    ClinicContext,
    Principal,
    clinic_context,
    record_audit,
    require_operator,
    require_principal,
)
from frontdesk.api.v1.base_models import ApiModel, Output, PatchModel
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.api.v1.providers import ProviderIn, WeeklyHoursIn, add_provider, add_weekly_hours
from frontdesk.api.v1.services import SLUG, ServiceIn
from frontdesk.domain.clinic_settings import (
    DEFAULT_RETENTION_DAYS,
    E164,
    BookingRules,
    EndOfTurnProfile,
    EscalationRules,
    InsuranceCarriers,
    OpeningHours,
    RetentionDays,
)
from frontdesk.domain.database import write_scope
from frontdesk.domain.models import Clinic, PhoneNumber, Service, check_timezone
from frontdesk.domain.repository import ClinicRepository


def _timezone(value: str | None) -> str | None:
    return None if value is None else check_timezone(value)


class ClinicSettingsPatch(PatchModel):
    """Changes to a clinic's agent and rules; settings objects (hours, escalation...) are replaced whole."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    timezone: str | None = Field(default=None, max_length=64, description="IANA name, e.g. America/New_York")
    agent_name: str | None = Field(default=None, min_length=1, max_length=64)
    voice: str | None = Field(default=None, min_length=1, max_length=128)
    greeting: str | None = Field(default=None, max_length=1000)
    style_notes: str | None = Field(default=None, max_length=4000)
    max_call_seconds: int | None = Field(default=None, ge=30, le=4 * 3600)
    end_of_turn_profile: EndOfTurnProfile | None = None
    opening_hours: OpeningHours | None = None
    escalation: EscalationRules | None = None
    booking_rules: BookingRules | None = None
    insurance: InsuranceCarriers | None = None
    retention_days: RetentionDays | None = None

    _check_timezone = field_validator("timezone")(_timezone)


class ClinicOut(Output):
    """A clinic's identity, agent and rules."""

    id: uuid.UUID
    slug: str
    name: str
    address: str
    timezone: str
    agent_name: str
    voice: str
    greeting: str
    style_notes: str
    max_call_seconds: int
    end_of_turn_profile: EndOfTurnProfile
    opening_hours: OpeningHours
    escalation: EscalationRules
    booking_rules: BookingRules
    insurance: InsuranceCarriers
    retention_days: int = Field(description="days a call's transcript and a message's body are kept")
    created_at: datetime
    updated_at: datetime


class ProviderSetup(ProviderIn):
    """A provider of a new clinic: services named by slug, and weekly hours."""

    service_slugs: list[str] = Field(default_factory=list, max_length=200)
    weekly_hours: list[WeeklyHoursIn] = Field(default_factory=list, max_length=100)


class PhoneNumberSetup(ApiModel):
    """A number of a new clinic."""

    e164: E164
    label: str = Field(default="main", min_length=1, max_length=64)


class ClinicSetup(ApiModel):
    """Everything a new clinic needs to take calls: identity, settings, numbers, services, providers."""

    slug: str = Field(pattern=SLUG, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(max_length=64)
    address: str = Field(default="", max_length=500)
    agent_name: str = Field(default="Ava", min_length=1, max_length=64)
    greeting: str = Field(default="", max_length=1000)
    opening_hours: OpeningHours = Field(default_factory=OpeningHours)
    escalation: EscalationRules = Field(default_factory=EscalationRules)
    booking_rules: BookingRules = Field(default_factory=BookingRules)
    insurance: InsuranceCarriers = Field(default_factory=InsuranceCarriers)
    retention_days: RetentionDays = DEFAULT_RETENTION_DAYS
    phone_numbers: list[PhoneNumberSetup] = Field(default_factory=list, max_length=20)
    services: list[ServiceIn] = Field(default_factory=list, max_length=200)
    providers: list[ProviderSetup] = Field(default_factory=list, max_length=200)

    _check_timezone = field_validator("timezone")(_timezone)


def clinic_out(clinic: Clinic) -> ClinicOut:
    """The response model of a clinic row (its JSON settings read as their typed models)."""
    return ClinicOut.model_validate(
        {
            **{name: getattr(clinic, name) for name in ClinicOut.model_fields},
            "opening_hours": clinic.get_opening_hours(),
            "escalation": clinic.get_escalation(),
            "booking_rules": clinic.get_booking_rules(),
            "insurance": clinic.get_insurance(),
        }
    )


router = APIRouter(prefix="/clinics", tags=["clinics"])


@router.get("", response_model=Page[ClinicOut])
def list_clinics(
    request: Request,
    principal: Principal = Depends(require_principal),
    page: PageParams = Depends(page_params),
) -> Page[ClinicOut]:
    """Operators: every clinic, by slug. A clinic key: just its own clinic."""
    statement = select(Clinic)
    if not principal.is_operator:
        statement = statement.where(Clinic.id == principal.clinic_id)
    with Session(get_backends(request).engine) as session:
        total = session.exec(select(func.count()).select_from(statement.subquery())).one()
        rows = session.exec(statement.order_by(col(Clinic.slug)).offset(page.offset).limit(page.limit))
        return Page.of([clinic_out(row) for row in rows], int(total), page)


@router.post("", response_model=ClinicOut, status_code=201)
def create_clinic(
    body: ClinicSetup, request: Request, principal: Principal = Depends(require_operator)
) -> ClinicOut:
    """Operators: set up a clinic end to end (numbers, services, providers with their hours)."""
    settings = body.model_dump(exclude={"phone_numbers", "services", "providers"})
    try:
        with write_scope(get_backends(request).engine) as session:
            clinic = Clinic(**settings)
            session.add(clinic)
            session.flush()
            repo = ClinicRepository(session, clinic.id)
            for number in body.phone_numbers:
                repo.add(PhoneNumber(clinic_id=clinic.id, **number.model_dump()))
            services = {
                s.slug: repo.add(Service(clinic_id=clinic.id, **s.model_dump())) for s in body.services
            }
            session.flush()
            for setup in body.providers:
                unknown = sorted(set(setup.service_slugs) - services.keys())
                if unknown:
                    raise ApiError(422, f"providers: service_slugs {unknown} name no service of this clinic")
                fields = setup.model_dump(include=set(ProviderIn.model_fields))
                fields["service_ids"] += [services[slug].id for slug in setup.service_slugs]
                provider = add_provider(repo, ProviderIn(**fields))
                for hours in setup.weekly_hours:
                    add_weekly_hours(repo, provider.id, hours)
            session.flush()
            record_audit(principal, request, session, clinic.id, clinic.id, 201)
            return clinic_out(clinic)
    except IntegrityError:
        raise ApiError(
            409, "a clinic with this slug, or one of these phone numbers, already exists"
        ) from None
    except ValueError as exc:
        raise ApiError(422, str(exc), code="invalid_value") from None


@router.get("/{clinic_id}", response_model=ClinicOut)
def get_clinic(ctx: ClinicContext = Depends(clinic_context)) -> ClinicOut:
    """The clinic's identity, agent and rules."""
    with ctx.reading() as repo:
        return clinic_out(repo.clinic())


@router.patch("/{clinic_id}", response_model=ClinicOut)
def update_clinic(body: ClinicSettingsPatch, ctx: ClinicContext = Depends(clinic_context)) -> ClinicOut:
    """Change the agent (name, voice, greeting, style), hours, time zone, call length, turn-taking,
    escalation, booking rules, insurance or how long transcripts are kept; the next call uses the
    new values, the next daily clean-up the new retention period."""
    return change_clinic(ctx, body)


def change_clinic(ctx: ClinicContext, body: ClinicSettingsPatch) -> ClinicOut:
    """Apply `body`'s changes to the clinic (audited); the next call uses them."""
    with ctx.changing() as change:
        clinic = change.repo.clinic()
        for name, value in body.changes().items():
            setattr(clinic, name, value)
        change.resource_id = clinic.id
        change.repo.session.flush()
        return clinic_out(clinic)
