"""`frontdesk bench --end-of-turn`: the end-of-turn rules measured on the labelled set.

Each case of end_of_turn_set.py is rendered with piper (deterministic), framed as a caller's
line carries it (0.5 s of silence before, `TAIL_S` after, seeded line noise at `NOISE_DBFS`,
mu-law in 20 ms frames), analyzed by the real `FrameAnalyzer`, and played frame by frame into an
`EndOfTurnRule` per clinic profile:

- `old`: the silence rule (no model), the profile's `END_OF_TURN_SILENCE_MS`.
- `new`: Smart Turn v3 after the short silence, with the profile's threshold and long silence.
- `old_with_word_hold`, `new_with_word_hold`: each with the turn loop's hold when the words so
  far sound unfinished (listening.py, caller_turn.py), given perfect transcripts of them. The
  old rule's end is decided 700 ms later; the new rule's end by the model comes no sooner than
  the profile's long silence after the last word (an end by the long silence is not held again).
  A held end is dropped if the caller's next words are confirmed (the segmenter's
  `min_speech_ms` after their onset) within the hold. These two are the policies the turn loop
  runs, without the model (`end_of_turn_model` off) and with it.

The model's answer reaches the rule `MODEL_LATENCY_MS` of audio after it was asked (a fixed
figure, so the counts do not depend on how busy the machine is); the real time of each
judgement is measured and reported beside it. Identical audio is judged once and the answer
reused across profiles.

Figures per rule and profile: `cut_offs`, turns that ended before the caller's last word (in a
paused case's pause, or inside a complete sentence), by kind of case; `delay_ms`, the caller's
true end of speech (the rendering's last sound) -> the decision that ended the turn, over the
complete cases and over the paused ones; `missed`, cases whose turn never ended. For the new
rule, `guesses`: the pauses at which the turn loop starts a reply on the words so far (the
profile's `guess_after_ms`), all of them and those before the caller's last word (a reply
thrown away unheard), beside the silences the model was asked about before the last word (where
the guesses were made before there was a shorter pause).
"""

import asyncio
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from frontdesk.bench.end_of_turn_set import END_OF_TURN_SET, CaseKind, EndOfTurnCase
from frontdesk.bench.figures import percentiles
from frontdesk.domain.clinic_settings import EndOfTurnProfile
from frontdesk.realtime.audio.analysis import AnalyzedFrame, FrameAnalyzer
from frontdesk.realtime.audio.codec import (
    FRAME_MS,
    TELEPHONY_SAMPLE_RATE,
    mulaw_decode,
    mulaw_encode,
    split_mulaw_frames,
)
from frontdesk.realtime.audio.turn_model import TurnModel, load_turn_model
from frontdesk.realtime.audio.vad import VadConfig
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.realtime.turn.end_of_turn import (
    END_OF_TURN_POLICIES,
    AnalyzeTurn,
    CallerPaused,
    EndOfTurnPolicy,
    EndOfTurnRule,
    EndReason,
    TurnEnded,
)
from frontdesk.realtime.turn.listening import UNFINISHED_EXTRA_MS, sounds_unfinished

LEAD_IN_S: Final = 0.5
# Longer than the longest long silence (1.7 s) plus the model's latency: every turn can end.
TAIL_S: Final = 2.5
# A quiet line's hiss (analysis.py: an idle line sits under -60 dBFS), below the analyzer's gate.
NOISE_DBFS: Final = -60.0
SEED: Final = 7
# The judgement's time assumed in the simulation: about its median measured on this shared
# 2-core machine while other jobs ran (turn_model.py), in whole 20 ms frames.
MODEL_LATENCY_MS: Final = 160
# A 10 ms block of a rendering quieter than this (RMS, about -50 dBFS) is piper's own silence
# around the words; speech, soft fricatives included, is louder (analysis.py measured -45 dBFS).
_SILENT_BLOCK_RMS: Final = 100.0
_BLOCK: Final = TELEPHONY_SAMPLE_RATE // 100
_KEEP_EDGE: Final = 2 * _BLOCK  # left either side of the words, so no faint edge is cut
_WORD_HOLD_S: Final = UNFINISHED_EXTRA_MS / 1000
# The turn loop's hold is cancelled by the speech-to-text's speech start, confirmed this late.
_RESUME_CONFIRMED_S: Final = VadConfig().min_speech_ms / 1000

Judge = Callable[[AnalyzeTurn], float]


@dataclass(frozen=True, slots=True)
class RenderedCase:
    """A case as the line carries it, analyzed, with where its words really are."""

    case: EndOfTurnCase
    frames: list[AnalyzedFrame]
    speech_end: float
    """Stream seconds where the last word's sound ends."""
    resume_at: float | None
    """Paused cases: stream seconds where the second part's sound begins."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one rule decided on one case."""

    ends: tuple[TurnEnded, ...]
    speech_end: float
    pauses: tuple[float, ...] = ()
    """Stream seconds at which the rule said the caller paused."""
    questions: tuple[float, ...] = ()
    """Stream seconds at which the rule asked its model."""

    @property
    def guesses_thrown_away(self) -> int:
        """Pauses said before the caller's last word: a reply started on them is thrown away."""
        return sum(at < self.speech_end for at in self.pauses)

    @property
    def questions_before_the_end(self) -> int:
        """Judgements asked before the caller's last word."""
        return sum(at < self.speech_end for at in self.questions)

    @property
    def cut_off(self) -> bool:
        """Whether a turn ended before the caller's last word."""
        return any(end.decided_at < self.speech_end for end in self.ends)

    @property
    def delay_ms(self) -> float | None:
        """End of speech -> the decision that ended the last turn; None if it never ended."""
        final = next((end for end in self.ends if end.decided_at >= self.speech_end), None)
        return None if final is None else (final.decided_at - self.speech_end) * 1000


def _words_span(samples: NDArray[np.int16]) -> NDArray[np.int16]:
    """A rendering without piper's silence before and after the words."""
    blocks = samples[: samples.size // _BLOCK * _BLOCK].reshape(-1, _BLOCK).astype(np.float64)
    loud = np.flatnonzero(np.sqrt(np.mean(blocks * blocks, axis=1)) > _SILENT_BLOCK_RMS)
    if loud.size == 0:
        raise ValueError("the rendering has no speech in it")
    return samples[max(loud[0] * _BLOCK - _KEEP_EDGE, 0) : (loud[-1] + 1) * _BLOCK + _KEEP_EDGE]


async def render_cases(
    cases: Sequence[EndOfTurnCase], tts: PiperTextToSpeech, seed: int = SEED
) -> list[RenderedCase]:
    """Render, frame and analyze each case (see the module docstring)."""
    rng = np.random.default_rng(seed)
    noise_rms = 32768 * 10 ** (NOISE_DBFS / 20)
    rendered = []
    for case in cases:
        parts = [
            _words_span(mulaw_decode(b"".join([chunk async for chunk in tts.synthesize(text)])))
            for text in case.parts
        ]
        pieces = [_silence(LEAD_IN_S), parts[0]]
        resume_at = None
        if len(parts) == 2:
            pieces.append(_silence(case.pause_s))
            resume_at = _seconds(pieces)
            pieces.append(parts[1])
        speech_end = _seconds(pieces)
        audio = np.concatenate([*pieces, _silence(TAIL_S)]).astype(np.float64)
        audio += rng.normal(0.0, noise_rms, audio.size)
        line = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
        analyzer = FrameAnalyzer()
        frames = [analyzer.analyze(frame) for frame in split_mulaw_frames(mulaw_encode(line))]
        rendered.append(RenderedCase(case, frames, speech_end, resume_at))
    return rendered


def run_rule(
    rendered: RenderedCase, policy: EndOfTurnPolicy, model: TurnModel | None, judge: Judge | None = None
) -> Outcome:
    """Play a case into a fresh rule frame by frame; the model's answers arrive MODEL_LATENCY_MS
    after each question (`judge` gives them; by default the model itself)."""
    rule = EndOfTurnRule(policy, model)
    latency_frames = -(-MODEL_LATENCY_MS // FRAME_MS)
    waiting: list[tuple[int, AnalyzeTurn, float]] = []  # (answered after frame, question, answer)
    ends: list[TurnEnded] = []
    pauses: list[float] = []
    questions: list[float] = []
    for index, frame in enumerate(rendered.frames):
        action = rule.process(frame)
        if isinstance(action, TurnEnded):
            ends.append(action)
        elif isinstance(action, CallerPaused):
            pauses.append((index + 1) * FRAME_MS / 1000)
        elif isinstance(action, AnalyzeTurn):
            questions.append((index + 1) * FRAME_MS / 1000)
            waiting.append((index + latency_frames, action, (judge or AnalyzeTurn.run)(action)))
        for answer in [answer for answer in waiting if answer[0] == index]:
            waiting.remove(answer)
            if (ended := rule.model_said(answer[1], answer[2])) is not None:
                ends.append(ended)
    return Outcome(tuple(ends), rendered.speech_end, tuple(pauses), tuple(questions))


def with_word_hold(rendered: RenderedCase, outcome: Outcome, long_silence_s: float | None = None) -> Outcome:
    """A rule's decisions with the turn loop's word hold on top (the module docstring): the old
    rule's when `long_silence_s` is None, else the new rule's, holding to that silence."""
    resume = rendered.resume_at
    ends = []
    for end in outcome.ends:
        final = end.decided_at >= rendered.speech_end
        at_pause = not final and resume is not None and end.speech_end < resume
        # Inside a sentence (neither at the end nor in the case's pause) no transcript is assumed.
        words = rendered.case.text if final else rendered.case.parts[0] if at_pause else None
        if words is None or not sounds_unfinished(words):
            ends.append(end)
            continue
        if long_silence_s is None:
            held = replace(end, decided_at=end.decided_at + _WORD_HOLD_S)
        elif end.reason is EndReason.MODEL_COMPLETE:
            held = replace(end, decided_at=max(end.decided_at, end.speech_end + long_silence_s))
        else:
            ends.append(end)  # the long silence ran out already: nothing holds it again
            continue
        # In the pause, the caller's next words cancel the hold once confirmed within it.
        if final or (resume is not None and resume + _RESUME_CONFIRMED_S > held.decided_at):
            ends.append(held)
    return Outcome(tuple(ends), outcome.speech_end)


class _CachedJudge:
    """The model's answers, each distinct audio judged once, with the time each judgement took."""

    def __init__(self) -> None:
        self._answers: dict[bytes, float] = {}
        self.times_ms: list[float] = []

    def __call__(self, question: AnalyzeTurn) -> float:
        key = hashlib.blake2b(question.samples.tobytes(), digest_size=16).digest()
        if key not in self._answers:
            started = time.perf_counter()
            self._answers[key] = question.run()
            self.times_ms.append((time.perf_counter() - started) * 1000)
        return self._answers[key]


def _figures(cases: Sequence[RenderedCase], outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """One rule's figures at one profile."""
    cut_offs = Counter({kind.value: 0 for kind in CaseKind})
    delays: dict[str, list[float]] = {"complete": [], "paused": []}
    for rendered, outcome in zip(cases, outcomes, strict=True):
        kind = rendered.case.kind
        cut_offs[kind.value] += outcome.cut_off
        if outcome.delay_ms is not None:
            delays["complete" if kind is CaseKind.COMPLETE else "paused"].append(outcome.delay_ms)
    return {
        "cut_offs": {**cut_offs, "total": cut_offs.total()},
        "delay_ms": {group: percentiles(values, 50, 95) for group, values in delays.items()},
        "missed": sum(outcome.delay_ms is None for outcome in outcomes),
    }


def evaluate(rendered: Sequence[RenderedCase], model: TurnModel) -> dict[str, Any]:
    """Every rule at every profile over rendered cases: the report's "model" and "rules" parts."""
    judge = _CachedJudge()
    rules: dict[str, dict[str, Any]] = {
        "old": {},
        "old_with_word_hold": {},
        "new": {},
        "new_with_word_hold": {},
    }
    for profile in EndOfTurnProfile:
        policy = END_OF_TURN_POLICIES[profile]
        old = [run_rule(case, policy, None) for case in rendered]
        new = [run_rule(case, policy, model, judge) for case in rendered]
        rules["old"][profile.value] = {"silence_ms": policy.silence_ms, **_figures(rendered, old)}
        rules["old_with_word_hold"][profile.value] = _figures(
            rendered, [with_word_hold(case, outcome) for case, outcome in zip(rendered, old, strict=True)]
        )
        rules["new"][profile.value] = {
            "analyze_after_ms": policy.analyze_after_ms,
            "complete_threshold": policy.complete_threshold,
            "incomplete_silence_ms": policy.incomplete_silence_ms,
            **_figures(rendered, new),
            "guesses": {
                "guess_after_ms": policy.guess_after_ms,
                "pauses": sum(len(outcome.pauses) for outcome in new),
                "before_the_end": sum(outcome.guesses_thrown_away for outcome in new),
                "judged_before_the_end": sum(outcome.questions_before_the_end for outcome in new),
            },
            "complete_ended_by": dict(
                Counter(
                    end.reason.value
                    for case, outcome in zip(rendered, new, strict=True)
                    if case.case.kind is CaseKind.COMPLETE
                    for end in outcome.ends
                    if end.decided_at >= outcome.speech_end
                )
            ),
        }
        long_silence_s = policy.incomplete_silence_ms / 1000
        rules["new_with_word_hold"][profile.value] = _figures(
            rendered,
            [
                with_word_hold(case, outcome, long_silence_s)
                for case, outcome in zip(rendered, new, strict=True)
            ],
        )
    return {
        "model": {
            "latency_assumed_ms": MODEL_LATENCY_MS,
            "judgements": len(judge.times_ms),
            "judgement_ms": percentiles(judge.times_ms, 50, 95),
        },
        "rules": rules,
    }


async def measure_end_of_turn(cases: Sequence[EndOfTurnCase] = END_OF_TURN_SET) -> dict[str, Any]:
    """Render the set and measure every rule on it (the module docstring)."""
    started = time.perf_counter()
    model = await asyncio.to_thread(load_turn_model)
    rendered = await render_cases(cases, PiperTextToSpeech(varied=False))
    figures = await asyncio.to_thread(evaluate, rendered, model)
    kinds = Counter(case.kind.value for case in cases)
    return {
        "set": {
            "cases": len(cases),
            **{kind.value: kinds[kind.value] for kind in CaseKind},
            "noise_dbfs": NOISE_DBFS,
            "seed": SEED,
        },
        **figures,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _silence(seconds: float) -> NDArray[np.int16]:
    return np.zeros(round(seconds * TELEPHONY_SAMPLE_RATE), dtype=np.int16)


def _seconds(pieces: Sequence[NDArray[np.int16]]) -> float:
    return sum(piece.size for piece in pieces) / TELEPHONY_SAMPLE_RATE
