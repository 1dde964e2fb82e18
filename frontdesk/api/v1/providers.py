"""Providers, the services each offers, their weekly schedules and one-off exceptions."""

import uuid
from datetime import datetime, time

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, Field, model_validator
from sqlmodel import col

from frontdesk.api.errors import ApiError
from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.api.v1.base_models import ApiModel, Output, PatchModel
from frontdesk.api.v1.pagination import Page, PageParams, page_params
from frontdesk.domain.models import (
    ExceptionKind,
    Provider,
    ProviderRole,
    ProviderSchedule,
    ProviderService,
    ScheduleException,
    Service,
)
from frontdesk.domain.repository import ClinicRepository


class ProviderIn(ApiModel):
    """A new provider and the services they offer."""

    name: str = Field(min_length=1, max_length=200)
    short_name: str = Field(min_length=1, max_length=100, description="what the agent calls them")
    role: ProviderRole
    active: bool = True
    service_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)


class ProviderPatch(PatchModel):
    """Changes to a provider; `service_ids` replaces the services they offer."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    short_name: str | None = Field(default=None, min_length=1, max_length=100)
    role: ProviderRole | None = None
    active: bool | None = None
    service_ids: list[uuid.UUID] | None = Field(default=None, max_length=200)


class ProviderOut(Output):
    """A provider."""

    id: uuid.UUID
    name: str
    short_name: str
    role: ProviderRole
    active: bool
    service_ids: list[uuid.UUID]
    created_at: datetime


class WeeklyHoursIn(ApiModel):
    """A weekly working block, in the clinic's local time."""

    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    start_time: time
    end_time: time

    @model_validator(mode="after")
    def _ordered(self) -> "WeeklyHoursIn":
        if self.end_time <= self.start_time:
            raise ValueError(f"end_time {self.end_time} must be after start_time {self.start_time}")
        return self


class WeeklyHoursOut(Output):
    """A weekly working block of a provider."""

    id: uuid.UUID
    provider_id: uuid.UUID
    weekday: int
    start_time: time
    end_time: time


class ExceptionIn(ApiModel):
    """Time off or extra hours of a provider, between two instants."""

    start_at: AwareDatetime
    end_at: AwareDatetime
    kind: ExceptionKind
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _ordered(self) -> "ExceptionIn":
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self


class ExceptionOut(Output):
    """A schedule exception."""

    id: uuid.UUID
    provider_id: uuid.UUID
    start_at: datetime
    end_at: datetime
    kind: ExceptionKind
    note: str


def provider_out(repo: ClinicRepository, provider: Provider) -> ProviderOut:
    """A provider with the ids of the services they offer."""
    offered = repo.rows(ProviderService, ProviderService.provider_id == provider.id)
    return ProviderOut(
        id=provider.id,
        name=provider.name,
        short_name=provider.short_name,
        role=provider.role,
        active=provider.active,
        service_ids=sorted(row.service_id for row in offered),
        created_at=provider.created_at,
    )


def set_offered_services(repo: ClinicRepository, provider: Provider, service_ids: list[uuid.UUID]) -> None:
    """Make `service_ids` (each a service of this clinic, else 404) exactly what the provider offers."""
    wanted = set(service_ids)
    for service_id in wanted:
        repo.require(Service, service_id)
    for row in repo.rows(ProviderService, ProviderService.provider_id == provider.id):
        if row.service_id not in wanted:
            repo.session.delete(row)
        wanted.discard(row.service_id)
    for service_id in wanted:
        repo.add(ProviderService(clinic_id=repo.clinic_id, provider_id=provider.id, service_id=service_id))


def add_provider(repo: ClinicRepository, body: ProviderIn) -> Provider:
    """Create a provider with their services (used by the clinic set-up too)."""
    provider = repo.add(Provider(clinic_id=repo.clinic_id, **body.model_dump(exclude={"service_ids"})))
    repo.session.flush()
    set_offered_services(repo, provider, body.service_ids)
    return provider


def add_weekly_hours(repo: ClinicRepository, provider_id: uuid.UUID, body: WeeklyHoursIn) -> ProviderSchedule:
    """Add a weekly block to a provider of this clinic."""
    repo.require(Provider, provider_id)
    return repo.add(ProviderSchedule(clinic_id=repo.clinic_id, provider_id=provider_id, **body.model_dump()))


def register_provider(ctx: ClinicContext, body: ProviderIn) -> ProviderOut:
    """Add a provider and the services they offer (audited)."""
    with ctx.changing(201) as change:
        provider = add_provider(change.repo, body)
        change.resource_id = provider.id
        change.repo.session.flush()
        return provider_out(change.repo, provider)


def change_provider(ctx: ClinicContext, provider_id: uuid.UUID, body: ProviderPatch) -> ProviderOut:
    """Apply `body`'s changes to a provider of this clinic (audited)."""
    with ctx.changing() as change:
        provider = change.repo.require(Provider, provider_id)
        changes = body.changes()
        service_ids = changes.pop("service_ids", None)
        for name, value in changes.items():
            setattr(provider, name, value)
        if service_ids is not None:
            set_offered_services(change.repo, provider, service_ids)
        change.resource_id = provider.id
        change.repo.session.flush()
        return provider_out(change.repo, provider)


def weekly_hours_page(
    repo: ClinicRepository, provider_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[ProviderSchedule], int]:
    """One page of a provider's weekly hours by weekday and start, and how many there are."""
    repo.require(Provider, provider_id)
    return repo.page(
        ProviderSchedule,
        ProviderSchedule.provider_id == provider_id,
        order_by=[col(ProviderSchedule.weekday), col(ProviderSchedule.start_time)],
        limit=limit,
        offset=offset,
    )


def save_weekly_hours(ctx: ClinicContext, provider_id: uuid.UUID, body: WeeklyHoursIn) -> WeeklyHoursOut:
    """`add_weekly_hours` as an audited change."""
    with ctx.changing(201) as change:
        row = add_weekly_hours(change.repo, provider_id, body)
        change.resource_id = row.id
    return WeeklyHoursOut.model_validate(row)


def _remove_providers_row(
    ctx: ClinicContext,
    model: type[ProviderSchedule] | type[ScheduleException],
    provider_id: uuid.UUID,
    row_id: uuid.UUID,
    noun: str,
) -> None:
    """Delete a row of `model` that belongs to this provider (audited); 404 when it is not theirs."""
    with ctx.changing(204) as change:
        row = change.repo.require(model, row_id)
        if row.provider_id != provider_id:
            raise ApiError(404, f"provider {provider_id} has no {noun} {row_id}")
        change.repo.session.delete(row)
        change.resource_id = row_id


def remove_weekly_hours(ctx: ClinicContext, provider_id: uuid.UUID, schedule_id: uuid.UUID) -> None:
    """Remove a weekly block of this provider (audited); 404 when it is not theirs."""
    _remove_providers_row(ctx, ProviderSchedule, provider_id, schedule_id, "schedule")


def exceptions_page(
    repo: ClinicRepository, provider_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[ScheduleException], int]:
    """One page of a provider's time off and extra hours by start, and how many there are."""
    repo.require(Provider, provider_id)
    return repo.page(
        ScheduleException,
        ScheduleException.provider_id == provider_id,
        order_by=[col(ScheduleException.start_at)],
        limit=limit,
        offset=offset,
    )


def add_exception(ctx: ClinicContext, provider_id: uuid.UUID, body: ExceptionIn) -> ExceptionOut:
    """Add time off or extra hours to a provider of this clinic (audited)."""
    with ctx.changing(201) as change:
        change.repo.require(Provider, provider_id)
        row = change.repo.add(
            ScheduleException(clinic_id=ctx.clinic_id, provider_id=provider_id, **body.model_dump())
        )
        change.resource_id = row.id
    return ExceptionOut.model_validate(row)


def remove_exception(ctx: ClinicContext, provider_id: uuid.UUID, exception_id: uuid.UUID) -> None:
    """Remove a schedule exception of this provider (audited); 404 when it is not theirs."""
    _remove_providers_row(ctx, ScheduleException, provider_id, exception_id, "exception")


router = APIRouter(prefix="/clinics/{clinic_id}/providers", tags=["providers"])


@router.get("", response_model=Page[ProviderOut])
def list_providers(
    ctx: ClinicContext = Depends(clinic_context),
    page: PageParams = Depends(page_params),
    active: bool | None = None,
) -> Page[ProviderOut]:
    """The clinic's providers by name, optionally only active (or inactive) ones."""
    conditions = [] if active is None else [col(Provider.active).is_(active)]
    with ctx.reading() as repo:
        rows, total = repo.page(
            Provider, *conditions, order_by=[col(Provider.name)], limit=page.limit, offset=page.offset
        )
        return Page.of([provider_out(repo, r) for r in rows], total, page)


@router.post("", response_model=ProviderOut, status_code=201)
def create_provider(body: ProviderIn, ctx: ClinicContext = Depends(clinic_context)) -> ProviderOut:
    """Add a provider and the services they offer."""
    return register_provider(ctx, body)


@router.get("/{provider_id}", response_model=ProviderOut)
def get_provider(provider_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)) -> ProviderOut:
    """One provider."""
    with ctx.reading() as repo:
        return provider_out(repo, repo.require(Provider, provider_id))


@router.patch("/{provider_id}", response_model=ProviderOut)
def update_provider(
    provider_id: uuid.UUID, body: ProviderPatch, ctx: ClinicContext = Depends(clinic_context)
) -> ProviderOut:
    """Change a provider; `active: false` takes them off the schedule without losing history."""
    return change_provider(ctx, provider_id, body)


@router.get("/{provider_id}/schedules", response_model=Page[WeeklyHoursOut])
def list_schedules(
    provider_id: uuid.UUID,
    ctx: ClinicContext = Depends(clinic_context),
    page: PageParams = Depends(page_params),
) -> Page[WeeklyHoursOut]:
    """A provider's weekly hours, by weekday and start."""
    with ctx.reading() as repo:
        rows, total = weekly_hours_page(repo, provider_id, limit=page.limit, offset=page.offset)
        return Page.of([WeeklyHoursOut.model_validate(r) for r in rows], total, page)


@router.post("/{provider_id}/schedules", response_model=WeeklyHoursOut, status_code=201)
def create_schedule(
    provider_id: uuid.UUID, body: WeeklyHoursIn, ctx: ClinicContext = Depends(clinic_context)
) -> WeeklyHoursOut:
    """Add a weekly working block to a provider."""
    return save_weekly_hours(ctx, provider_id, body)


@router.delete("/{provider_id}/schedules/{schedule_id}", status_code=204)
def delete_schedule(
    provider_id: uuid.UUID, schedule_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)
) -> None:
    """Remove a weekly working block."""
    remove_weekly_hours(ctx, provider_id, schedule_id)


@router.get("/{provider_id}/exceptions", response_model=Page[ExceptionOut])
def list_exceptions(
    provider_id: uuid.UUID,
    ctx: ClinicContext = Depends(clinic_context),
    page: PageParams = Depends(page_params),
) -> Page[ExceptionOut]:
    """A provider's time off and extra hours, by start."""
    with ctx.reading() as repo:
        rows, total = exceptions_page(repo, provider_id, limit=page.limit, offset=page.offset)
        return Page.of([ExceptionOut.model_validate(r) for r in rows], total, page)


@router.post("/{provider_id}/exceptions", response_model=ExceptionOut, status_code=201)
def create_exception(
    provider_id: uuid.UUID, body: ExceptionIn, ctx: ClinicContext = Depends(clinic_context)
) -> ExceptionOut:
    """Add time off or extra hours to a provider."""
    return add_exception(ctx, provider_id, body)


@router.delete("/{provider_id}/exceptions/{exception_id}", status_code=204)
def delete_exception(
    provider_id: uuid.UUID, exception_id: uuid.UUID, ctx: ClinicContext = Depends(clinic_context)
) -> None:
    """Remove a schedule exception."""
    remove_exception(ctx, provider_id, exception_id)
