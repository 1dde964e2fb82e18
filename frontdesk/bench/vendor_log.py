"""What the vendor fakes did, request by request: when it arrived, what delay was injected and when
the answer went out (monotonic seconds, one clock for every process on the machine), so the
benchmark can subtract vendor time from what the platform measured."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SttFinal:
    """One utterance the fake STT transcribed."""

    connection: int  # the STT connection's number (the call's tag)
    index: int  # the utterance's position on its connection (= the caller line)
    speech_end_at: float  # when the utterance's last speech frame arrived
    sent_at: float  # when its final transcript was sent
    drawn_ms: float  # the profile's delay drawn for it
    finalize_at: float | None = None  # when the Finalize it answered arrived (None: endpointed)

    @property
    def vendor_ms(self) -> float:
        """End of speech -> final transcript, as the vendor took it (at least the end detection)."""
        return (self.sent_at - self.speech_end_at) * 1000


@dataclass(frozen=True)
class LlmMessage:
    """One streamed message of the fake LLM."""

    tag: int | None  # the call's tag, from its first transcript
    line: int | None  # the caller line it answers (None: a continuation after tool results)
    arrived_at: float
    drawn_ms: float  # first-token delay drawn
    tokens: tuple[tuple[str, float], ...]  # its text, token by token, with when each was sent
    ended_at: float  # when its last event was sent
    tools: int = 0  # how many tool calls it ended with
    summary: bool = False  # a post-call summary, not a turn of the call
    first_tool: tuple[str, float] | None = None  # its first tool call's name, and when its block began


@dataclass(frozen=True)
class Synthesis:
    """One text-to-speech request of the fake TTS."""

    text: str
    arrived_at: float
    drawn_ms: float
    first_chunk_at: float

    @property
    def vendor_ms(self) -> float:
        """Request -> first audio chunk sent."""
        return (self.first_chunk_at - self.arrived_at) * 1000


@dataclass
class VendorLog:
    """Everything the fakes recorded during a run (appended to from the fakes' event loop)."""

    stt: list[SttFinal] = field(default_factory=list)
    llm: list[LlmMessage] = field(default_factory=list)
    tts: list[Synthesis] = field(default_factory=list)

    def clear(self) -> None:
        """Forget every record (between the steps of a capacity search)."""
        self.stt.clear()
        self.llm.clear()
        self.tts.clear()
