"""The retention period on the agent's form (changed, refused next to its field out of bounds),
and a call's page once the clean-up has removed its transcript."""

import re
from datetime import timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from frontdesk.activities.retention import remove_expired_texts
from frontdesk.domain.models import Clinic, utcnow
from frontdesk.domain.seed import DEMO_SLUG
from tests.activities.test_retention import add_conversation
from tests.dashboard.conftest import ADMIN
from tests.dashboard.test_dashboard_http import AGENT, agent_form, client, hidden, sign_in

__all__ = ["client"]


def page_text(page: httpx.Response) -> str:
    assert page.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))


def retention_days(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(Clinic.retention_days).where(Clinic.slug == DEMO_SLUG)).one()


async def test_the_agent_form_changes_the_retention_period(client: httpx.AsyncClient, engine: Engine) -> None:
    await sign_in(client, ADMIN)
    page = await client.get(AGENT)
    assert agent_form(page)["retention_days"] == "365"
    token = hidden(page, "csrf_token")

    refused = await client.post(AGENT, data=agent_form(page, retention_days="7", csrf_token=token))

    assert refused.status_code == 422
    errors = dict(re.findall(r'<p class="error" id="([a-z_]+)-error" role="alert">([^<]+)</p>', refused.text))
    assert set(errors) == {"retention_days"} and "greater than or equal to 30" in errors["retention_days"]
    assert retention_days(engine) == 365

    saved = await client.post(AGENT, data=agent_form(page, retention_days="730", csrf_token=token))

    assert saved.status_code == 303 and retention_days(engine) == 730


async def test_a_calls_page_says_its_transcript_was_removed(
    client: httpx.AsyncClient, engine: Engine, demo_clinic: Clinic
) -> None:
    conversation = add_conversation(engine, demo_clinic.id, utcnow() - timedelta(days=400))
    await sign_in(client, ADMIN)
    url = f"/app/clinics/{DEMO_SLUG}/calls/{conversation.call_id}"
    words = ("My tooth hurts since Tuesday", "Dr. Lopez tomorrow at nine", "Intent: toothache")
    before = page_text(await client.get(url))
    assert all(said in before for said in words)

    remove_expired_texts(engine, "run-1", batch_size=100)

    text = page_text(await client.get(url))
    assert "The transcript and summary were removed on" in text and "retention period" in text
    assert not any(said in text for said in words)
    assert "sms +15550111000 delivered" in text  # the message's row stays
