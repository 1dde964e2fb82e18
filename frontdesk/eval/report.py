"""Showing a run: a progress bar while it runs, a table at the end, and every detail as JSON."""

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from frontdesk.eval.results import ScenarioResult


def results_table(results: Sequence[ScenarioResult], label: str) -> Table:
    """One row per scenario: what was expected, what happened, whether it passed, its turns."""
    passed = sum(result.passed for result in results)
    table = Table(title=f"test-call suite ({label}): {passed}/{len(results)} passed")
    table.add_column("scenario", overflow="fold")
    for column in ("expected", "got", "pass", "turns"):
        table.add_column(column)
    table.add_column("v2v p50 / p95 ms", justify="right")
    for result in results:
        # The outcome is its own column; any other expectation that failed is named beside it.
        failures = [
            f"{c.name}: wanted {c.expected}, got {c.got}"
            for c in result.checks
            if c.passed is False and c.name != "outcome"
        ]
        got = result.error or "; ".join([result.got_outcome, *failures])
        table.add_row(
            escape(result.name),
            result.expected_outcome,
            escape(got),
            "[green]pass[/green]" if result.passed else "[red]FAIL[/red]",
            str(result.turns),
            _latencies(result.voice_to_voice_ms),
        )
    return table


def _latencies(values: Sequence[float]) -> str:
    if not values:
        return "-"
    p50, p95 = np.percentile(values, [50, 95])
    return f"{p50:.0f} / {p95:.0f}"


def pass_rate(results: Sequence[ScenarioResult]) -> float:
    """The share of scenarios that passed (1.0 for an empty run: nothing failed)."""
    return sum(result.passed for result in results) / len(results) if results else 1.0


def write_json(results: Sequence[ScenarioResult], path: Path, mode: str) -> None:
    """Every detail of the run: checks, transcripts, notes and errors, per scenario."""
    document = {
        "mode": mode,
        "passed": sum(result.passed for result in results),
        "total": len(results),
        "pass_rate": pass_rate(results),
        "scenarios": [{**asdict(result), "passed": result.passed} for result in results],
    }
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def print_failures(console: Console, results: Sequence[ScenarioResult]) -> None:
    """The transcript of each failed scenario, so a failure can be read without --json."""
    for result in results:
        if result.passed:
            continue
        console.print(f"[bold red]{result.name}[/bold red] ({result.file})")
        for role, text in result.transcript:
            console.print(f"  {role}: {text}", markup=False, highlight=False)
