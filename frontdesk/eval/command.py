"""`frontdesk eval`: run the test-call suite and decide the exit code."""

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from frontdesk.config import get_settings
from frontdesk.eval.loader import load_scenarios
from frontdesk.eval.report import pass_rate, print_failures, results_table, write_json
from frontdesk.eval.results import ScenarioResult
from frontdesk.eval.scenario import ScenarioError
from frontdesk.eval.text_runner import TextRunner
from frontdesk.logs import configure_logging

USAGE_ERROR = 2


async def run_text_suite(paths: Sequence[Path], console: Console | None = None) -> list[ScenarioResult]:
    """Run every scenario under `paths` at text level, with a progress bar on `console`.

    Raises ScenarioError when a scenario file is malformed (nothing is run then)."""
    scenarios = load_scenarios(paths)
    results = []
    with tempfile.TemporaryDirectory(prefix="frontdesk-eval-") as workdir:
        runner = TextRunner(Path(workdir))
        with Progress(console=console or Console(stderr=True), transient=True) as progress:
            task = progress.add_task("scenarios", total=len(scenarios))
            for path, scenario in scenarios:
                progress.update(task, description=scenario.name)
                results.append(await runner.run(path, scenario))
                progress.advance(task)
    return results


def run_eval_command(
    paths: Sequence[Path], *, text: bool, json_file: Path | None, min_pass: float | None
) -> int:
    """The command's work; returns its exit code: 0 when every scenario passed (or the pass rate
    reached `min_pass`), 1 when not, 2 for bad input."""
    configure_logging("WARNING", get_settings().log_json)  # the table is the output here
    console = Console()
    errors = Console(stderr=True)
    if not text:
        errors.print("error: audio mode (--url / --embedded) is not built yet; run with --text")
        return USAGE_ERROR
    if min_pass is not None and not 0 <= min_pass <= 1:
        errors.print("error: --min-pass is a rate between 0 and 1, e.g. 0.9")
        return USAGE_ERROR
    try:
        results = asyncio.run(run_text_suite(paths, errors))
    except ScenarioError as error:
        errors.print(f"error: {error}", markup=False, highlight=False)
        return USAGE_ERROR
    console.print(results_table(results, "text"))
    print_failures(console, results)
    if json_file is not None:
        try:
            write_json(results, json_file, "text")
        except OSError as error:
            errors.print(f"error: --json: cannot write {json_file}: {error.strerror}", markup=False)
            return USAGE_ERROR
    rate = pass_rate(results)
    return 0 if rate == 1.0 or (min_pass is not None and rate >= min_pass) else 1
