"""The test-call suite in text mode: every scenario of scenarios/ passes through the real engine
and database (the code `frontdesk eval --text` runs), a malformed scenario is refused naming its
field, an expectation that does not hold is a failure, and --min-pass decides the exit code."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from frontdesk.eval.command import run_text_suite
from frontdesk.eval.results import ScenarioResult
from frontdesk.eval.scenario import ScenarioError, parse_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
FRONTDESK = Path(sys.executable).parent / "frontdesk"

HOURS_QUESTION = """\
name: {name}
clinic: demo
now: "2026-11-23T09:30"
caller: "+15550199009"
turns:
  - say: "Hi, what are your hours?"
  - say: "Okay, thanks, that's all."
expect:
  outcome: {outcome}
  said: ["8 AM"]
"""


def failures(results: list[ScenarioResult]) -> list[str]:
    """Each failed scenario: what failed, then its transcript."""
    return [
        f"{r.name}: {r.error or [c for c in r.checks if c.passed is False]}\n"
        + "\n".join(f"  {role}: {text}" for role, text in r.transcript)
        for r in results
        if not r.passed
    ]


def write_scenario(folder: Path, name: str, outcome: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(HOURS_QUESTION.format(name=name, outcome=outcome), encoding="utf-8")
    return path


def frontdesk_eval(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FRONTDESK), "eval", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
        env={**os.environ, **(env or {})},
    )


async def test_every_scenario_passes_in_text_mode() -> None:
    results = await run_text_suite([SCENARIOS])
    assert len(results) >= 40
    assert not failures(results), "\n".join(failures(results))


async def test_an_expectation_that_does_not_hold_is_a_failure(tmp_path: Path) -> None:
    write_scenario(tmp_path, "hours-expected-as-a-booking", "booked")
    [result] = await run_text_suite([tmp_path])
    assert not result.passed
    [outcome] = [check for check in result.checks if check.name == "outcome"]
    assert (outcome.expected, outcome.got, outcome.passed) == ("booked", "answered", False)


async def test_audio_only_expectations_are_skipped_not_passed(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, "hours-with-latency", "answered")
    path.write_text(path.read_text() + "  max_voice_to_voice_ms: 1500\n", encoding="utf-8")
    [result] = await run_text_suite([tmp_path])
    [latency] = [check for check in result.checks if check.name == "max_voice_to_voice_ms"]
    assert latency.passed is None and "skipped" in latency.got
    assert result.passed


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (("clinic: demo", "clinic: elm-street"), "only the demo clinic"),
        (
            ('caller: "+15550199009"', 'direction: outbound\ncampaign: reminder\ncaller: "+15550199009"'),
            "not the number of a demo clinic patient",
        ),
    ],
)
async def test_a_scenario_text_mode_cannot_run_fails_with_its_reason(
    tmp_path: Path, change: tuple[str, str], error: str
) -> None:
    path = tmp_path / "unrunnable.yaml"
    path.write_text(HOURS_QUESTION.replace(*change).format(name="x", outcome="answered"), encoding="utf-8")
    [result] = await run_text_suite([tmp_path])
    assert not result.passed and result.error is not None and error in result.error


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("outcome: {outcome}", "outcome: booke"), "expect.outcome"),
        (('caller: "+15550199009"', 'caller: "555-0199"'), "caller"),
        (('  - say: "Hi, what are your hours?"', '  - say: "Hi"\n    dtmf: "0"'), "turns.0"),
        (("  said:", "  sayd:"), "expect.sayd"),
    ],
)
def test_a_malformed_scenario_names_the_file_and_the_field(
    tmp_path: Path, change: tuple[str, str], field: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(HOURS_QUESTION.replace(*change).format(name="bad", outcome="answered"), encoding="utf-8")
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(path)
    assert str(path) in str(raised.value) and f"{field}:" in str(raised.value)


def test_the_cli_exit_code_follows_min_pass(tmp_path: Path) -> None:
    write_scenario(tmp_path, "hours-answered", "answered")
    write_scenario(tmp_path, "hours-expected-as-a-transfer", "transferred")
    report = tmp_path / "report.json"
    strict = frontdesk_eval(str(tmp_path), "--text", "--json", str(report))
    assert strict.returncode == 1, strict.stderr
    assert "1/2 passed" in strict.stdout
    details = json.loads(report.read_text())
    assert [s["passed"] for s in details["scenarios"]] == [True, False]
    assert details["scenarios"][0]["transcript"][0][0] == "agent"
    assert frontdesk_eval(str(tmp_path), "--text", "--min-pass", "0.5").returncode == 0
    assert frontdesk_eval(str(tmp_path), "--text", "--min-pass", "0.9").returncode == 1


def test_the_cli_refuses_bad_input_with_exit_code_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: bad\nclinic: demo\n", encoding="utf-8")
    malformed = frontdesk_eval(str(tmp_path), "--text")
    assert malformed.returncode == 2 and "turns" in malformed.stderr and "bad.yaml" in malformed.stderr
    both = frontdesk_eval(str(SCENARIOS), "--url", "http://127.0.0.1:9", "--embedded")
    assert both.returncode == 2 and "give one of them" in both.stderr
    for mode in ([], ["--text"]):  # audio and text alike need the stack's Temporal
        nowhere = frontdesk_eval(
            str(SCENARIOS),
            *mode,
            "--url",
            "http://127.0.0.1:9",
            env={"FRONTDESK_TEMPORAL_ADDRESS": "127.0.0.1:9"},
        )
        assert nowhere.returncode == 2 and "cannot reach Temporal at 127.0.0.1:9" in nowhere.stderr
