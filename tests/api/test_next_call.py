"""A clinic change through the API reaches the next call without a restart: the prompt the
engine builds and the slots it offers are read afresh from the database."""

from datetime import UTC, date, datetime

import httpx
from sqlalchemy import Engine

from frontdesk.agent.actions import SlotQuery
from frontdesk.agent.call_state import CallState
from frontdesk.agent.database_actions import DatabaseReads, load_clinic_profile
from frontdesk.agent.prompt import build_system_prompt, system_prompt_text
from tests.api.conftest import Tenants, bearer
from tests.domain.factories import NEW_YORK

NOW = datetime(2030, 1, 8, 12, 0, tzinfo=UTC)  # Tuesday 07:00 in New York
WEDNESDAY = date(2030, 1, 9)


async def slots_on_wednesday(engine: Engine, tenants: Tenants) -> list[datetime]:
    """The exam slots a new call's engine would offer for Wednesday."""
    profile = load_clinic_profile(engine, tenants.a.clinic_id)
    reads = DatabaseReads(engine, profile, now=lambda: NOW)
    query = SlotQuery(service_id=tenants.a.exam_id, date_from=WEDNESDAY, date_to=WEDNESDAY)
    return [slot.start for slot in await reads.find_slots(query)]


async def test_agent_name_and_hours_changed_by_the_api_reach_the_next_call(
    client: httpx.AsyncClient, engine: Engine, tenants: Tenants
) -> None:
    before = system_prompt_text(
        build_system_prompt(load_clinic_profile(engine, tenants.a.clinic_id), CallState("+15550111000"), NOW)
    )
    assert "Zoe" not in before
    slots_before = await slots_on_wednesday(engine, tenants)
    assert any(s.astimezone(NEW_YORK).hour < 10 for s in slots_before)

    response = await client.patch(
        f"/v1/clinics/{tenants.a.clinic_id}",
        headers=bearer(tenants.key_a),
        json={
            "agent_name": "Zoe",
            "opening_hours": {"days": {"wednesday": [{"start": "13:00", "end": "15:00"}]}},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["agent_name"] == "Zoe"

    after = system_prompt_text(
        build_system_prompt(load_clinic_profile(engine, tenants.a.clinic_id), CallState("+15550111000"), NOW)
    )
    assert "Zoe" in after
    slots_after = await slots_on_wednesday(engine, tenants)
    assert slots_after, "the afternoon is still open"
    assert all(13 <= s.astimezone(NEW_YORK).hour < 15 for s in slots_after)
