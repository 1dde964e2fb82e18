"""What running a scenario found: each expectation checked, the transcript and the verdict."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontdesk.eval.scenario import Scenario


@dataclass
class Check:
    """One expectation: what the scenario wanted, what the call did; `passed` is None when the
    expectation cannot be checked in this mode (it is reported as skipped, not as passed)."""

    name: str
    expected: str
    got: str
    passed: bool | None


@dataclass
class ScenarioResult:
    """One scenario's run."""

    name: str
    file: str
    expected_outcome: str
    got_outcome: str
    turns: int
    checks: list[Check] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (role, text)
    notes: list[str] = field(default_factory=list)  # caller actions not applicable in this mode
    # Audio mode: each reply's latency, the caller's end of speech -> the first agent audio it got.
    voice_to_voice_ms: list[float] = field(default_factory=list)
    # Audio mode: each step as the caller measured it (kind, words, latency, agent audio, cleared).
    caller_steps: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # the run itself failed (the scenario fails)

    @classmethod
    def before_the_call(cls, path: Path, scenario: Scenario) -> "ScenarioResult":
        """The result of a scenario whose call has not run yet: nothing found so far."""
        return cls(
            name=scenario.name,
            file=str(path),
            expected_outcome=scenario.expect.outcome_text,
            got_outcome="-",
            turns=0,
        )

    @property
    def passed(self) -> bool:
        """Every checkable expectation held and the run did not fail."""
        return self.error is None and all(check.passed is not False for check in self.checks)
