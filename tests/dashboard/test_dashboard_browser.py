"""The dashboard in headless Chromium against the real stack: sign in, read a real offline call
turn by turn, change the agent and hear it in the next call, run a campaign from its page, and
the refusals (a wrong password until lock-out, another clinic's call by URL)."""

from datetime import datetime, timedelta

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import Engine
from sqlmodel import Session, select

from frontdesk.caller.script import Say
from frontdesk.domain.models import Call, CallDirection, Clinic, TurnRole
from frontdesk.domain.seed import DEMO_SLUG
from frontdesk.domain.users import MAX_FAILED_SIGN_INS
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from tests.dashboard.browser import Browser, chromium
from tests.dashboard.conftest import ADMIN, OTHER_SLUG, OTHER_STAFF, PASSWORD, Site
from tests.realtime.stored_calls import stored_call

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True), pytest.mark.slow]

CALLS = f"/app/clinics/{DEMO_SLUG}/calls"


async def sign_in(browser: Browser, email: str, password: str = PASSWORD) -> None:
    await browser.open("/app/sign-in")
    await browser.fill("email", email)
    await browser.fill("password", password)
    await browser.submit("form button[type=submit]")


async def test_an_admin_signs_in_and_reads_a_real_call_turn_by_turn(
    site: Site, tts: PiperTextToSpeech, engine: Engine
) -> None:
    call_sid = await site.call(tts, Say("Hi, what are your hours?"), Say("No, that's all, thanks."))
    call, turns = await stored_call(engine, call_sid)
    caller_words = [t.text for t in turns if t.role is TurnRole.caller]

    with chromium(site.url) as browser:
        await browser.open(CALLS)
        assert browser.path.startswith("/app/sign-in?next=")  # signed out: sent to sign in first
        await sign_in(browser, ADMIN)
        assert browser.path == CALLS  # and back where it was going
        rows = await browser.texts("table.calls tbody tr")
        assert len(rows) == 1 and "inbound" in rows[0] and "+15550199001" in rows[0]

        await browser.submit(f"a[href='{CALLS}/{call.id}']")
        transcript = await browser.text(".transcript")
        assert "Thank you for calling Maple Dental" in transcript  # the greeting
        for words in caller_words:
            assert words in transcript
        assert "Monday" in transcript  # the agent's answer about the hours
        assert await browser.texts(".turn.agent .latency")  # each reply's voice-to-voice time
        facts = await browser.text(".facts")
        assert "Temporal UI" in facts and (call.outcome or "").replace("_", " ") in facts

        # Phone width: the same page, nothing wider than the screen.
        browser.driver.set_window_size(390, 844)
        overflow = await browser.wait_until(
            lambda d: d.execute_script(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1"
            ),
            "no horizontal scroll at phone width",
        )
        assert overflow is True


async def test_a_new_agent_name_is_heard_in_the_next_call(
    site: Site, tts: PiperTextToSpeech, engine: Engine
) -> None:
    with chromium(site.url) as browser:
        await sign_in(browser, ADMIN)
        await browser.open(f"/app/clinics/{DEMO_SLUG}/agent")
        assert await browser.value("agent_name") == "Ava"
        await browser.fill("agent_name", "Robin")
        await browser.fill(
            "greeting", "Hello, you've reached Maple Dental. I'm Robin; what can I do for you?"
        )
        await browser.fill("max_call_minutes", "twelve")
        await browser.submit("form.settings button[type=submit]")
        # A bad value comes back next to its field, and nothing is saved.
        assert "give a whole number" in await browser.text(".field.invalid")
        assert await browser.value("agent_name") == "Robin"  # what was typed is kept
        with Session(engine) as session:
            assert session.exec(select(Clinic.agent_name).where(Clinic.slug == DEMO_SLUG)).one() == "Ava"

        await browser.fill("max_call_minutes", "12")
        await browser.submit("form.settings button[type=submit]")
        assert "The next call uses these settings" in await browser.text("[role=status]")

    call_sid = await site.call(tts, Say("Nothing today, thanks."))
    _call, turns = await stored_call(engine, call_sid)
    greeting = turns[0]
    assert greeting.role is TurnRole.agent and "I'm Robin" in greeting.text
    assert greeting.heard_text is not None and "Robin" in greeting.heard_text  # the caller heard it


async def test_a_campaign_is_created_watched_and_paused_from_its_page(site: Site, engine: Engine) -> None:
    with Session(engine) as session:
        tz = session.exec(select(Clinic).where(Clinic.slug == DEMO_SLUG)).one().tz
    later = (datetime.now(tz) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")  # nobody is dialled
    with chromium(site.url) as browser:
        await sign_in(browser, ADMIN)
        await browser.open(f"/app/clinics/{DEMO_SLUG}/campaigns")
        await browser.fill("name", "Spring reminders")
        await browser.choose("kind", "reminder")
        await browser.set_value("start_at", later)
        await browser.submit("form.settings button[type=submit]")
        assert "/campaigns/" in browser.path
        assert "Spring reminders" in await browser.text("h1")
        assert browser.driver.title == "Campaign · Maple Dental"

        # The progress panel polls the workflow's query: the demo patients with appointments.
        await browser.wait_for_text("#progress", "pending")
        await browser.submit("button.pause")
        await browser.wait_for_text("#campaign-status", "paused")
        # The page offers what the workflow's status allows, read as the page is drawn: drawn again
        # now that the workflow says paused (on a loaded machine the first draw may have come
        # before it could answer, and fallen back to the row, which follows a moment later).
        await browser.open(browser.path)
        assert [b.text for b in browser.driver.find_elements(By.CSS_SELECTOR, ".steering button")] == [
            "Resume",
            "Cancel",
        ]
        await browser.submit("button.cancel")
        await browser.wait_for_text("#campaign-status", "cancelled")


async def test_wrong_passwords_lock_the_account(site: Site, engine: Engine) -> None:
    with chromium(site.url) as browser:
        for _ in range(MAX_FAILED_SIGN_INS - 1):
            await sign_in(browser, ADMIN, "not the password")
            assert "the email or the password is not right" in await browser.text("[role=alert]")
        await sign_in(browser, ADMIN, "not the password")
        assert "locked" in await browser.text("[role=alert]")
        await sign_in(browser, ADMIN)  # the right password, during the lock-out
        assert "locked" in await browser.text("[role=alert]")
        assert browser.path.startswith("/app/sign-in")


async def test_a_staff_user_of_another_clinic_gets_404_for_this_clinics_call(
    site: Site, engine: Engine, demo_clinic: Clinic
) -> None:
    with Session(engine) as session:
        call = Call(
            clinic_id=demo_clinic.id,
            call_sid="CA-dashboard-tenancy",
            direction=CallDirection.inbound,
            from_number="+15550199002",
            to_number="+15550100000",
        )
        session.add(call)
        session.commit()
        session.refresh(call)
    with chromium(site.url) as browser:
        await sign_in(browser, OTHER_STAFF)
        assert browser.path == f"/app/clinics/{OTHER_SLUG}/calls"
        for path in (f"{CALLS}/{call.id}", CALLS, f"/app/clinics/{DEMO_SLUG}/agent"):
            await browser.open(path)
            assert await browser.text("h1") == "Not found", path
            assert "+15550199002" not in await browser.text()
