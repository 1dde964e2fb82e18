"""The spans of one call's agent speeches, while tracing is on (frontdesk.tracing).

A reply to a caller turn is a `media.turn` span, fixed words (the greeting, a prompt, a goodbye) a
`media.speech` span, children of the call's `media.call`. Each opens as its speech starts, dated
from the caller's end of speech, and its speech's task starts inside it, so the CallWorkflow
Updates its tools make are its children. It closes when the speech is over, with the turn's
timings (ms after the caller's end of speech, as the turn record keeps them: docs/turn-loop.md)
as attributes, each stage (`metrics.STAGES`) also an event at its moment, and how the speech
ended. Ids, timings and enum values only: never what was said.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from opentelemetry import trace
from opentelemetry.trace import Span

from frontdesk.realtime.metrics import STAGES
from frontdesk.realtime.turn.speech import AgentSpeech
from frontdesk.tracing import tracer


class SpeechEnd(StrEnum):
    """How a speech ended, on its span."""

    played = "played"  # to its last mark
    interrupted = "interrupted"  # cut at what the caller heard
    discarded = "discarded"  # never heard: a guess the real turn contradicted, a reply undone
    call_ended = "call_ended"  # the call ended under it

    @classmethod
    def of(cls, speech: AgentSpeech) -> "SpeechEnd":
        """How `speech`, no longer the loop's, ended (a discarded one is told apart by the loop)."""
        if speech.interrupted:
            return cls.interrupted
        return cls.played if speech.finished else cls.call_ended


class SpeechSpans:
    """The open spans of one call's speeches (see the module docstring)."""

    def __init__(self) -> None:
        self._tracer = tracer()
        self._open: dict[AgentSpeech, tuple[Span, int]] = {}  # each span and its start, ns since the epoch
        self._count = 0

    @contextmanager
    def around(self, speech: AgentSpeech, began: float, *, reply: bool) -> Iterator[None]:
        """`speech`'s span, current in the block, where the speech starts its task; `began`: the
        monotonic time its timings count from. Nothing when tracing is off."""
        start_ns = time.time_ns() - round((time.monotonic() - began) * 1e9)
        span = self._tracer.start_span(
            "media.turn" if reply else "media.speech",
            attributes={"frontdesk.turn.index": self._count},
            start_time=start_ns,
        )
        self._count += 1
        if not span.is_recording():
            yield
            return
        self._open[speech] = (span, start_ns)
        with trace.use_span(span, record_exception=False, set_status_on_exception=False):
            yield

    def close(self, speech: AgentSpeech, end: SpeechEnd) -> None:
        """End `speech`'s span with its timings, if it is still open."""
        opened = self._open.pop(speech, None)
        if opened is not None:
            self._end(speech, *opened, end)

    def close_all(self, end: SpeechEnd) -> None:
        """End every span still open (the call is over)."""
        for speech, (span, start_ns) in list(self._open.items()):
            self._end(speech, span, start_ns, end)
        self._open.clear()

    @staticmethod
    def _end(speech: AgentSpeech, span: Span, start_ns: int, end: SpeechEnd) -> None:
        timings = speech.timings
        span.set_attributes({f"frontdesk.timings.{name}": value for name, value in timings.items()})
        span.set_attribute("frontdesk.turn.end", end.value)
        for stage in STAGES:
            if stage in timings:
                span.add_event(stage, {"ms": timings[stage]}, start_ns + round(timings[stage] * 1e6))
        span.end()
