"""One benchmark run: the vendor fakes, a background stack pointed at them, and either one load at
a fixed concurrency or a capacity search; every figure in one dict."""

import asyncio
import os
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx
from temporalio.client import Client

from frontdesk.bench.cores import StepWatch, split_cores
from frontdesk.bench.cpu import process_seconds, stack_cpu_seconds
from frontdesk.bench.figures import cpu_figures, load_figures, load_records, overhead_figures
from frontdesk.bench.load import CallRun, run_load
from frontdesk.bench.media_metrics import MediaCounters
from frontdesk.bench.profiles import LatencyProfile
from frontdesk.bench.script import CALLER_NUMBER, caller_steps
from frontdesk.bench.settle import settle_calls
from frontdesk.bench.slots import open_consultations
from frontdesk.bench.temporal_actions import action_counts, actions_per_call
from frontdesk.bench.vendors import VendorFakes, vendor_fakes
from frontdesk.caller.conversation import CallOptions, render_lines
from frontdesk.devstack.background import BackgroundStack, background_stack
from frontdesk.domain.database import make_engine
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.temporal_client import connect_settings

TEMPORAL_CONNECT_SECONDS: Final = 30.0
METRICS_TIMEOUT_SECONDS: Final = 60.0
METRICS_ATTEMPTS: Final = 5
MB: Final = 1024 * 1024

Progress = Callable[[str, int], Callable[[CallRun], None]]  # (step label, calls) -> per-call callback


@dataclass(frozen=True)
class BenchOptions:
    """What to run."""

    profile: LatencyProfile
    calls: int
    concurrency: int
    seed: int = 7
    workdir: Path | None = None  # keep the stack's data here (default: a temporary folder)
    capacity_step: int = 10  # --find-capacity: concurrency added per step
    capacity_max: int = 100  # --find-capacity: the highest concurrency tried
    arrival_ms: float = 200.0  # the least time between two calls' starts
    overhead_limit_ms: float = 20.0  # --find-capacity: platform overhead p95 a step may reach


@dataclass(frozen=True)
class _Bench:
    stack: BackgroundStack
    fakes: VendorFakes
    speech: dict[str, bytes]  # the caller's audio of each line
    temporal: Client  # the stack's Temporal, to wait for the calls' workflows


async def _scrape(url: str) -> str:
    """A /metrics page's text."""
    # A stack still digesting a heavy load may be slow to answer, or drop a connection: try again.
    async with httpx.AsyncClient(timeout=METRICS_TIMEOUT_SECONDS) as client:
        for attempt in range(1, METRICS_ATTEMPTS + 1):
            try:
                return (await client.get(url)).raise_for_status().text
            except httpx.HTTPError as exc:
                if attempt == METRICS_ATTEMPTS:
                    raise httpx.HTTPError(f"GET {url} failed {attempt} times: {exc!r}") from exc
                await asyncio.sleep(attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _media_counters(base_url: str) -> MediaCounters:
    return MediaCounters.parse(await _scrape(f"{base_url}/metrics"))


async def _temporal_actions(bench: _Bench) -> Counter[str]:
    settings = bench.stack.settings
    metrics = f"http://127.0.0.1:{settings.temporal_metrics_port}/metrics"
    return action_counts(await _scrape(metrics), settings.temporal_namespace)


def _cpu_seconds(bench: _Bench) -> dict[str, float]:
    """The stack's processes by role, and the benchmark process alone (the stack is its child)."""
    return stack_cpu_seconds(bench.stack.pid) | {"bench_process": process_seconds(os.getpid())}


async def measure(
    bench: _Bench, calls: int, concurrency: int, arrival_ms: float, on_call_done: Callable[[CallRun], None]
) -> dict[str, Any]:
    """Run one load on the stack and compute its figures once every call's workflows are done."""
    bench.fakes.log.clear()
    media_before = await _media_counters(bench.stack.media_url)
    actions_before = await _temporal_actions(bench)
    cpu_before = _cpu_seconds(bench)
    options = CallOptions(bench.stack.base_url, DEMO_NUMBER, CALLER_NUMBER, caller_steps())
    load = await run_load(
        bench.stack.settings, options, bench.speech, calls, concurrency, arrival_ms / 1000, on_call_done
    )
    sids = [run.result.call_sid for run in load.calls if run.result is not None]
    settlement = await settle_calls(bench.temporal, sids)
    cpu_after = _cpu_seconds(bench)
    media_after = await _media_counters(bench.stack.media_url)
    actions_after = await _temporal_actions(bench)
    records = await asyncio.to_thread(load_records, make_engine(bench.stack.settings.database_url), sids)
    figures = load_figures(load, records) | overhead_figures(records, bench.fakes.log)
    figures["workflows"] = settlement.counts()
    figures["temporal_actions_per_call"] = actions_per_call(actions_before, actions_after, len(sids))
    figures |= media_after.figures_since(media_before)
    used = {role: cpu_after.get(role, 0.0) - cpu_before.get(role, 0.0) for role in cpu_after}
    return figures | cpu_figures(used, load)


@asynccontextmanager
async def _bench(options: BenchOptions, media_processes: int = 0) -> AsyncIterator[_Bench]:
    """The fakes and a stack on them; `media_processes`: the stack's media server apart from its
    API, in that many processes (0: in the API's process, as `frontdesk dev` runs by default)."""
    speech = await render_lines(PiperTextToSpeech(varied=False), caller_steps())
    async with vendor_fakes(options.profile, options.seed) as fakes:
        with tempfile.TemporaryDirectory(prefix="frontdesk-bench-") as scratch:
            workdir = options.workdir or Path(scratch)
            overrides = fakes.stack_overrides() | {"FRONTDESK_DEV_MEDIA_PROCESSES": str(media_processes)}
            async with background_stack(workdir, overrides) as stack:
                engine = make_engine(stack.settings.database_url)
                offered = await asyncio.to_thread(
                    open_consultations, engine, fakes.windows.today, datetime.now(UTC)
                )
                fakes.windows.keep_bookable(offered)
                temporal = await connect_settings(stack.settings, within=TEMPORAL_CONNECT_SECONDS)
                yield _Bench(stack, fakes, speech, temporal)


async def run_bench(options: BenchOptions, progress: Progress) -> dict[str, Any]:
    """`frontdesk bench` at one concurrency: the run's figures."""
    async with _bench(options) as bench:
        label = f"{options.profile.name}: {options.calls} calls, {options.concurrency} at once"
        done = progress(label, options.calls)
        figures = await measure(bench, options.calls, options.concurrency, options.arrival_ms, done)
    return {
        "profile": options.profile.name,
        "concurrency": options.concurrency,
        "arrival_ms": options.arrival_ms,
        **figures,
    }


def step_holds(figures: dict[str, Any], overhead_limit_ms: float) -> bool:
    """Whether a capacity step held: every call completed and booked, platform overhead p95 within
    the limit, no frame sent late. The overhead is that of turns whose first audio did not wait for
    a tool round: a tool's database and Temporal time is work, not a platform falling behind."""
    overhead = figures["platform_overhead_without_tools_ms"]["p95"]
    return (
        figures["calls_failed"] == 0
        and figures["bookings"]["failed"] == 0
        and overhead is not None
        and overhead <= overhead_limit_ms
        and figures["frames"]["late"] == 0
    )


async def find_capacity(options: BenchOptions, progress: Progress) -> dict[str, Any]:
    """Raise concurrency by `capacity_step` per step (each step places that many calls at once)
    until a step does not hold, `capacity_max` is passed or the clinic's schedule runs out: the
    largest concurrency one media process held on one core. The stack runs its media server as one
    process apart from the API, pinned to a core of its own; everything else runs on the others
    (cores.py)."""
    steps: list[dict[str, Any]] = []
    held = 0
    async with _bench(options, media_processes=1) as bench:
        split = split_cores(bench.stack.pid, os.getpid())
        idle_rss = split.media_rss_bytes()
        concurrency = options.capacity_step
        while concurrency <= options.capacity_max and concurrency <= bench.fakes.windows.remaining():
            label = f"capacity step: {concurrency} at once"
            done = progress(label, concurrency)
            cpu_before, loop_before = split.media_cpu_seconds(), split.media_loop_seconds()
            started = time.monotonic()
            async with StepWatch(split) as watch:
                figures = await measure(bench, concurrency, concurrency, options.arrival_ms, done)
            media_cpu, wall = split.media_cpu_seconds() - cpu_before, time.monotonic() - started
            loop_cpu = split.media_loop_seconds() - loop_before
            media = MediaUse(media_cpu, loop_cpu, wall, idle_rss, watch.peak_rss)
            figures["media_server"] = media.figures(figures["call_seconds"], concurrency)
            figures["cores"] = watch.cores_figures()
            figures["holds"] = step_holds(figures, options.overhead_limit_ms)
            steps.append({"concurrency": concurrency, **figures})
            if not figures["holds"]:
                break
            held = concurrency
            concurrency += options.capacity_step
    return {
        "profile": options.profile.name,
        "arrival_ms": options.arrival_ms,
        "find_capacity": {
            "criterion": (
                "every call completed and booked, no frame sent late, and platform overhead p95 of "
                "turns whose first audio did not wait for a tool round within the limit"
            ),
            "overhead_limit_ms": options.overhead_limit_ms,
            "media_core": split.media_core,
            "other_cores": list(split.rest_cores),
            "largest_concurrency_held_on_one_core": held if split.media_core is not None else None,
            "largest_concurrency_held": held,
        },
        "steps": steps,
    }


@dataclass(frozen=True)
class MediaUse:
    """What a capacity step cost the media server: CPU (all of it, and its event loops' share),
    the step's wall time, and resident memory idle (before the first step) and at the step's peak."""

    cpu_seconds: float
    loop_seconds: float
    wall_seconds: float
    idle_rss: int
    peak_rss: int

    def figures(self, call_seconds: float, calls: int) -> dict[str, float | None]:
        """CPU per second of call, the share of it on the event loops, the share of its core kept
        busy over the step, and memory: idle, peak, and the growth over idle per concurrent call."""
        cpu = self.cpu_seconds
        return {
            "cpu_seconds_per_call_second": round(cpu / call_seconds, 4) if call_seconds else None,
            "event_loop_share_of_cpu": round(self.loop_seconds / cpu, 3) if cpu else None,
            "core_busy_share": round(cpu / self.wall_seconds, 3) if self.wall_seconds else None,
            "rss_mb_idle": round(self.idle_rss / MB, 1),
            "rss_mb_peak": round(self.peak_rss / MB, 1),
            "rss_mb_per_call": round((self.peak_rss - self.idle_rss) / MB / calls, 2) if calls else None,
        }
