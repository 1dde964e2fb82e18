"""The clinic's calls: the log with its filters, and one call turn by turn.

The same queries as the admin API's call routes (frontdesk.api.v1.calls); times are shown in the
clinic's time zone.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import col

from frontdesk.api.v1.calls import CallDetail, CallOut, TurnOut, call_detail, call_log_filter
from frontdesk.config import Settings
from frontdesk.dashboard.auth import PREFIX, ClinicPage, clinic_page, parse_uuid
from frontdesk.dashboard.pages import render
from frontdesk.domain.models import Call, CallDirection, Message, TurnRole
from frontdesk.domain.outcomes import Outcome

PAGE_SIZE: Final = 50


@dataclass(frozen=True)
class CallRow:
    """One line of the call log, as shown."""

    call: CallOut
    started: datetime  # in the clinic's time zone
    other_party: str  # the patient's side of the call
    duration_s: int | None

    @property
    def transferred(self) -> bool:
        """Whether the call was handed to a human."""
        return self.call.outcome == Outcome.transferred.value


@dataclass(frozen=True)
class TurnView:
    """A transcript turn, as shown: what was said, what the caller heard of it, and its timings."""

    turn: TurnOut

    @property
    def interrupted(self) -> bool:
        """An agent turn the caller cut off: they heard less than was said."""
        return (
            self.turn.role is TurnRole.agent
            and self.turn.heard_text is not None
            and self.turn.heard_text.strip() != self.turn.text.strip()
        )

    @property
    def answered_in_ms(self) -> float | None:
        """An agent reply's voice-to-voice time: from the caller's end of speech to its first audio."""
        value = self.turn.timings.get("first_frame_sent")
        return None if self.turn.timings.get("greeting") or value is None else float(value)


def _row(out: CallOut, page: ClinicPage) -> CallRow:
    ended = out.ended_at
    return CallRow(
        call=out,
        started=out.started_at.astimezone(page.clinic.tz),
        other_party=out.to_number if out.direction is CallDirection.outbound else out.from_number,
        duration_s=None if ended is None else max(0, round((ended - out.started_at).total_seconds())),
    )


def _day_start(day: date | None, page: ClinicPage) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=page.clinic.tz)


def calls_router(settings: Settings) -> APIRouter:
    """The call log pages; call pages link to `settings`' Temporal UI."""
    router = APIRouter(prefix=f"{PREFIX}/clinics/{{slug}}", include_in_schema=False)

    @router.get("/calls")
    def call_log(
        request: Request,
        page: ClinicPage = Depends(clinic_page),
        day_from: date | None = Query(None, alias="from"),
        day_to: date | None = Query(None, alias="to"),
        direction: CallDirection | None = None,
        outcome: Outcome | None = None,
        transferred: bool | None = None,
        number: int = Query(1, ge=1, alias="page"),
    ) -> Response:
        """The clinic's calls, newest first, filtered by day (the clinic's), direction, outcome, transfer."""
        until = _day_start(day_to + timedelta(days=1), page) if day_to else None
        conditions = call_log_filter(
            _day_start(day_from, page), until, direction, outcome.value if outcome else None, transferred
        )
        with page.ctx.reading() as repo:
            rows, total = repo.page(
                Call,
                *conditions,
                order_by=[col(Call.started_at).desc()],
                limit=PAGE_SIZE,
                offset=(number - 1) * PAGE_SIZE,
            )
            shown = [_row(CallOut.model_validate(row), page) for row in rows]
        return render(
            request,
            "calls.html",
            user=page.user,
            page=page,
            section="calls",
            calls=shown,
            total=total,
            number=number,
            pages=max(1, -(-total // PAGE_SIZE)),
            filters={
                "from": day_from.isoformat() if day_from else "",
                "to": day_to.isoformat() if day_to else "",
                "direction": direction.value if direction else "",
                "outcome": outcome.value if outcome else "",
                "transferred": "" if transferred is None else str(transferred).lower(),
            },
            directions=list(CallDirection),
            outcomes=list(Outcome),
        )

    @router.get("/calls/{call_id}")
    def call_page(request: Request, call_id: str, page: ClinicPage = Depends(clinic_page)) -> Response:
        """One call: the transcript turn by turn (said and heard), barge-ins, latency, actions, the
        messages sent after it (confirmations), summary."""
        detail: CallDetail = call_detail(page.ctx, settings, parse_uuid(call_id))
        with page.ctx.reading() as repo:
            messages = repo.rows(Message, Message.call_id == detail.id)
        return render(
            request,
            "call.html",
            user=page.user,
            page=page,
            section="calls",
            call=detail,
            row=_row(detail, page),
            turns=[TurnView(t) for t in detail.turns],
            messages=sorted(messages, key=lambda m: m.created_at),
        )

    return router
