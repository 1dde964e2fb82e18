"""`frontdesk bench` end to end: a background stack whose vendors are the bench fakes, two whole
calls through the webhook and the media socket, every figure in the result."""

import os
from typing import Any

import pytest
from typer.testing import CliRunner

from frontdesk.bench.profiles import profile_named
from frontdesk.bench.run import BenchOptions, find_capacity, run_bench
from frontdesk.cli import app

pytestmark = pytest.mark.slow

FIGURES = (
    "profile",
    "concurrency",
    "calls",
    "concurrency_reached",
    "calls_completed",
    "calls_failed",
    "voice_to_voice_ms",
    "voice_to_voice_at_caller_ms",
    "greeting_ms",
    "barge_in_ms",
    "platform_overhead_ms",
    "platform_overhead_without_tools_ms",
    "vendor_time_ms",
    "temporal_update_ms",
    "hang_up_to_sms_ms",
    "frames",
    "event_loop_lag",
    "collector",
    "cpu_seconds_per_call",
    "cpu_seconds_per_call_second",
    "call_seconds",
    "bookings",
    "unbooked_calls",
    "workflows",
    "temporal_actions_per_call",
)


def percentiles_present(figure: dict[str, Any]) -> bool:
    """Whether every pNN of a figure (nested ones included) has a value."""
    return all(
        percentiles_present(value)
        if isinstance(value, dict)
        else not (key[0] == "p" and key[1:].isdigit() and value is None)
        for key, value in figure.items()
    )


async def test_two_calls_at_once_complete_book_and_report_every_figure() -> None:
    figures = await run_bench(
        BenchOptions(profile_named("zero"), calls=2, concurrency=2), lambda _l, _n: print
    )

    assert set(FIGURES) <= set(figures)
    assert (figures["calls_completed"], figures["calls_failed"], figures["concurrency_reached"]) == (2, 0, 2)
    # Read once both calls' workflows had finished: the bookings and the SMS are all there.
    assert figures["workflows"] == {"finished": 2, "failed": 0, "timed_out": 0, "no_workflow": 0}
    assert figures["bookings"] == {"booked": 2, "failed": 0}
    assert figures["unbooked_calls"] == []
    assert figures["hang_up_to_sms_ms"]["sms_sent"] == 2
    assert figures["hang_up_to_sms_ms"]["p50"] is not None
    # Four caller lines a call, each answered, each joined to what the fakes injected.
    assert figures["voice_to_voice_ms"]["turns"] == 8
    assert figures["voice_to_voice_at_caller_ms"]["lines"] == 8
    assert figures["voice_to_voice_at_caller_ms"]["unmeasured"] == []
    assert figures["platform_overhead_ms"]["turns"] == 8
    assert figures["platform_overhead_ms"]["unjoined"] == 0
    assert figures["barge_in_ms"]["measured"] == 2
    # offer_slots, register_appointments, book and end: four Updates a call.
    assert figures["temporal_update_ms"]["updates"] == 8
    # As the Temporal server counted them: each call's workflow started, its Updates among them.
    actions = figures["temporal_actions_per_call"]
    assert actions["total"] >= 4 + 1 and actions["by_type"], actions
    assert figures["frames"]["sent"] > 0
    assert figures["frames"]["late_share"] is not None
    # The media server's loop woke its watcher all along the calls: every 10 ms when on time, so
    # ~100 a second of wall time; a tenth of that allows for a loaded machine.
    assert figures["event_loop_lag"]["wake_ups"] >= figures["call_seconds"] / 2 * 10
    assert {"web", "worker", "temporal", "total", "bench_process"} <= set(figures["cpu_seconds_per_call"])
    assert figures["call_seconds"] > 0
    assert figures["cpu_seconds_per_call_second"]["stack"] > 0
    for figure in ("voice_to_voice_ms", "greeting_ms", "barge_in_ms", "temporal_update_ms", "vendor_time_ms"):
        assert percentiles_present(figures[figure]), figure
    # Every caller turn ended by the turn model, each stage timed.
    for stage in ("end_of_turn", "stt_final", "turn_ready", "llm_first_token", "first_frame_sent"):
        assert figures["stages_ms"][stage]["p50"] is not None, stage
    preemptive = figures["preemptive"]
    assert preemptive["replies"] == 8 and preemptive["kept"] <= preemptive["guessed"] <= 8


async def test_a_capacity_step_runs_the_media_server_apart_on_a_core_of_its_own() -> None:
    options = BenchOptions(profile_named("zero"), calls=2, concurrency=2, capacity_step=2, capacity_max=2)

    figures = await find_capacity(options, lambda _l, _n: print)

    search = figures["find_capacity"]
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:  # the media server on the first core, the rest on the others
        assert (search["media_core"], search["other_cores"]) == (cores[0], cores[1:])
    [step] = figures["steps"]
    assert step["calls_completed"] == 2 and step["bookings"] == {"booked": 2, "failed": 0}
    # The frames were counted by the media server's own /metrics, apart from the API's.
    assert step["frames"]["sent"] > 0
    assert {"web", "media", "worker", "temporal"} <= set(step["cpu_seconds_per_call"])
    media = step["media_server"]
    assert media["cpu_seconds_per_call_second"] > 0 and 0 < media["core_busy_share"]
    assert 0 < media["event_loop_share_of_cpu"] <= 1
    assert 0 < media["rss_mb_idle"] <= media["rss_mb_peak"]
    assert media["rss_mb_per_call"] is not None
    for group in ("media_core_busy", "other_cores_busy"):
        assert 0 < step["cores"][group]["mean"] <= step["cores"][group]["peak"] <= 1
    assert search["largest_concurrency_held"] in (0, 2)
    assert step["holds"] == (search["largest_concurrency_held"] == 2)


def test_an_unknown_profile_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["bench", "--profile", "slow"])
    assert result.exit_code == 2
    assert "unknown latency profile" in result.output
