"""Per-clinic call metrics over a period of clinic-local dates.

- calls_handled: calls answered (status in-progress or completed) that started in the period;
- average_handle_seconds: mean length of the handled calls that have ended;
- transfer_rate: handled calls that ended transferred to a human / handled calls;
- booking_completion_rate: calls that booked an appointment / calls with booking intent, where a
  call shows booking intent when it booked, tried to book (a book_appointment action, failed
  ones included) or ended with the `booked` outcome;
- after_hours_calls_answered: handled inbound calls that started outside the opening hours;
- latency_ms: p50 and p95 of every stage recorded in the agent's replies' timings (milliseconds
  after the caller stopped speaking; `first_frame_sent` is voice-to-voice). The greeting answers
  no one, so its timings are left out.
"""

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlmodel import col, select

from frontdesk.api.errors import ApiError
from frontdesk.api.v1.access import ClinicContext, clinic_context
from frontdesk.domain.clinic_settings import OpeningHours
from frontdesk.domain.models import Action, Appointment, Call, CallDirection, CallStatus, CallTurn, TurnRole
from frontdesk.domain.outcomes import Outcome
from frontdesk.domain.repository import ClinicRepository

BOOKING_ACTION: Final = "book_appointment"
MAX_PERIOD_DAYS: Final = 366
DEFAULT_PERIOD_DAYS: Final = 7
HANDLED: Final = (CallStatus.in_progress, CallStatus.completed)


class StageLatency(BaseModel):
    """Percentiles of one turn stage, in milliseconds."""

    p50: float
    p95: float
    samples: int


class ClinicMetrics(BaseModel):
    """A clinic's call figures for a period (see the module docstring for each definition)."""

    clinic_id: uuid.UUID
    date_from: date
    date_to: date
    calls_total: int
    calls_handled: int
    average_handle_seconds: float | None
    transfer_rate: float | None
    booking_completion_rate: float | None
    after_hours_calls_answered: int
    latency_ms: dict[str, StageLatency]


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of non-empty `values` (fraction 0.5 is the median)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def is_open(hours: OpeningHours, local: datetime) -> bool:
    """Whether the clinic is open at the clinic-local moment `local`."""
    moment = local.time()
    return any(r.start <= moment < r.end for r in hours.ranges_for(local.weekday()))


def stage_latencies(timings: list[dict[str, Any]]) -> dict[str, StageLatency]:
    """p50/p95 of each numeric stage found in the replies' timings (greetings left out)."""
    samples: dict[str, list[float]] = defaultdict(list)
    for turn in timings:
        if turn.get("greeting"):
            continue
        for stage, value in turn.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                samples[stage].append(float(value))
    return {
        stage: StageLatency(p50=percentile(values, 0.5), p95=percentile(values, 0.95), samples=len(values))
        for stage, values in sorted(samples.items())
    }


router = APIRouter(prefix="/clinics/{clinic_id}/metrics", tags=["metrics"])


@router.get("", response_model=ClinicMetrics)
def clinic_metrics(
    ctx: ClinicContext = Depends(clinic_context),
    date_from: date | None = Query(
        None, alias="from", description="first clinic-local date (default: a week ago)"
    ),
    date_to: date | None = Query(
        None, alias="to", description="last clinic-local date, inclusive (default: today)"
    ),
) -> ClinicMetrics:
    """Calls handled, handle time, transfer and booking rates, after-hours calls and turn latency."""
    with ctx.reading() as repo:
        clinic = repo.clinic()
        today = datetime.now(clinic.tz).date()
        last = date_to or today
        first = date_from or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        if last < first:
            raise ApiError(422, "to: must not be before from", code="invalid_value")
        if (last - first).days >= MAX_PERIOD_DAYS:
            raise ApiError(422, f"to: the period is at most {MAX_PERIOD_DAYS} days", code="invalid_value")
        return period_metrics(repo, first, last)


@dataclass(frozen=True)
class _Period:
    """What the figures of a period are computed from: its calls and, by call, what they did."""

    clinic_id: uuid.UUID
    tz: ZoneInfo
    hours: OpeningHours | None
    calls: list[Call]
    booked: set[uuid.UUID]  # calls that booked
    tried: set[uuid.UUID]  # calls that tried to book
    timings: dict[uuid.UUID, list[dict[str, Any]]]  # the agent turns' timings, by call

    def day_of(self, call: Call) -> date:
        """The clinic-local day the call started on."""
        return call.started_at.astimezone(self.tz).date()

    def figures(self, first: date, last: date, calls: list[Call] | None = None) -> ClinicMetrics:
        """The figures of the calls that started on the local days `first` to `last` (`calls`:
        those calls, when the caller has picked them already)."""
        if calls is None:
            calls = [c for c in self.calls if first <= self.day_of(c) <= last]
        ids = {c.id for c in calls}
        handled = [c for c in calls if c.status in HANDLED]
        booked, tried = self.booked & ids, self.tried & ids
        lengths = [(c.ended_at - c.started_at).total_seconds() for c in handled if c.ended_at is not None]
        after_hours = [
            c
            for c in handled
            if c.direction is CallDirection.inbound
            and self.hours is not None
            and not is_open(self.hours, c.started_at.astimezone(self.tz))
        ]
        return ClinicMetrics(
            clinic_id=self.clinic_id,
            date_from=first,
            date_to=last,
            calls_total=len(calls),
            calls_handled=len(handled),
            average_handle_seconds=sum(lengths) / len(lengths) if lengths else None,
            transfer_rate=_ratio(sum(c.outcome == Outcome.transferred.value for c in handled), len(handled)),
            booking_completion_rate=_ratio(len(booked), len(booked | tried)),
            after_hours_calls_answered=len(after_hours),
            latency_ms=stage_latencies([t for c in calls for t in self.timings.get(c.id, [])]),
        )


def _period(repo: ClinicRepository, first: date, last: date) -> _Period:
    """Read the calls of the local days `first` to `last` and what they did, in four queries."""
    clinic = repo.clinic()
    start, _ = repo.local_day_bounds(first)
    _, end = repo.local_day_bounds(last)
    in_period = [col(Call.started_at) >= start, col(Call.started_at) < end]
    calls = repo.rows(Call, *in_period)
    period_call_ids = select(Call.id).where(Call.clinic_id == clinic.id, *in_period)
    booked = {
        a.created_by_call_id
        for a in repo.rows(Appointment, col(Appointment.created_by_call_id).in_(period_call_ids))
        if a.created_by_call_id is not None
    }
    booked |= {c.id for c in calls if c.outcome == Outcome.booked.value}
    tried = {
        a.call_id
        for a in repo.rows(Action, Action.kind == BOOKING_ACTION, col(Action.call_id).in_(period_call_ids))
        if a.call_id is not None
    }
    timings: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for turn in repo.rows(
        CallTurn, CallTurn.role == TurnRole.agent, col(CallTurn.call_id).in_(period_call_ids)
    ):
        timings[turn.call_id].append(turn.timings)
    return _Period(clinic.id, clinic.tz, repo.opening_hours(), calls, booked, tried, timings)


def period_metrics(repo: ClinicRepository, first: date, last: date) -> ClinicMetrics:
    """The clinic's figures for its local days `first` to `last`, both included."""
    return _period(repo, first, last).figures(first, last)


def period_and_daily_metrics(
    repo: ClinicRepository, first: date, last: date
) -> tuple[ClinicMetrics, list[ClinicMetrics]]:
    """The figures of the local days `first` to `last`, and of each of those days, read once."""
    period = _period(repo, first, last)
    by_day: dict[date, list[Call]] = defaultdict(list)
    for call in period.calls:
        by_day[period.day_of(call)].append(call)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    daily = [period.figures(day, day, by_day.get(day, [])) for day in days]
    return period.figures(first, last, period.calls), daily
