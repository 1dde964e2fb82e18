"""Prometheus metrics of the turn loop: each stage of a turn, in seconds."""

from prometheus_client import Counter, Histogram

_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0)

TURN_STAGE_SECONDS = Histogram(
    "frontdesk_turn_stage_seconds",
    "Time from the caller's end of speech to each stage of the agent's answer.",
    ["stage"],
    buckets=_BUCKETS,
)
VOICE_TO_VOICE_SECONDS = Histogram(
    "frontdesk_voice_to_voice_seconds",
    "Caller stopped speaking -> first agent audio frame sent.",
    buckets=_BUCKETS,
)
BARGE_INS = Counter("frontdesk_barge_ins_total", "Caller speech that interrupted the agent.")
BACKCHANNELS = Counter("frontdesk_backchannels_total", "Caller acknowledgements that did not interrupt.")
FALSE_INTERRUPTIONS = Counter(
    "frontdesk_false_interruptions_total", "Speech over the agent that paused it and was no interruption."
)
REPROMPTS = Counter("frontdesk_reprompts_total", "Low-confidence transcripts the agent asked to repeat.")
CALLS = Counter("frontdesk_media_calls_total", "Media streams handled, by how they ended.", ["end"])
CALLS_WITHOUT_WORKFLOW = Counter(
    "frontdesk_calls_without_workflow_total",
    "Calls served on the database alone because Temporal did not answer at their start.",
)
CALL_UPDATE_SECONDS = Histogram(
    "frontdesk_call_update_seconds",
    "Round trip of a CallWorkflow Update from the media server (a booking, a transfer...).",
    ["update"],
    buckets=_BUCKETS,
)

FRAMES_SENT = Counter("frontdesk_media_frames_sent_total", "Agent audio frames sent to the carrier.")
FRAMES_LATE = Counter(
    "frontdesk_media_frames_late_total",
    "Agent audio frames sent more than one frame (20 ms) behind their schedule.",
)

PREEMPTIVE = Counter(
    "frontdesk_preemptive_replies_total",
    "Replies started on a guess of the caller's words: kept (the words were the same) or discarded.",
    ["result"],
)

TURNS_JOINED = Counter(
    "frontdesk_caller_turns_joined_total",
    "Caller turns answered together with the one before, whose reply the caller had not heard yet.",
)

STAGES = (
    "end_of_turn",
    "stt_final",
    "turn_ready",
    "llm_first_token",
    "first_sentence",
    "tts_first_audio",
    "first_frame_sent",
)


def observe_turn(timings_ms: dict[str, float]) -> None:
    """Record one turn's stage timings (milliseconds after the caller's end of speech)."""
    for stage in STAGES:
        if stage in timings_ms:
            TURN_STAGE_SECONDS.labels(stage=stage).observe(timings_ms[stage] / 1000)
    if "first_frame_sent" in timings_ms:
        VOICE_TO_VOICE_SECONDS.observe(timings_ms["first_frame_sent"] / 1000)
