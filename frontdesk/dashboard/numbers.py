"""Numbers at a glance: calls per day, booking completion, transfer rate and voice-to-voice
latency over a period, as charts and a table, from the admin API's own figures
(frontdesk.api.v1.metrics.period_and_daily_metrics, one read for the period and its days)."""

from datetime import date, datetime, timedelta
from typing import Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from frontdesk.api.v1.metrics import MAX_PERIOD_DAYS, ClinicMetrics, period_and_daily_metrics
from frontdesk.dashboard.auth import PREFIX, ClinicPage, clinic_page
from frontdesk.dashboard.charts import Series, bar_chart, line_chart
from frontdesk.dashboard.pages import render

DEFAULT_DAYS: Final = 14
VOICE_TO_VOICE: Final = "first_frame_sent"


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _latency(day: ClinicMetrics, which: str) -> float | None:
    stage = day.latency_ms.get(VOICE_TO_VOICE)
    return None if stage is None else round(getattr(stage, which))


router = APIRouter(prefix=f"{PREFIX}/clinics/{{slug}}", include_in_schema=False)


@router.get("/numbers")
def numbers(
    request: Request,
    page: ClinicPage = Depends(clinic_page),
    first: date | None = Query(None, alias="from"),
    last: date | None = Query(None, alias="to"),
) -> Response:
    """The period's figures (default: the last two weeks) and one chart per figure, by day."""
    last = last or datetime.now(page.clinic.tz).date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    error = None
    if last < first:
        error = "the period ends before it starts"
    elif (last - first).days >= MAX_PERIOD_DAYS:
        error = f"a period is at most {MAX_PERIOD_DAYS} days"
    if error:
        first, last = last - timedelta(days=DEFAULT_DAYS - 1), last
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    with page.ctx.reading() as repo:
        total, daily = period_and_daily_metrics(repo, first, last)
    calls = Series("calls", [d.calls_total for d in daily])
    booking = Series("booking completion", [_percent(d.booking_completion_rate) for d in daily])
    transfers = Series("transfer rate", [_percent(d.transfer_rate) for d in daily])
    p50 = Series("p50", [_latency(d, "p50") for d in daily])
    p95 = Series("p95", [_latency(d, "p95") for d in daily])
    return render(
        request,
        "numbers.html",
        user=page.user,
        page=page,
        section="numbers",
        first=first,
        last=last,
        error=error,
        total=total,
        rows=list(
            zip(days, calls.values, booking.values, transfers.values, p50.values, p95.values, strict=True)
        ),
        charts=[
            bar_chart("Calls per day", days, calls),
            line_chart("Booking completion (%)", days, [booking], unit="%", top=100),
            line_chart("Transfer rate (%)", days, [transfers], unit="%", top=100),
            line_chart("Voice-to-voice latency (ms)", days, [p50, p95], unit=" ms"),
        ],
    )
