"""Numbers at a glance: the period's figures and the daily charts, from calls in the database."""

import re
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.dashboard.charts import Series, bar_chart, line_chart
from frontdesk.domain.models import Call, CallDirection, CallStatus, CallTurn, Clinic, TurnRole
from frontdesk.domain.seed import DEMO_SLUG
from tests.dashboard.conftest import ADMIN
from tests.dashboard.test_dashboard_http import sign_in
from tests.realtime.call_worker import UNREACHABLE_TEMPORAL

NUMBERS = f"/app/clinics/{DEMO_SLUG}/numbers"


@pytest.fixture
async def client(database_url: str, users: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=database_url, temporal_address=UNREACHABLE_TEMPORAL))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dash.test") as http:
        yield http


def add_call(engine: Engine, clinic: Clinic, day: date, outcome: str, replies_ms: list[float]) -> None:
    start = datetime.combine(day, time(10), tzinfo=clinic.tz)
    with Session(engine) as session:
        call = Call(
            clinic_id=clinic.id,
            call_sid=f"CA{day:%m%d}{outcome}{len(replies_ms)}",
            direction=CallDirection.inbound,
            from_number="+15550199001",
            to_number="+15550100000",
            status=CallStatus.completed,
            started_at=start,
            ended_at=start + timedelta(minutes=2),
            outcome=outcome,
        )
        session.add(call)
        session.flush()
        for index, ms in enumerate(replies_ms):
            timings = {"first_frame_sent": ms}
            turn = CallTurn(
                clinic_id=clinic.id,
                call_id=call.id,
                index=index,
                role=TurnRole.agent,
                text="Sure.",
                timings=timings,
            )
            session.add(turn)
        session.commit()


async def test_the_period_and_each_day_are_counted_and_charted(
    client: httpx.AsyncClient, engine: Engine, demo_clinic: Clinic
) -> None:
    today = datetime.now(demo_clinic.tz).date()
    yesterday = today - timedelta(days=1)
    add_call(engine, demo_clinic, yesterday, "booked", [700, 900])
    add_call(engine, demo_clinic, yesterday, "transferred", [800])
    add_call(engine, demo_clinic, today, "answered", [1000])
    await sign_in(client, ADMIN)

    page = await client.get(NUMBERS)
    assert page.status_code == 200
    tiles = re.findall(r'<span class="figure">([^<]+)</span>\s*([^<]+)</li>', page.text)
    figures = {label.strip(): figure for figure, label in tiles}
    assert figures.pop("answered after hours").isdigit()  # 10 a.m. is after hours only on some weekdays
    assert figures == {
        "calls": "3",
        "booking completion": "100%",
        "transferred": "33%",
        "ms voice-to-voice (p50)": "800",
        "ms voice-to-voice (p95)": "1000",
    }
    rows = re.findall(
        r"<tr><td>(\d{4}-\d\d-\d\d)</td><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>", page.text
    )
    assert len(rows) == 14 and rows[-1][0] == today.isoformat()
    assert rows[-2] == (yesterday.isoformat(), "2", "100%", "50%") and rows[-1][1:] == ("1", "—", "0%")
    assert page.text.count("<rect ") == 2  # one bar for each day with calls
    assert f"{yesterday:%b %d}: 2</title>" in page.text

    backwards = await client.get(NUMBERS, params={"from": today.isoformat(), "to": yesterday.isoformat()})
    assert backwards.status_code == 200 and "the period ends before it starts" in backwards.text


def test_bars_scale_to_the_highest_day_and_a_missing_figure_breaks_the_line() -> None:
    days = [date(2030, 1, d) for d in range(1, 5)]
    bars = bar_chart("calls", days, Series("calls", [1, 4, 0, 2]))
    heights = [round(b.height, 1) for b in bars.bars]
    assert len(heights) == 3 and heights[1] == 2 * heights[2] == 4 * heights[0]
    line = line_chart("p50", days, [Series("p50", [500, None, 700, 900])], unit=" ms")
    [drawn] = line.lines
    assert len(drawn.segments) == 2 and len(drawn.dots) == 3
    assert drawn.dots[-1].label == "p50, Jan 04: 900 ms" and line.top_label == "900"
