"""The Schedule section: the day's appointments by provider, and providers, their hours and time
off and services changed through the admin API's own functions. Over plain HTTP on both
databases, and once in headless Chromium (at desktop and phone width)."""

import html
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.domain.models import (
    ActorKind,
    Appointment,
    AuditEntry,
    Clinic,
    ExceptionKind,
    Patient,
    Provider,
    ProviderSchedule,
    ProviderService,
    ScheduleException,
    Service,
    UserRole,
)
from frontdesk.domain.seed import DEMO_SLUG
from frontdesk.domain.users import create_user
from tests.dashboard.browser import Browser, chromium
from tests.dashboard.conftest import ADMIN, OTHER_SLUG, PASSWORD
from tests.dashboard.test_dashboard_http import STAFF, hidden, sign_in
from tests.realtime.call_worker import UNREACHABLE_TEMPORAL
from tests.realtime.served import serve

SCHEDULE = f"/app/clinics/{DEMO_SLUG}/schedule"
PROVIDERS = f"{SCHEDULE}/providers"


@pytest.fixture
async def client(database_url: str, users: None, engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the real API app (cookies kept); the demo clinic has a staff user too."""
    create_user(engine, email=STAFF, password=PASSWORD, role=UserRole.staff, clinic_slug=DEMO_SLUG)
    app = create_app(Settings(database_url=database_url, temporal_address=UNREACHABLE_TEMPORAL))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dash.test") as http:
        yield http


def provider_id(engine: Engine, short_name: str, slug: str = DEMO_SLUG) -> uuid.UUID:
    """The id of the provider of clinic `slug` with this short name."""
    with Session(engine) as session:
        statement = (
            select(Provider.id)
            .join(Clinic, col(Clinic.id) == Provider.clinic_id)
            .where(Clinic.slug == slug, Provider.short_name == short_name)
        )
        return session.exec(statement).one()


def provider_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Provider).join(Clinic).where(Clinic.slug == DEMO_SLUG)).all())


def weekly_hours(engine: Engine, provider: uuid.UUID) -> list[tuple[int, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(ProviderSchedule).where(ProviderSchedule.provider_id == provider))
        return sorted((r.weekday, f"{r.start_time:%H:%M}", f"{r.end_time:%H:%M}") for r in rows)


def audit_routes(engine: Engine) -> list[tuple[ActorKind, str, str]]:
    with Session(engine) as session:
        entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.at)))
        return [(e.actor_kind, e.actor_name, e.route) for e in entries]


def field_errors(page: httpx.Response) -> dict[str, str]:
    """The page's errors by the input they are next to."""
    found = re.findall(r'<p class="error" id="([a-z_]+)-error" role="alert">([^<]+)</p>', page.text)
    return {name: html.unescape(message) for name, message in found}


async def signed_in_token(client: httpx.AsyncClient, email: str, path: str) -> str:
    """Sign in as `email` and open `path`: the CSRF token its forms carry."""
    await sign_in(client, email)
    page = await client.get(path)
    assert page.status_code == 200, path
    return hidden(page, "csrf_token")


async def test_the_day_view_lists_each_providers_appointments_in_the_clinics_time(
    client: httpx.AsyncClient, engine: Engine, demo_clinic: Clinic
) -> None:
    with Session(engine) as session:
        booked = session.exec(
            select(Appointment)
            .where(Appointment.clinic_id == demo_clinic.id)
            .order_by(col(Appointment.start_at))
        ).first()
        assert booked is not None
        patient = session.get(Patient, booked.patient_id)
        service = session.get(Service, booked.service_id)
        provider = session.get(Provider, booked.provider_id)
        assert patient and service and provider
    start = booked.start_at.astimezone(demo_clinic.tz)
    day = start.date()

    await sign_in(client, STAFF)  # staff read the schedule
    page = await client.get(f"{SCHEDULE}?day={day}")
    assert page.status_code == 200
    columns = dict(re.findall(r'<h3 id="provider-\d+">([^<]+)</h3>(.*?)</section>', page.text, re.S))
    with Session(engine) as session:
        active = session.exec(select(Provider.name).where(Provider.clinic_id == demo_clinic.id)).all()
    assert set(columns) == {html.escape(name) for name in active}  # a column per active provider
    column = columns[html.escape(provider.name)]
    for shown in (f"{start:%H:%M}", service.name, patient.full_name, booked.status.value):
        assert html.escape(shown) in column, shown
    assert f'href="?day={day - timedelta(days=1)}"' in page.text
    assert f'href="?day={day + timedelta(days=1)}"' in page.text
    assert f'name="day" type="date" value="{day}"' in page.text

    today = datetime.now(demo_clinic.tz).date()
    default = await client.get(SCHEDULE)
    assert default.status_code == 200 and f'value="{today}"' in default.text


async def test_staff_read_providers_but_cannot_change_them(client: httpx.AsyncClient, engine: Engine) -> None:
    patel = provider_id(engine, "Dr. Patel")
    token = await signed_in_token(client, STAFF, f"{PROVIDERS}/{patel}")
    listing = await client.get(PROVIDERS)
    assert "Dr. Priya Patel" in listing.text and "Add a provider" not in listing.text
    for path, form in (
        (PROVIDERS, {"name": "Dr. Eve", "short_name": "Eve", "role": "dentist"}),
        (f"{PROVIDERS}/{patel}/hours", {"weekday": "6", "start_time": "09:00", "end_time": "10:00"}),
        (f"{SCHEDULE}/services", {"name": "Whitening", "slug": "whitening", "duration_minutes": "30"}),
    ):
        refused = await client.post(path, data={**form, "csrf_token": token})
        assert refused.status_code == 403 and "admins can change this" in refused.text, path
    assert provider_count(engine) == 3 and (6, "09:00", "10:00") not in weekly_hours(engine, patel)
    assert audit_routes(engine) == []


async def test_a_provider_added_through_the_form_is_listed_and_audited(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    token = await signed_in_token(client, ADMIN, PROVIDERS)
    with Session(engine) as session:
        exam = session.exec(
            select(Service).join(Clinic).where(Clinic.slug == DEMO_SLUG, Service.slug == "exam")
        ).one()
    added = await client.post(
        PROVIDERS,
        data={
            "csrf_token": token,
            "name": "Dr. Nora Quinn",
            "short_name": "Dr. Quinn",
            "role": "dentist",
            "service_ids": str(exam.id),
        },
    )
    assert added.status_code == 303 and added.headers["location"] == PROVIDERS
    listing = await client.get(PROVIDERS)
    row = re.search(r"<tr>\s*<td><a [^>]+>Dr\. Nora Quinn</a>.*?</tr>", listing.text, re.S)
    assert row is not None and "Exam" in row.group(0) and "active" in row.group(0)

    quinn = provider_id(engine, "Dr. Quinn")
    with Session(engine) as session:
        offered = session.exec(select(ProviderService.service_id).where(ProviderService.provider_id == quinn))
        assert list(offered) == [exam.id]
        [entry] = session.exec(select(AuditEntry)).all()
    assert (entry.actor_kind, entry.actor_name, entry.method, entry.route, entry.resource_id) == (
        ActorKind.user,
        ADMIN,
        "POST",
        "/app/clinics/{slug}/schedule/providers",
        str(quinn),
    )


async def test_a_provider_is_renamed_and_deactivated(client: httpx.AsyncClient, engine: Engine) -> None:
    chen = provider_id(engine, "Dr. Chen")
    token = await signed_in_token(client, ADMIN, f"{PROVIDERS}/{chen}")
    # 'active' left unticked, no service ticked: deactivated, offering nothing.
    saved = await client.post(
        f"{PROVIDERS}/{chen}",
        data={"csrf_token": token, "name": "Dr. Marcus Chen", "short_name": "Dr. Marc", "role": "specialist"},
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"{PROVIDERS}/{chen}"
    with Session(engine) as session:
        provider = session.get(Provider, chen)
        assert provider is not None
        assert (provider.short_name, provider.role.value, provider.active) == (
            "Dr. Marc",
            "specialist",
            False,
        )
    page = await client.get(f"{PROVIDERS}/{chen}")
    assert "(inactive)" in page.text and 'id="active" name="active" type="checkbox">' in page.text


async def test_weekly_hours_are_added_and_removed(client: httpx.AsyncClient, engine: Engine) -> None:
    patel = provider_id(engine, "Dr. Patel")
    page = f"{PROVIDERS}/{patel}"
    token = await signed_in_token(client, ADMIN, page)
    before = weekly_hours(engine, patel)
    added = await client.post(
        f"{page}/hours",
        data={"csrf_token": token, "weekday": "6", "start_time": "10:00", "end_time": "12:30"},
    )
    assert added.status_code == 303 and added.headers["location"] == page
    assert weekly_hours(engine, patel) == sorted([*before, (6, "10:00", "12:30")])
    shown = await client.get(page)
    assert re.search(r"<td>Sunday</td><td>10:00</td><td>12:30</td>", shown.text)

    with Session(engine) as session:
        block = session.exec(
            select(ProviderSchedule).where(
                ProviderSchedule.provider_id == patel, ProviderSchedule.weekday == 6
            )
        ).one()
    removed = await client.post(f"{page}/hours/{block.id}/remove", data={"csrf_token": token})
    assert removed.status_code == 303 and weekly_hours(engine, patel) == before
    assert [route for _kind, _name, route in audit_routes(engine)] == [
        "/app/clinics/{slug}/schedule/providers/{provider_id}/hours",
        "/app/clinics/{slug}/schedule/providers/{provider_id}/hours/{hours_id}/remove",
    ]


async def test_time_off_is_added_in_the_clinics_time(
    client: httpx.AsyncClient, engine: Engine, demo_clinic: Clinic
) -> None:
    kim = provider_id(engine, "Sarah Kim")
    page = f"{PROVIDERS}/{kim}"
    token = await signed_in_token(client, ADMIN, page)
    added = await client.post(
        f"{page}/time-off",
        data={
            "csrf_token": token,
            "kind": "time_off",
            "start_at": "2031-03-03T00:00",
            "end_at": "2031-03-05T00:00",
            "note": "Conference",
        },
    )
    assert added.status_code == 303
    with Session(engine) as session:
        [away] = session.exec(select(ScheduleException).where(ScheduleException.provider_id == kim)).all()
    assert away.kind is ExceptionKind.time_off and away.note == "Conference"
    assert away.start_at == datetime(2031, 3, 3, tzinfo=demo_clinic.tz)
    assert away.end_at == datetime(2031, 3, 5, tzinfo=demo_clinic.tz)
    shown = await client.get(page)
    assert (
        "<td>time off</td><td>2031-03-03 00:00</td><td>2031-03-05 00:00</td><td>Conference</td>" in shown.text
    )


async def test_an_end_before_the_start_comes_back_next_to_its_field_and_changes_nothing(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    patel = provider_id(engine, "Dr. Patel")
    page = f"{PROVIDERS}/{patel}"
    token = await signed_in_token(client, ADMIN, page)
    before = weekly_hours(engine, patel)
    hours = await client.post(
        f"{page}/hours",
        data={"csrf_token": token, "weekday": "2", "start_time": "17:00", "end_time": "09:00"},
    )
    assert hours.status_code == 422
    assert set(field_errors(hours)) == {"end_time"} and "must be after" in field_errors(hours)["end_time"]
    assert 'name="start_time" type="time" value="17:00"' in hours.text  # what was typed is kept
    time_off = await client.post(
        f"{page}/time-off",
        data={
            "csrf_token": token,
            "kind": "time_off",
            "start_at": "2031-03-05T09:00",
            "end_at": "2031-03-04T09:00",
        },
    )
    assert time_off.status_code == 422 and set(field_errors(time_off)) == {"end_at"}
    assert weekly_hours(engine, patel) == before and audit_routes(engine) == []


async def test_a_service_is_added_changed_and_a_duplicate_slug_is_a_readable_conflict(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    services = f"{SCHEDULE}/services"
    token = await signed_in_token(client, ADMIN, services)
    form = {"csrf_token": token, "name": "Whitening", "slug": "whitening", "duration_minutes": "45"}
    assert (await client.post(services, data=form)).status_code == 303
    again = await client.post(services, data={**form, "name": "Whitening again"})
    assert again.status_code == 409 and "conflicts with existing data" in again.text
    bad = await client.post(services, data={**form, "slug": "Not A Slug", "duration_minutes": "long"})
    assert bad.status_code == 422 and set(field_errors(bad)) == {"slug", "duration_minutes"}

    with Session(engine) as session:
        whitening = session.exec(select(Service).where(Service.slug == "whitening")).one()
    changed = await client.post(
        f"{services}/{whitening.id}",
        data={
            "csrf_token": token,
            "name": "Whitening",
            "duration_minutes": "60",
            "description": "",
            "active": "on",
        },
    )
    assert changed.status_code == 303
    with Session(engine) as session:
        assert session.exec(select(Service.duration_minutes).where(Service.id == whitening.id)).one() == 60


async def test_another_clinics_provider_or_service_is_not_found(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    theirs = provider_id(engine, "Dr. Lopez", OTHER_SLUG)
    with Session(engine) as session:
        their_service = session.exec(select(Service.id).join(Clinic).where(Clinic.slug == OTHER_SLUG)).first()
    token = await signed_in_token(client, ADMIN, PROVIDERS)
    assert (await client.get(f"{PROVIDERS}/{theirs}")).status_code == 404
    assert (await client.get(f"{SCHEDULE}/services/{their_service}")).status_code == 404
    assert (await client.get(f"{PROVIDERS}/not-an-id")).status_code == 404
    for path, form in (
        (
            f"{PROVIDERS}/{theirs}",
            {"name": "Mine now", "short_name": "Mine", "role": "dentist", "active": "on"},
        ),
        (f"{PROVIDERS}/{theirs}/hours", {"weekday": "1", "start_time": "08:00", "end_time": "09:00"}),
    ):
        answer = await client.post(path, data={**form, "csrf_token": token})
        assert answer.status_code == 404 and "Clinic beta" not in answer.text, path
    with Session(engine) as session:
        provider = session.get(Provider, theirs)
        assert provider is not None and provider.name == "Dr. Ana Lopez"
    assert audit_routes(engine) == []


async def test_a_change_without_the_csrf_token_is_refused(client: httpx.AsyncClient, engine: Engine) -> None:
    patel = provider_id(engine, "Dr. Patel")
    await signed_in_token(client, ADMIN, PROVIDERS)
    before = weekly_hours(engine, patel)
    form = {"weekday": "6", "start_time": "09:00", "end_time": "10:00"}
    for sent in (form, {**form, "csrf_token": "forged"}):
        refused = await client.post(f"{PROVIDERS}/{patel}/hours", data=sent)
        assert refused.status_code == 403 and "reload the page" in refused.text
    assert weekly_hours(engine, patel) == before


# --- in a real browser ------------------------------------------------------------------


@pytest.fixture
async def served(database_url: str, users: None) -> AsyncIterator[str]:
    """The API app with its dashboard on a port of 127.0.0.1 (these pages start no workflow)."""
    async with serve(
        lambda url: create_app(
            Settings(database_url=database_url, public_base_url=url, temporal_address=UNREACHABLE_TEMPORAL)
        )
    ) as url:
        yield url


async def no_horizontal_scroll(browser: Browser) -> bool:
    result: bool = await browser.wait_until(
        lambda d: d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"),
        "no horizontal scroll at phone width",
    )
    return result


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_admin_adds_weekly_hours_in_the_browser_and_the_pages_fit_a_phone(
    served: str, engine: Engine
) -> None:
    patel = provider_id(engine, "Dr. Patel")
    with chromium(served) as browser:
        await browser.open("/app/sign-in")
        await browser.fill("email", ADMIN)
        await browser.fill("password", PASSWORD)
        await browser.submit("form button[type=submit]")
        await browser.open(PROVIDERS)
        await browser.submit(f"a[href='{PROVIDERS}/{patel}']")

        await browser.choose("weekday", "5")
        await browser.set_value("start_time", "09:30")
        await browser.set_value("end_time", "11:00")
        await browser.submit("form.hours-form button[type=submit]")
        assert browser.path == f"{PROVIDERS}/{patel}"
        rows = await browser.texts("table.hours tbody tr")
        assert any(row.startswith("Saturday 09:30 11:00") for row in rows), rows
        assert (5, "09:30", "11:00") in weekly_hours(engine, patel)
        remove = browser.driver.find_element(
            By.CSS_SELECTOR, "button.remove[aria-label='Remove Saturday 09:30 to 11:00']"
        )
        assert remove.tag_name == "button"  # a real, focusable button with its own name

        browser.driver.set_window_size(390, 844)
        for path in (f"{PROVIDERS}/{patel}", PROVIDERS, SCHEDULE, f"{SCHEDULE}/services"):
            await browser.open(path)
            assert await no_horizontal_scroll(browser), path
