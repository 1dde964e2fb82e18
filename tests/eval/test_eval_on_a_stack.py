"""The test-call suite against a stack that `frontdesk eval --embedded` starts for itself
(Temporal dev server, worker, webhooks and media server, whisper and piper), each scenario at its
moment on its own copy of the demo clinic:

- the whole suite at text level, its changes going through the stack's CallWorkflow and the
  post-call workflow (confirmations checked as sent);
- an audio sample as real calls: a booking with a barge-in and its confirmation SMS, a key press
  to reach a person, a backchannel that does not interrupt, and both ends of an outbound
  reminder: a patient who confirms and an answering machine. No scenario of the sample has a
  latency expectation: speed is the benchmark's to show, not a test's to assert."""

import pytest

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


async def test_every_scenario_passes_in_text_mode_through_the_stacks_workflows() -> None:
    results = await run_embedded_suite([SCENARIOS], mode="text")

    assert len(results) >= 40
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
