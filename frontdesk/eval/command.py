"""`frontdesk eval`: run the test-call suite in one of its modes and decide the exit code.

- `--text` alone: at text level through the engine, each scenario on its own SQLite database,
  the actions written straight to it (quick: no stack, no workflows).
- against a running stack (`--url`, default the local `frontdesk dev`) or a stack of its own
  (`--embedded`, started in a temporary folder and stopped after): each scenario is a phone call
  through the Media Streams path, or with `--text` a text-level call whose changes go through
  the stack's CallWorkflow and post-call workflow. Against `--url` the eval shares the stack's
  database and Temporal server (the FRONTDESK_* settings): it gives each scenario its own clinic
  there and checks the outcomes there.
"""

import asyncio
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from rich.console import Console
from rich.progress import Progress
from temporalio.client import Client

from frontdesk.config import Settings, get_settings
from frontdesk.devstack.background import background_stack
from frontdesk.devstack.errors import DevStackError
from frontdesk.domain.database import make_engine
from frontdesk.eval.audio_runner import AudioRunner
from frontdesk.eval.loader import load_scenarios
from frontdesk.eval.report import pass_rate, print_failures, results_table, write_json
from frontdesk.eval.results import ScenarioResult
from frontdesk.eval.scenario import Scenario, ScenarioError
from frontdesk.eval.stack_text_runner import StackTextRunner
from frontdesk.eval.text_runner import TextRunner
from frontdesk.logs import configure_logging
from frontdesk.payload_codec import converter_for

USAGE_ERROR: Final = 2
# The embedded stack honours each scenario's `now:`.
EMBEDDED_SETTINGS: Final = {"FRONTDESK_CALL_CLOCK_OVERRIDE": "true"}

Mode = Literal["text", "audio"]


class Runner(Protocol):
    """Runs one scenario and reports what it found."""

    async def run(self, path: Path, scenario: Scenario) -> ScenarioResult:
        """The scenario's result; a failure of the call is in the result, never raised."""
        ...


@dataclass(frozen=True)
class Target:
    """Where audio mode places its calls: a running stack (`url`) or one of its own (`embedded`)."""

    url: str | None = None
    embedded: bool = False


async def _run_all(
    scenarios: Sequence[tuple[Path, Scenario]], runner: Runner, console: Console
) -> list[ScenarioResult]:
    results = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("scenarios", total=len(scenarios))
        for path, scenario in scenarios:
            progress.update(task, description=scenario.name)
            results.append(await runner.run(path, scenario))
            progress.advance(task)
    return results


async def run_text_suite(paths: Sequence[Path], console: Console | None = None) -> list[ScenarioResult]:
    """Run every scenario under `paths` at text level, with a progress bar on `console`.

    Raises ScenarioError when a scenario file is malformed (nothing is run then)."""
    scenarios = load_scenarios(paths)
    with tempfile.TemporaryDirectory(prefix="frontdesk-eval-") as workdir:
        return await _run_all(scenarios, TextRunner(Path(workdir)), console or Console(stderr=True))


async def run_stack_suite(
    paths: Sequence[Path], settings: Settings, base_url: str, mode: Mode, console: Console | None = None
) -> list[ScenarioResult]:
    """Run every scenario under `paths` against the stack at `base_url`, whose database and
    Temporal server `settings` name: as phone calls (audio) or text-level calls through its
    workflows (text).

    Raises ScenarioError for a malformed scenario, RuntimeError when Temporal cannot be reached."""
    scenarios = load_scenarios(paths)
    try:
        temporal = await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=converter_for(settings),
        )
    except RuntimeError as error:
        raise RuntimeError(f"cannot reach Temporal at {settings.temporal_address}: {error}") from None
    engine = make_engine(settings.database_url)
    try:
        runner: Runner
        if mode == "audio":
            # Imported here: loading the offline voice takes a moment that text mode does not need.
            from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech

            runner = AudioRunner(settings, base_url, engine, temporal, PiperTextToSpeech(varied=False))
        else:
            runner = StackTextRunner(settings, base_url, engine, temporal)
        return await _run_all(scenarios, runner, console or Console(stderr=True))
    finally:
        engine.dispose()


async def run_embedded_suite(
    paths: Sequence[Path], mode: Mode = "audio", console: Console | None = None
) -> list[ScenarioResult]:
    """Start a stack of its own, run every scenario under `paths` against it (see
    run_stack_suite), stop it."""
    load_scenarios(paths)  # a malformed scenario is refused before a stack is started for it
    with tempfile.TemporaryDirectory(prefix="frontdesk-eval-stack-") as workdir:
        async with background_stack(Path(workdir), EMBEDDED_SETTINGS) as stack:
            return await run_stack_suite(paths, stack.settings, stack.base_url, mode, console)


def _results(paths: Sequence[Path], mode: Mode, target: Target, errors: Console) -> list[ScenarioResult]:
    if target.embedded:
        return asyncio.run(run_embedded_suite(paths, mode, errors))
    if mode == "text" and target.url is None:
        return asyncio.run(run_text_suite(paths, errors))
    settings = get_settings()
    base_url = target.url or settings.public_base_url
    return asyncio.run(run_stack_suite(paths, settings, base_url, mode, errors))


def run_eval_command(
    paths: Sequence[Path],
    *,
    text: bool,
    target: Target,
    json_file: Path | None,
    min_pass: float | None,
) -> int:
    """The command's work; returns its exit code: 0 when every scenario passed (or the pass rate
    reached `min_pass`), 1 when not, 2 for bad input or a stack that cannot be used."""
    configure_logging("WARNING", get_settings().log_json)  # the table is the output here
    console = Console()
    errors = Console(stderr=True)
    if target.url and target.embedded:
        errors.print("error: --url calls a running stack, --embedded starts one: give one of them")
        return USAGE_ERROR
    if min_pass is not None and not 0 <= min_pass <= 1:
        errors.print("error: --min-pass is a rate between 0 and 1, e.g. 0.9")
        return USAGE_ERROR
    mode: Mode = "text" if text else "audio"
    try:
        results = _results(paths, mode, target, errors)
    except (ScenarioError, DevStackError, RuntimeError) as error:
        errors.print(f"error: {error}", markup=False, highlight=False)
        return USAGE_ERROR
    through_stack = mode == "text" and (target.url is not None or target.embedded)
    label = "text mode, through the stack's workflows" if through_stack else f"{mode} mode"
    console.print(results_table(results, label))
    print_failures(console, results)
    if json_file is not None:
        try:
            write_json(results, json_file, mode)
        except OSError as error:
            errors.print(f"error: --json: cannot write {json_file}: {error.strerror}", markup=False)
            return USAGE_ERROR
    rate = pass_rate(results)
    return 0 if rate == 1.0 or (min_pass is not None and rate >= min_pass) else 1
