"""The Schedule section: the day's appointments by provider, and the providers (their services,
weekly hours and time off) and services, which admins change and staff read.

Reads are the admin API's own queries (`appointments_page`, `weekly_hours_page`,
`exceptions_page`, `provider_out`) and every change is one of its own functions
(`register_provider`, `change_provider`, `save_weekly_hours`, ...), each an audited
`ClinicContext.changing` in the signed-in user's name: nothing here writes a row itself.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from frontdesk.api.errors import ApiError
from frontdesk.api.v1.appointments import appointments_page
from frontdesk.api.v1.providers import (
    ExceptionIn,
    ExceptionOut,
    ProviderIn,
    ProviderOut,
    ProviderPatch,
    WeeklyHoursIn,
    WeeklyHoursOut,
    add_exception,
    change_provider,
    exceptions_page,
    provider_out,
    register_provider,
    remove_exception,
    remove_weekly_hours,
    save_weekly_hours,
    weekly_hours_page,
)
from frontdesk.api.v1.services import ServiceIn, ServiceOut, ServicePatch, change_service, register_service
from frontdesk.dashboard.auth import PREFIX, ClinicPage, clinic_form, clinic_page, parse_uuid
from frontdesk.dashboard.forms import FormErrors, FormReader, submitted
from frontdesk.dashboard.pages import redirect, render
from frontdesk.domain.clinic_settings import Weekday
from frontdesk.domain.models import AppointmentStatus, ExceptionKind, Patient, Provider, ProviderRole, Service
from frontdesk.domain.repository import ClinicRepository

# More rows than a clinic has in a day or a provider in a week: read in one page; the day view
# says so if a day ever has more.
LIST_LIMIT: Final = 500
# The errors a change shows on its form; any other (a 404 above all) is the error page.
_FORM_STATUSES: Final = (409, 422)
NEW_HOURS: Final = {"weekday": "0", "start_time": "09:00", "end_time": "17:00"}
NEW_TIME_OFF: Final = {"kind": ExceptionKind.time_off.value, "start_at": "", "end_at": "", "note": ""}

Values = Mapping[str, Any]


# --- the day view ----------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """One appointment as the day view shows it, its times in the clinic's zone."""

    start: datetime
    end: datetime
    service: str
    patient: str
    status: AppointmentStatus


@dataclass(frozen=True)
class Column:
    """One provider's appointments of the day."""

    provider: str
    active: bool
    visits: list[Visit]


def day_columns(repo: ClinicRepository, day: date) -> tuple[list[Column], int]:
    """A column per active provider (and per inactive one who still has appointments that day,
    so none is hidden), and how many appointments the day has."""
    rows, total = appointments_page(repo, day=day, limit=LIST_LIMIT, offset=0)
    tz = repo.clinic().tz
    patients = {p.id: p for p in repo.rows(Patient, col(Patient.id).in_({r.patient_id for r in rows}))}
    services = {s.id: s for s in repo.services(active_only=False)}
    visits: dict[uuid.UUID, list[Visit]] = {}
    for row in rows:
        visits.setdefault(row.provider_id, []).append(
            Visit(
                row.start_at.astimezone(tz),
                row.end_at.astimezone(tz),
                services[row.service_id].name,
                patients[row.patient_id].full_name,
                row.status,
            )
        )
    columns = [
        Column(p.name, p.active, visits.get(p.id, []))
        for p in repo.providers(active_only=False)
        if p.active or p.id in visits
    ]
    return columns, total


# --- reading the forms -----------------------------------------------------------------


def _named_field(loc: list[str]) -> str:
    return loc[0] if loc else "form"


def _end_field(name: str) -> Callable[[list[str]], str]:
    """Errors of a whole model (the one check across fields is that it ends after it starts)
    go next to its end input."""
    return lambda loc: loc[0] if loc else name


def _provider_data(reader: FormReader) -> dict[str, Any]:
    return {
        "name": reader.text("name"),
        "short_name": reader.text("short_name"),
        "role": reader.text("role"),
        "service_ids": reader.form.getlist("service_ids"),
    }


def form_to_new_provider(form: FormData) -> ProviderIn:
    """The API's new provider from the add form."""
    reader = FormReader(form)
    return reader.model(ProviderIn, _provider_data(reader), _named_field)


def form_to_provider_patch(form: FormData) -> ProviderPatch:
    """The API's change of every field of the provider form (an unticked 'active' deactivates)."""
    reader = FormReader(form)
    data = {**_provider_data(reader), "active": reader.checked("active")}
    return reader.model(ProviderPatch, data, _named_field)


def form_to_weekly_hours(form: FormData) -> WeeklyHoursIn:
    """The API's weekly block from the hours form (clinic-local times)."""
    reader = FormReader(form)
    data = {name: reader.text(name) for name in ("weekday", "start_time", "end_time")}
    return reader.model(WeeklyHoursIn, data, _end_field("end_time"))


def form_to_exception(form: FormData, page: ClinicPage) -> ExceptionIn:
    """The API's time off or extra hours from the form (moments in the clinic's zone)."""
    reader = FormReader(form)
    tz = page.clinic.tz
    data = {
        "kind": reader.text("kind"),
        "start_at": reader.moment("start_at", tz),
        "end_at": reader.moment("end_at", tz),
        "note": reader.text("note"),
    }
    return reader.model(ExceptionIn, data, _end_field("end_at"))


def _service_data(reader: FormReader) -> dict[str, Any]:
    return {
        "name": reader.text("name"),
        "duration_minutes": reader.whole_number("duration_minutes"),
        "description": reader.text("description"),
    }


def form_to_new_service(form: FormData) -> ServiceIn:
    """The API's new service from the add form."""
    reader = FormReader(form)
    return reader.model(ServiceIn, {**_service_data(reader), "slug": reader.text("slug")}, _named_field)


def form_to_service_patch(form: FormData) -> ServicePatch:
    """The API's change of every field of the service form (its slug stays: it is its key)."""
    reader = FormReader(form)
    data = {**_service_data(reader), "active": reader.checked("active")}
    return reader.model(ServicePatch, data, _named_field)


def _posted(form: FormData) -> dict[str, Any]:
    """A provider or service form as sent, to fill it again (checkboxes included)."""
    return {
        **submitted(form),
        "service_ids": form.getlist("service_ids"),
        "active": "on" if form.get("active") == "on" else "",
    }


async def _changed(
    change: Callable[[], object], back: str, again: Callable[[dict[str, str], int], Response]
) -> Response:
    """Make `change` (in a thread: it writes the database) and go `back`; a bad value or a
    conflict shows its page `again` with the errors."""
    try:
        await run_in_threadpool(change)
    except FormErrors as exc:
        return await run_in_threadpool(again, exc.errors, 422)
    except ApiError as exc:
        if exc.status_code not in _FORM_STATUSES:
            raise
        return await run_in_threadpool(again, {"form": exc.message}, exc.status_code)
    return redirect(back)


# --- pages -------------------------------------------------------------------------------


def _base(page: ClinicPage) -> str:
    return f"{PREFIX}/clinics/{page.clinic.slug}/schedule"


def _provider_values(provider: ProviderOut) -> dict[str, Any]:
    return {
        "name": provider.name,
        "short_name": provider.short_name,
        "role": provider.role.value,
        "active": "on" if provider.active else "",
        "service_ids": [str(ident) for ident in provider.service_ids],
    }


def _service_values(service: ServiceOut) -> dict[str, Any]:
    return {
        "slug": service.slug,
        "name": service.name,
        "duration_minutes": str(service.duration_minutes),
        "description": service.description,
        "active": "on" if service.active else "",
    }


@dataclass(frozen=True)
class ProviderRow:
    """A provider in the providers list: their services' names and weekly hours."""

    provider: ProviderOut
    services: list[str]
    hours: list[WeeklyHoursOut]


def _all_services(repo: ClinicRepository) -> list[ServiceOut]:
    return [ServiceOut.model_validate(s) for s in repo.services(active_only=False)]


def _providers_page(
    request: Request,
    page: ClinicPage,
    posted: Values | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with page.ctx.reading() as repo:
        services = _all_services(repo)
        names = {s.id: s.name for s in services}
        rows = []
        for provider in repo.providers(active_only=False):
            out = provider_out(repo, provider)
            hours, _ = weekly_hours_page(repo, provider.id, limit=LIST_LIMIT, offset=0)
            rows.append(
                ProviderRow(
                    out,
                    [names[i] for i in out.service_ids],
                    [WeeklyHoursOut.model_validate(h) for h in hours],
                )
            )
    return render(
        request,
        "schedule_providers.html",
        user=page.user,
        page=page,
        section="schedule",
        tab="providers",
        rows=rows,
        services=services,
        roles=list(ProviderRole),
        weekdays=list(Weekday),
        values=posted or {"role": ProviderRole.dentist.value, "service_ids": []},
        errors=errors or {},
        status_code=status_code,
    )


def _provider_page(
    request: Request,
    page: ClinicPage,
    provider_id: uuid.UUID,
    posted: Values | None = None,
    errors: dict[str, str] | None = None,
    failed: str | None = None,
    status_code: int = 200,
) -> Response:
    """One provider's page; `failed` names the form `errors` belong to (it has several)."""
    with page.ctx.reading() as repo:
        provider = provider_out(repo, repo.require(Provider, provider_id))
        hours, _ = weekly_hours_page(repo, provider_id, limit=LIST_LIMIT, offset=0)
        exceptions, _ = exceptions_page(repo, provider_id, limit=LIST_LIMIT, offset=0)
        services = _all_services(repo)
    return render(
        request,
        "schedule_provider.html",
        user=page.user,
        page=page,
        section="schedule",
        tab="providers",
        provider=provider,
        hours=[WeeklyHoursOut.model_validate(h) for h in hours],
        exceptions=[ExceptionOut.model_validate(e) for e in exceptions],
        services=services,
        roles=list(ProviderRole),
        kinds=list(ExceptionKind),
        weekdays=list(Weekday),
        values={**_provider_values(provider), **NEW_HOURS, **NEW_TIME_OFF, **(posted or {})},
        errors=errors or {},
        failed=failed,
        status_code=status_code,
    )


def _services_page(
    request: Request,
    page: ClinicPage,
    posted: Values | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with page.ctx.reading() as repo:
        services = _all_services(repo)
    return render(
        request,
        "schedule_services.html",
        user=page.user,
        page=page,
        section="schedule",
        tab="services",
        services=services,
        values=posted or {"duration_minutes": "30"},
        errors=errors or {},
        status_code=status_code,
    )


def _service_page(
    request: Request,
    page: ClinicPage,
    service_id: uuid.UUID,
    posted: Values | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with page.ctx.reading() as repo:
        service = ServiceOut.model_validate(repo.require(Service, service_id))
    return render(
        request,
        "schedule_service.html",
        user=page.user,
        page=page,
        section="schedule",
        tab="services",
        service=service,
        values={**_service_values(service), **(posted or {})},
        errors=errors or {},
        status_code=status_code,
    )


router = APIRouter(prefix=f"{PREFIX}/clinics/{{slug}}/schedule", include_in_schema=False)


@router.get("")
def day_view(request: Request, day: date | None = None, page: ClinicPage = Depends(clinic_page)) -> Response:
    """The appointments of one clinic-local day (default today), a column per provider."""
    day = day or datetime.now(page.clinic.tz).date()
    with page.ctx.reading() as repo:
        columns, total = day_columns(repo, day)
    return render(
        request,
        "schedule.html",
        user=page.user,
        page=page,
        section="schedule",
        tab="day",
        day=day,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        columns=columns,
        total=total,
        shown=sum(len(c.visits) for c in columns),
    )


@router.get("/providers")
def providers(request: Request, page: ClinicPage = Depends(clinic_page)) -> Response:
    """The providers with their services and weekly hours, and (for admins) the add form."""
    return _providers_page(request, page)


@router.post("/providers")
async def provider_add(request: Request, page: ClinicPage = Depends(clinic_form)) -> Response:
    """Add a provider with the services they offer."""
    page.require_admin()
    form = await request.form()
    return await _changed(
        lambda: register_provider(page.ctx, form_to_new_provider(form)),
        f"{_base(page)}/providers",
        lambda errors, status: _providers_page(request, page, _posted(form), errors, status),
    )


@router.get("/providers/{provider_id}")
def provider(request: Request, provider_id: str, page: ClinicPage = Depends(clinic_page)) -> Response:
    """One provider: details and services, weekly hours, time off and extra hours."""
    return _provider_page(request, page, parse_uuid(provider_id))


@router.post("/providers/{provider_id}")
async def provider_edit(
    request: Request, provider_id: str, page: ClinicPage = Depends(clinic_form)
) -> Response:
    """Change a provider's details and services, or deactivate them."""
    page.require_admin()
    ident = parse_uuid(provider_id)
    form = await request.form()
    return await _changed(
        lambda: change_provider(page.ctx, ident, form_to_provider_patch(form)),
        f"{_base(page)}/providers/{ident}",
        lambda errors, status: _provider_page(
            request, page, ident, _posted(form), errors, "provider", status
        ),
    )


@router.post("/providers/{provider_id}/hours")
async def hours_add(request: Request, provider_id: str, page: ClinicPage = Depends(clinic_form)) -> Response:
    """Add a weekly working block."""
    page.require_admin()
    ident = parse_uuid(provider_id)
    form = await request.form()
    return await _changed(
        lambda: save_weekly_hours(page.ctx, ident, form_to_weekly_hours(form)),
        f"{_base(page)}/providers/{ident}",
        lambda errors, status: _provider_page(request, page, ident, submitted(form), errors, "hours", status),
    )


@router.post("/providers/{provider_id}/hours/{hours_id}/remove")
async def hours_remove(
    request: Request, provider_id: str, hours_id: str, page: ClinicPage = Depends(clinic_form)
) -> Response:
    """Remove a weekly working block."""
    page.require_admin()
    ident, block = parse_uuid(provider_id), parse_uuid(hours_id)
    return await _changed(
        lambda: remove_weekly_hours(page.ctx, ident, block),
        f"{_base(page)}/providers/{ident}",
        lambda errors, status: _provider_page(request, page, ident, None, errors, "hours", status),
    )


@router.post("/providers/{provider_id}/time-off")
async def time_off_add(
    request: Request, provider_id: str, page: ClinicPage = Depends(clinic_form)
) -> Response:
    """Add time off or extra hours."""
    page.require_admin()
    ident = parse_uuid(provider_id)
    form = await request.form()
    return await _changed(
        lambda: add_exception(page.ctx, ident, form_to_exception(form, page)),
        f"{_base(page)}/providers/{ident}",
        lambda errors, status: _provider_page(
            request, page, ident, submitted(form), errors, "time_off", status
        ),
    )


@router.post("/providers/{provider_id}/time-off/{exception_id}/remove")
async def time_off_remove(
    request: Request, provider_id: str, exception_id: str, page: ClinicPage = Depends(clinic_form)
) -> Response:
    """Remove time off or extra hours."""
    page.require_admin()
    ident, exception = parse_uuid(provider_id), parse_uuid(exception_id)
    return await _changed(
        lambda: remove_exception(page.ctx, ident, exception),
        f"{_base(page)}/providers/{ident}",
        lambda errors, status: _provider_page(request, page, ident, None, errors, "time_off", status),
    )


@router.get("/services")
def services(request: Request, page: ClinicPage = Depends(clinic_page)) -> Response:
    """The services (retired ones too) and (for admins) the add form."""
    return _services_page(request, page)


@router.post("/services")
async def service_add(request: Request, page: ClinicPage = Depends(clinic_form)) -> Response:
    """Add a service; a slug the clinic already has comes back as a conflict."""
    page.require_admin()
    form = await request.form()
    return await _changed(
        lambda: register_service(page.ctx, form_to_new_service(form)),
        f"{_base(page)}/services",
        lambda errors, status: _services_page(request, page, _posted(form), errors, status),
    )


@router.get("/services/{service_id}")
def service(request: Request, service_id: str, page: ClinicPage = Depends(clinic_page)) -> Response:
    """One service's form (read-only for staff)."""
    return _service_page(request, page, parse_uuid(service_id))


@router.post("/services/{service_id}")
async def service_edit(
    request: Request, service_id: str, page: ClinicPage = Depends(clinic_form)
) -> Response:
    """Change a service's name, length, description, or retire it."""
    page.require_admin()
    ident = parse_uuid(service_id)
    form = await request.form()
    return await _changed(
        lambda: change_service(page.ctx, ident, form_to_service_patch(form)),
        f"{_base(page)}/services/{ident}",
        lambda errors, status: _service_page(request, page, ident, _posted(form), errors, status),
    )
