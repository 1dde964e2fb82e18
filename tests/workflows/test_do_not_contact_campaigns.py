"""Campaigns against the do-not-contact list and the legal calling hours, end to end on the
time-skipping server (the machinery of test_campaigns): numbers put on the list before their
patients registered are neither called nor texted, and a plan stored before the calling-hours
floor calls only within it."""

from datetime import UTC, datetime, time, timedelta
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from frontdesk.domain.api_keys import issue_key
from frontdesk.domain.campaign_settings import CampaignPlan, TargetStatus
from frontdesk.domain.clinic_settings import Weekday
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import ApiKeyScope, Campaign, Clinic, Message
from tests.realtime.fake_twilio import ACCOUNT_SID
from tests.workflows.test_campaigns import (
    CLINIC_NUMBER,
    EVERY_DAY,
    NEW_YORK,
    CampaignStack,
    answering,
    skipping_env,
    stack,
)

__all__ = ["skipping_env", "stack"]

pytestmark = [pytest.mark.parametrize("database_url", ["postgres"], indirect=True), pytest.mark.slow]

# The numbers stack.patients(3) gives its patients, in order.
CALLED, TEXTED_STOP, LISTED_FOR_SMS = "+15552000000", "+15552000001", "+15552000002"


async def text_stop(stack: CampaignStack, sender: str) -> None:
    """`sender` texts STOP to the clinic, as Twilio posts it."""
    form = {
        "MessageSid": "SM" + uuid4().hex,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": CLINIC_NUMBER,
        "Body": "STOP",
        "NumMedia": "0",
    }
    response = await stack.post_signed(f"{stack.settings.public_base_url}/twilio/sms", form)
    assert response.status_code == 200, response.text


async def list_for_sms(stack: CampaignStack, phone: str) -> None:
    """Staff put `phone` on the clinic's do-not-contact list for texts, through the admin API."""
    with session_scope(stack.engine) as session:
        clinic = session.get(Clinic, stack.clinic_id)
        assert clinic is not None
    key = issue_key(stack.engine, scope=ApiKeyScope.clinic, name="front desk", clinic_slug=clinic.slug).plain
    async with httpx.AsyncClient(base_url=stack.settings.public_base_url, timeout=30) as http:
        response = await http.post(
            f"/v1/clinics/{stack.clinic_id}/do-not-contact",
            json={"phone": phone, "channel": "sms"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 201, response.text


async def test_numbers_listed_before_their_patients_registered_are_neither_called_nor_texted(
    stack: CampaignStack,
) -> None:
    await text_stop(stack, TEXTED_STOP)  # a STOP by text stops calls as well as texts
    await list_for_sms(stack, LISTED_FOR_SMS)  # texts only: the number may still be called
    patients = stack.patients(3)  # registered after, with those numbers
    stack.twilio.carrier = answering([stack], {LISTED_FOR_SMS: "busy"})  # unreached: the SMS fallback
    plan = CampaignPlan(calling_hours=EVERY_DAY, attempts_per_target=1, sms_fallback=True)
    campaign_id = stack.campaign(patients, plan, message="Time for your check-up!")

    progress = await (await stack.start(campaign_id)).result()

    assert sorted(call.form["To"] for call in stack.twilio.created_calls) == [CALLED, LISTED_FOR_SMS]
    called, texted_stop, listed = stack.targets(campaign_id)
    assert called.status is TargetStatus.reached
    assert (texted_stop.status, texted_stop.attempts) == (TargetStatus.opted_out, 0)
    assert (listed.status, listed.detail) == (TargetStatus.failed, "not reached in 1 attempt(s)")
    assert (progress["reached"], progress["failed"], progress["opted_out"]) == (1, 1, 1)
    assert stack.twilio.messages == []  # the fallback SMS was not sent
    with session_scope(stack.engine) as session:
        for number in (TEXTED_STOP, LISTED_FOR_SMS):
            assert session.exec(select(Message).where(Message.to == number)).all() == []


async def test_a_plan_stored_before_the_floor_calls_only_within_it(stack: CampaignStack) -> None:
    now = (await stack.env.get_current_time()).astimezone(NEW_YORK)
    late = datetime.combine(now.date(), time(21, 30), NEW_YORK)
    await stack.env.sleep(late.astimezone(UTC) - now.astimezone(UTC))  # 21:30: the law says wait
    campaign_id = stack.campaign(
        stack.patients(1), CampaignPlan(calling_hours=EVERY_DAY, attempts_per_target=1)
    )
    round_the_clock = {"start": "00:00:00", "end": "23:59:00", "weekdays": [day.value for day in Weekday]}
    campaigns = sa.table("campaigns", sa.column("id", sa.Uuid()), sa.column("plan", sa.JSON()))
    with stack.engine.begin() as connection:  # as saved before plans were held to the floor
        plan = CampaignPlan().model_dump(mode="json") | {"calling_hours": round_the_clock}
        connection.execute(campaigns.update().where(campaigns.c.id == campaign_id).values(plan=plan))
    with session_scope(stack.engine) as session:
        row = session.get(Campaign, campaign_id)
        assert row is not None and row.get_plan().calling_hours.start == time(0)  # still readable
    stack.twilio.carrier = answering([stack])

    await (await stack.start(campaign_id)).result()

    [target] = stack.targets(campaign_id)
    assert target.status is TargetStatus.reached and target.last_attempt_at is not None
    called_at = target.last_attempt_at.astimezone(NEW_YORK)
    assert called_at.date() == late.date() + timedelta(days=1) and time(8) <= called_at.time() < time(8, 5)
