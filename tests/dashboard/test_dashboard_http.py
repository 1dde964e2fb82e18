"""The dashboard's guards over plain HTTP, on both databases: the CSRF token on every form, the
sign-in's own token and its redirect, roles, other clinics' pages, and the audit entry a
user's change leaves."""

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.domain.models import (
    Action,
    ActorKind,
    AuditEntry,
    Call,
    CallDirection,
    CallTurn,
    Clinic,
    Message,
    MessageChannel,
    MessageStatus,
    TurnRole,
    UserRole,
)
from frontdesk.domain.seed import DEMO_SLUG
from frontdesk.domain.users import create_user
from tests.dashboard.conftest import ADMIN, OTHER_SLUG, OTHER_STAFF, PASSWORD
from tests.realtime.call_worker import UNREACHABLE_TEMPORAL

STAFF = "staff@maple.example"
OPERATOR = "ops@frontdesk.example"
AGENT = f"/app/clinics/{DEMO_SLUG}/agent"


@pytest.fixture
async def client(database_url: str, users: None, engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the real API app (cookies kept), Temporal out of reach."""
    create_user(engine, email=STAFF, password=PASSWORD, role=UserRole.staff, clinic_slug=DEMO_SLUG)
    create_user(engine, email=OPERATOR, password=PASSWORD, role=UserRole.operator, clinic_slug=None)
    app = create_app(Settings(database_url=database_url, temporal_address=UNREACHABLE_TEMPORAL))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dash.test") as http:
        yield http


def hidden(page: httpx.Response, name: str) -> str:
    """The value of the page's hidden input `name`."""
    match = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert match is not None, f"no {name} on the page"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, email: str, next_path: str = "") -> httpx.Response:
    form = await client.get("/app/sign-in")
    return await client.post(
        "/app/sign-in",
        data={
            "email": email,
            "password": PASSWORD,
            "sign_in_token": hidden(form, "sign_in_token"),
            "next_path": next_path,
        },
    )


def agent_form(page: httpx.Response, **changes: str) -> dict[str, str]:
    """The agent form as the page filled it, with `changes`."""
    fields = dict(re.findall(r'<input id="[^"]+" name="([^"]+)" type="[^"]+" value="([^"]*)"', page.text))
    fields.update(re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>', page.text))
    for name in ("end_of_turn_profile", "after_hours_policy", "dental_urgency"):
        selected = re.search(rf'name="{name}".*?<option value="([^"]+)" selected', page.text, re.S)
        assert selected is not None
        fields[name] = selected.group(1)
    return {**fields, **changes}


def agent_name(engine: Engine) -> str:
    with Session(engine) as session:
        return session.exec(select(Clinic.agent_name).where(Clinic.slug == DEMO_SLUG)).one()


async def test_a_form_without_the_sessions_csrf_token_is_refused(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    await sign_in(client, ADMIN)
    page = await client.get(AGENT)
    form = agent_form(page, agent_name="Mallory")
    for token in (None, "forged"):
        sent = dict(form) if token is None else {**form, "csrf_token": token}
        sent.pop("csrf_token", None) if token is None else None
        refused = await client.post(AGENT, data=sent)
        assert refused.status_code == 403 and "reload the page" in refused.text
    assert agent_name(engine) == "Ava"

    # With the token (as the form carries it, or as htmx's header) the change is made and audited.
    saved = await client.post(AGENT, data={**form, "csrf_token": hidden(page, "csrf_token")})
    assert saved.status_code == 303 and saved.headers["location"] == f"{AGENT}?saved=true"
    assert agent_name(engine) == "Mallory"
    with Session(engine) as session:
        [entry] = session.exec(select(AuditEntry)).all()
    assert (entry.actor_kind, entry.actor_name, entry.method, entry.route) == (
        ActorKind.user,
        ADMIN,
        "POST",
        "/app/clinics/{slug}/agent",
    )
    header = await client.post(
        AGENT, data=agent_form(page, agent_name="Ava"), headers={"X-CSRF-Token": hidden(page, "csrf_token")}
    )
    assert header.status_code == 303 and agent_name(engine) == "Ava"


async def test_signing_out_needs_the_token_and_ends_the_session(client: httpx.AsyncClient) -> None:
    await sign_in(client, ADMIN)
    page = await client.get(AGENT)
    assert (await client.post("/app/sign-out")).status_code == 403
    out = await client.post("/app/sign-out", data={"csrf_token": hidden(page, "csrf_token")})
    assert out.status_code == 303
    after = await client.get(AGENT)
    assert after.status_code == 303 and after.headers["location"].startswith("/app/sign-in")


async def test_the_sign_in_form_needs_its_own_token_and_stays_on_this_site(client: httpx.AsyncClient) -> None:
    forged = await client.post(
        "/app/sign-in", data={"email": ADMIN, "password": PASSWORD, "sign_in_token": "x"}
    )
    assert forged.status_code == 401 and "expired" in forged.text and "fd_session" not in forged.cookies
    away = await sign_in(client, ADMIN, next_path="//evil.example/steal")
    assert away.status_code == 303 and away.headers["location"] == f"/app/clinics/{DEMO_SLUG}/calls"
    cookie = away.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/app" in cookie


async def test_staff_read_the_agent_but_cannot_change_it(client: httpx.AsyncClient, engine: Engine) -> None:
    await sign_in(client, STAFF)
    page = await client.get(AGENT)
    assert page.status_code == 200 and "Only the clinic's admins can change" in page.text
    refused = await client.post(
        AGENT, data=agent_form(page, agent_name="Eve", csrf_token=hidden(page, "csrf_token"))
    )
    assert refused.status_code == 403 and agent_name(engine) == "Ava"


async def test_another_clinics_pages_are_not_found_and_operators_see_every_clinic(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client, OTHER_STAFF)
    for path in (
        f"/app/clinics/{DEMO_SLUG}/calls",
        AGENT,
        f"/app/clinics/{DEMO_SLUG}/campaigns",
        "/app/clinics/nowhere/calls",
    ):
        answer = await client.get(path)
        assert answer.status_code == 404 and "Maple Dental" not in answer.text, path
    assert (await client.get(f"/app/clinics/{OTHER_SLUG}/calls/not-a-uuid")).status_code == 404

    client.cookies.clear()
    await sign_in(client, OPERATOR)
    home = await client.get("/app/")
    assert home.status_code == 200 and "Maple Dental" in home.text and f"Clinic {OTHER_SLUG}" in home.text
    assert (await client.get(AGENT)).status_code == 200


async def test_agent_form_errors_name_their_fields(client: httpx.AsyncClient, engine: Engine) -> None:
    await sign_in(client, ADMIN)
    page = await client.get(AGENT)
    bad = agent_form(
        page,
        csrf_token=hidden(page, "csrf_token"),
        timezone="Mars/Olympus",
        hours_monday="9-5",
        transfer_number="555-0100",
    )
    answer = await client.post(AGENT, data=bad)
    assert answer.status_code == 422
    errors = dict(re.findall(r'<p class="error" id="([a-z_]+)-error" role="alert">([^<]+)</p>', answer.text))
    assert set(errors) == {"timezone", "hours_monday", "transfer_number"}
    assert "IANA" in errors["timezone"] and "09:00-17:00" in errors["hours_monday"]
    assert 'value="Mars/Olympus"' in answer.text  # the typed value is kept
    assert agent_name(engine) == "Ava"


async def test_cookies_are_secure_when_the_public_address_is_https(database_url: str, users: None) -> None:
    settings = Settings(
        database_url=database_url,
        temporal_address=UNREACHABLE_TEMPORAL,
        public_base_url="https://clinic.example",  # TLS ends before the app: the request itself is http
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://dash.test") as http:
        form = await http.get("/app/sign-in")
        assert "Secure" in form.headers["set-cookie"]  # the sign-in form's own token
        token = hidden(form, "sign_in_token")
        # A client keeps a Secure cookie for https only: this one is sent back by hand.
        signed_in = await http.post(
            "/app/sign-in",
            data={"email": ADMIN, "password": PASSWORD, "sign_in_token": token},
            headers={"Cookie": f"fd_sign_in={token}"},
        )
    assert signed_in.status_code == 303 and "Secure" in signed_in.headers["set-cookie"]


async def test_a_calls_page_shows_what_it_said_heard_did_and_sent(
    client: httpx.AsyncClient, engine: Engine, demo_clinic: Clinic
) -> None:
    with Session(engine) as session:
        call = Call(
            clinic_id=demo_clinic.id,
            call_sid="CA-dashboard-call-page",
            direction=CallDirection.inbound,
            from_number="+15550199003",
            to_number="+15550100000",
            outcome="booked",
            summary="Booked a cleaning for Tuesday.",
        )
        session.add(call)
        session.flush()
        said = "We have Tuesday at nine or Wednesday at ten."
        session.add_all(
            [
                CallTurn(
                    clinic_id=demo_clinic.id,
                    call_id=call.id,
                    index=0,
                    role=TurnRole.caller,
                    text="A cleaning.",
                ),
                CallTurn(
                    clinic_id=demo_clinic.id,
                    call_id=call.id,
                    index=1,
                    role=TurnRole.agent,
                    text=said,
                    heard_text="We have Tuesday at nine",
                    timings={"first_frame_sent": 812.4},
                ),
                Action(
                    clinic_id=demo_clinic.id, call_id=call.id, kind="book_appointment", idempotency_key="k"
                ),
                Message(
                    clinic_id=demo_clinic.id,
                    call_id=call.id,
                    channel=MessageChannel.sms,
                    to="+15550199003",
                    body="Your cleaning is booked.",
                    status=MessageStatus.delivered,
                    idempotency_key="m",
                ),
            ]
        )
        session.commit()
        call_id = call.id
    await sign_in(client, ADMIN)
    page = await client.get(f"/app/clinics/{DEMO_SLUG}/calls/{call_id}")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "Heard: We have Tuesday at nine" in text and "cut off by the caller" in text
    assert f"Said in full: {said}" in text and "answered in 812 ms" in text
    assert "book appointment pending" in text
    assert "sms +15550199003 delivered" in text
    assert "Booked a cleaning for Tuesday." in text and "/workflows/CA-dashboard-call-page" in page.text
