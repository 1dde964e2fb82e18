"""The test-call suite against a stack that `frontdesk eval --embedded` starts for itself
(Temporal dev server, worker, webhooks and media server, whisper and piper), each scenario at its
moment on its own copy of the demo clinic:

- at text level, every hand-written scenario and one blind-set scenario of each kind of call the
  hand-written ones leave out, their changes going through the stack's CallWorkflow and the
  post-call workflow (confirmations checked as sent). Every scenario, the blind sets included,
  runs at text level in tests/eval/test_eval_scenarios.py; through the stack, 400 calls of the
  same few kinds would only repeat the workflow paths, past the test's time limit;
- an audio sample as real calls: a booking with a barge-in and its confirmation SMS, a key press
  to reach a person, a backchannel that does not interrupt, and both ends of an outbound
  reminder: a patient who confirms and an answering machine. No scenario of the sample has a
  latency expectation: speed is the benchmark's to show, not a test's to assert."""

from pathlib import Path

import pytest
import yaml

from frontdesk.eval.command import run_embedded_suite
from tests.eval.test_eval_scenarios import SCENARIOS, failures

pytestmark = pytest.mark.slow

SAMPLE = (
    "barge-in-changes-day",
    "dtmf-zero-transfers",
    "backchannel-while-agent-speaks",
    "reminder-confirmed",
    "reminder-reaches-voicemail",
)


def kind(path: Path) -> tuple[str, str, str]:
    """A scenario's kind of call: its expected outcome(s), direction and campaign."""
    scenario = yaml.safe_load(path.read_text())
    outcome = scenario["expect"].get("outcome")
    outcomes = ",".join(outcome) if isinstance(outcome, list) else str(outcome)
    return outcomes, scenario.get("direction", "inbound"), str(scenario.get("campaign"))


def through_the_stack() -> list[Path]:
    """Every hand-written scenario, and the first blind-set one (`fresh*`) of each kind of call
    none of them is."""
    files = sorted(SCENARIOS.glob("*.yaml"))
    chosen = [f for f in files if not f.name.startswith("fresh")]
    kinds = {kind(f) for f in chosen}
    for blind in (f for f in files if f.name.startswith("fresh")):
        if kind(blind) not in kinds:
            kinds.add(kind(blind))
            chosen.append(blind)
    return chosen


async def test_every_kind_of_scenario_passes_in_text_mode_through_the_stacks_workflows() -> None:
    chosen = through_the_stack()
    results = await run_embedded_suite(chosen, mode="text")

    assert len(results) == len(chosen) >= 120
    assert not failures(results), "\n".join(failures(results))
    # Confirmations were counted as the post-call workflow sent them, not inferred.
    sent = [c for r in results for c in r.checks if c.name == "confirmation_sent" and c.expected == "true"]
    assert sent and all("confirmation message" in c.got for c in sent)


async def test_the_audio_sample_passes_as_real_calls() -> None:
    results = {r.name: r for r in await run_embedded_suite([SCENARIOS / f"{name}.yaml" for name in SAMPLE])}

    assert not failures(list(results.values())), "\n".join(failures(list(results.values())))
    assert all(check.passed is not None for r in results.values() for check in r.checks)  # none skipped
    # The caller measured a reply to each spoken line; a key press and a voicemail have none.
    assert len(results["barge-in-changes-day"].voice_to_voice_ms) >= 5
    assert results["dtmf-zero-transfers"].voice_to_voice_ms == []
    voicemail = results["reminder-reaches-voicemail"]
    assert voicemail.turns == 0 and [role for role, _ in voicemail.transcript] == ["agent"]
