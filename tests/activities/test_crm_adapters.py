"""The vendor CRM adapters against fakes of their REST APIs: one record per key, clear refusals."""

import asyncio

import pytest

from frontdesk.activities.crm.base import CrmRecord, CrmRejected
from frontdesk.activities.crm.hubspot import KEY_PROPERTY, HubSpotCrm
from frontdesk.activities.crm.salesforce import SalesforceCrm
from frontdesk.activities.crm.zendesk import ZendeskCrm
from tests.activities.vendor_fakes import (
    HUBSPOT_TOKEN,
    SALESFORCE_TOKEN,
    ZENDESK_EMAIL,
    ZENDESK_TOKEN,
    FakeHubSpot,
    FakeSalesforce,
    FakeZendesk,
)
from tests.realtime.served import serve

CALLER = "+15550111000"


def call_record(key: str = "post-call-CA1/crm-sync") -> CrmRecord:
    return CrmRecord(
        key=key,
        call_sid="CA1",
        caller_number=CALLER,
        patient_name="Pat Doe",
        intent="book an appointment",
        outcome="booked",
        booking="Cleaning with Dr. Lopez, Tuesday, November 24 at 10:00 AM (booked)",
        summary="Intent: book an appointment\nOutcome: booked",
    )


async def test_hubspot_writes_one_note_per_key_and_attaches_it_to_the_contact() -> None:
    hubspot = FakeHubSpot(contacts={CALLER: "501"})
    async with serve(hubspot.app) as url:

        def write(record: CrmRecord) -> str:
            return HubSpotCrm({"base_url": url}, {"access_token": HUBSPOT_TOKEN}).write(record)

        first = await asyncio.to_thread(write, call_record())
        # Our ledger lost the first answer (a crash before the commit): HubSpot still has one note.
        again = await asyncio.to_thread(write, call_record())
        other = await asyncio.to_thread(write, call_record("post-call-CA2/crm-sync"))

    assert first == again != other
    assert len(hubspot.notes) == 2
    note = hubspot.notes[first]
    assert note["properties"][KEY_PROPERTY] == call_record().external_id
    assert note["properties"]["hs_note_body"].startswith("Phone call: book an appointment (booked)\nCaller: ")
    assert note["associations"][0]["to"] == {"id": "501"}
    assert note["associations"][0]["types"][0]["associationTypeId"] == 202


async def test_hubspot_refuses_a_wrong_token_for_good() -> None:
    async with serve(FakeHubSpot().app) as url:
        adapter = HubSpotCrm({"base_url": url}, {"access_token": "wrong"})
        with pytest.raises(CrmRejected, match="hubspot searching notes failed with HTTP 401"):
            await asyncio.to_thread(adapter.write, call_record())


def test_missing_credentials_are_named() -> None:
    with pytest.raises(CrmRejected, match="lacks credentials: access_token"):
        HubSpotCrm({}, {})
    with pytest.raises(CrmRejected, match="lacks credentials: instance_url, access_token"):
        SalesforceCrm({}, {})
    with pytest.raises(CrmRejected, match="needs a subdomain"):
        ZendeskCrm({}, {"email": ZENDESK_EMAIL, "api_token": ZENDESK_TOKEN})


async def test_salesforce_upserts_one_task_per_key() -> None:
    salesforce = FakeSalesforce()
    async with serve(salesforce.app) as url:
        credentials = {"instance_url": url, "access_token": SALESFORCE_TOKEN}

        def write() -> str:
            return SalesforceCrm({}, credentials).write(call_record())

        first = await asyncio.to_thread(write)
        again = await asyncio.to_thread(write)

    assert first == again
    [(external_id, (task_id, fields))] = salesforce.tasks.items()
    assert (external_id, task_id) == (call_record().external_id, first)
    assert fields["Status"] == "Completed" and fields["TaskSubtype"] == "Call"
    assert fields["Subject"] == "Phone call: book an appointment (booked)"


async def test_zendesk_creates_one_ticket_per_key() -> None:
    zendesk = FakeZendesk()
    async with serve(zendesk.app) as url:
        credentials = {"email": ZENDESK_EMAIL, "api_token": ZENDESK_TOKEN}

        def write() -> str:
            return ZendeskCrm({"base_url": url}, credentials).write(call_record())

        first = await asyncio.to_thread(write)
        again = await asyncio.to_thread(write)

    assert first == again == "1"
    [ticket] = zendesk.tickets.values()
    assert ticket["external_id"] == call_record().external_id
    assert ticket["comment"]["public"] is False and "Patient: Pat Doe" in ticket["comment"]["body"]
