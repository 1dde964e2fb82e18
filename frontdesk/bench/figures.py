"""The benchmark's figures from what a load left behind: the stored transcripts (the media server's
per-turn timings), the messages sent after each call, the fakes' records of the vendor time they
injected, the media server's frame counters and the stack's CPU time.

Platform overhead of a turn is the server's voice-to-voice time minus the vendor time on that
path (overhead.py).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from frontdesk.bench.load import LoadRun
from frontdesk.bench.overhead import TurnVendorTime, vendor_times
from frontdesk.bench.script import line_of, tag_of
from frontdesk.bench.vendor_log import VendorLog
from frontdesk.domain.database import session_scope
from frontdesk.domain.models import Call, CallTurn, Message, MessageChannel, MessageStatus, TurnRole
from frontdesk.realtime.metrics import STAGES

SPOKEN: Final = ("say", "barge_in")  # the caller's steps that expect a spoken reply
UNBOOKED_TURNS_SHOWN: Final = 4  # the end of an unbooked call's transcript, to see why


def percentiles(values: Iterable[float], *points: int) -> dict[str, float | None]:
    """{"p50": ..., ...} of the values in ms, one decimal; None when there are none."""
    data = np.asarray(list(values), dtype=np.float64)
    return {f"p{p}": (round(float(np.percentile(data, p)), 1) if data.size else None) for p in points}


@dataclass
class CallRecord:
    """One call as stored: its row, transcript and confirmation messages."""

    call: Call
    turns: list[CallTurn]
    sms: list[Message]

    @property
    def tag(self) -> int | None:
        """The STT connection's tag its first transcript carries."""
        return next((t for turn in self.turns if (t := tag_of(turn.text)) is not None), None)

    def replies(self) -> list[tuple[int, dict[str, Any]]]:
        """(caller line, timings of the agent turn that answered it), in order."""
        answered = []
        for before, turn in zip(self.turns, self.turns[1:], strict=False):
            line = line_of(before.text) if before.role is TurnRole.caller else None
            if line is not None and turn.role is TurnRole.agent:
                answered.append((line, turn.timings))
        return answered


def load_records(engine: Engine, call_sids: Sequence[str]) -> list[CallRecord]:
    """The stored calls of these sids with their turns and SMS."""
    with session_scope(engine) as session:
        calls = list(session.exec(select(Call).where(col(Call.call_sid).in_(call_sids))))
        ids = [call.id for call in calls]
        turns = list(
            session.exec(select(CallTurn).where(col(CallTurn.call_id).in_(ids)).order_by(col(CallTurn.index)))
        )
        sms = list(
            session.exec(
                select(Message).where(col(Message.call_id).in_(ids), Message.channel == MessageChannel.sms)
            )
        )
    return [
        CallRecord(
            call,
            [turn for turn in turns if turn.call_id == call.id],
            [message for message in sms if message.call_id == call.id],
        )
        for call in calls
    ]


def sms_sent_at(record: CallRecord) -> datetime | None:
    """When the call's confirmation SMS was sent, if it was."""
    sent = [m.updated_at for m in record.sms if m.status in (MessageStatus.sent, MessageStatus.delivered)]
    return min(sent) if sent else None


def platform_overheads(
    records: Sequence[CallRecord], log: VendorLog
) -> tuple[list[tuple[float, TurnVendorTime]], int]:
    """Per joined turn: voice-to-voice minus vendor time (ms), with that vendor time; and how many
    turns could not be joined to the fakes' records."""
    replies = {
        (record.tag, line): timings
        for record in records
        if record.tag is not None
        for line, timings in record.replies()
        if "first_frame_sent" in timings
    }
    vendor = vendor_times(log, {turn: timings.get("stt_final") for turn, timings in replies.items()})
    overheads = [(replies[turn]["first_frame_sent"] - time.total_ms, time) for turn, time in vendor.items()]
    return overheads, len(replies) - len(vendor)


def load_figures(load: LoadRun, records: Sequence[CallRecord]) -> dict[str, Any]:
    """Completion, latency, barge-in, Update, SMS and booking figures of one load."""
    runs = load.calls
    completed = [
        run
        for run in runs
        if run.error is None and run.result and run.result.outcome in ("completed", "agent_ended")
    ]
    voice = [t["first_frame_sent"] for r in records for _line, t in r.replies() if "first_frame_sent" in t]
    greeting_server = [
        turn.timings["first_frame_sent"]
        for r in records
        for turn in r.turns
        if turn.timings.get("greeting") and "first_frame_sent" in turn.timings
    ]
    caller_turns = [t for run in runs if run.result for t in run.result.turns]
    spoken = [t for t in caller_turns if t.kind in SPOKEN]
    updates = [
        value
        for r in records
        for turn in r.turns
        for key, value in turn.timings.items()
        if key.startswith("update_")
    ]
    booked = [r for r in records if r.call.outcome == "booked"]
    sms_ms = [
        (sent - r.call.ended_at).total_seconds() * 1000
        for r in booked
        if r.call.ended_at is not None and (sent := sms_sent_at(r)) is not None
    ]
    return {
        "calls": len(runs),
        "concurrency_reached": load.concurrency_reached,
        "calls_completed": len(completed),
        "calls_failed": len(runs) - len(completed),
        "failures": sorted({run.error for run in runs if run.error}),
        "voice_to_voice_ms": {**percentiles(voice, 50, 95, 99), "turns": len(voice)},
        "voice_to_voice_at_caller_ms": {
            **percentiles((t.latency_ms for t in spoken if t.latency_ms is not None), 50, 95, 99),
            "lines": len(spoken),
            "unmeasured": [
                {"call_sid": run.result.call_sid, "line": t.text, "reason": t.unmeasured or "unknown"}
                for run in runs
                if run.result
                for t in run.result.turns
                if t.kind in SPOKEN and t.latency_ms is None
            ],
        },
        "stages_ms": {
            stage: percentiles((t[stage] for r in records for _l, t in r.replies() if stage in t), 50, 95)
            for stage in STAGES
        },
        "preemptive": preemptive_figures([t for r in records for _l, t in r.replies()]),
        "greeting_ms": {
            "at_caller": percentiles(
                (t.latency_ms for t in caller_turns if t.kind == "greeting" and t.latency_ms is not None),
                50,
                95,
            ),
            "server": percentiles(greeting_server, 50, 95),
        },
        "barge_in_ms": {
            **percentiles((run.barge_in_ms for run in runs if run.barge_in_ms is not None), 50, 95),
            "measured": sum(run.barge_in_ms is not None for run in runs),
        },
        "temporal_update_ms": {**percentiles(updates, 50, 95), "updates": len(updates)},
        "hang_up_to_sms_ms": {**percentiles(sms_ms, 50, 95), "sms_sent": len(sms_ms)},
        "bookings": {"booked": len(booked), "failed": len(runs) - len(booked)},
        "unbooked_calls": [
            {
                "call_sid": r.call.call_sid,
                "outcome": r.call.outcome,
                "last_turns": [f"{turn.role.value}: {turn.text}" for turn in r.turns[-UNBOOKED_TURNS_SHOWN:]],
            }
            for r in records
            if r.call.outcome != "booked"
        ],
    }


def cpu_figures(used: Mapping[str, float], load: LoadRun) -> dict[str, Any]:
    """CPU seconds per call and per second of call, from the seconds each process used during a
    load: the stack's processes by role and their total, and the benchmark process apart (the
    simulated callers and the vendor fakes, which share the stack's cores)."""
    stack = {role: seconds for role, seconds in used.items() if role != "bench_process"}
    stack_total = sum(stack.values())
    per_call = max(len(load.calls), 1)
    call_seconds = sum(run.result.seconds for run in load.calls if run.result is not None)
    bench_process = used.get("bench_process", 0.0)
    return {
        "cpu_seconds_per_call": {
            **{role: round(seconds / per_call, 3) for role, seconds in sorted(stack.items())},
            "total": round(stack_total / per_call, 3),
            "bench_process": round(bench_process / per_call, 3),
        },
        "call_seconds": round(call_seconds, 1),
        "cpu_seconds_per_call_second": {
            **{
                role: round(seconds / call_seconds, 4) if call_seconds else None
                for role, seconds in sorted(stack.items())
            },
            "stack": round(stack_total / call_seconds, 4) if call_seconds else None,
            "bench_process": round(bench_process / call_seconds, 4) if call_seconds else None,
        },
    }


def preemptive_figures(replies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How many replies were started on a guess of the caller's words, and how many of those the
    final words kept (the rest were started again)."""
    guessed = [t["preemptive_kept"] for t in replies if "preemptive_kept" in t]
    kept = sum(1 for value in guessed if value == 1.0)
    return {
        "replies": len(replies),
        "guessed": len(guessed),
        "kept": kept,
        "hit_rate": round(kept / len(guessed), 3) if guessed else None,
    }


def overhead_figures(records: Sequence[CallRecord], log: VendorLog) -> dict[str, Any]:
    """Platform overhead percentiles (all turns, and turns whose first audio did not wait for a tool
    round), the vendor time they subtract, and how many turns were joined."""
    joined, unjoined = platform_overheads(records, log)
    direct = [overhead for overhead, vendor in joined if not vendor.after_tools]
    return {
        "platform_overhead_ms": {
            **percentiles((overhead for overhead, _vendor in joined), 50, 95, 99),
            "turns": len(joined),
            "unjoined": unjoined,
        },
        "platform_overhead_without_tools_ms": {**percentiles(direct, 50, 95, 99), "turns": len(direct)},
        "vendor_time_ms": {
            "stt_final": percentiles((v.stt_ms for _o, v in joined if not v.preemptive), 50, 95),
            "llm_first_clause": percentiles((v.llm_ms for _o, v in joined), 50, 95),
            "tts_first_chunk": percentiles((v.tts_ms for _o, v in joined), 50, 95),
        },
    }
