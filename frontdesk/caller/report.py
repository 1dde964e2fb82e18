"""Showing a finished call: a rich table of its turns, a JSON document, a stereo wav."""

import dataclasses
import json
import wave
from pathlib import Path

from rich.console import Console
from rich.table import Table

from frontdesk.caller.conversation import CallResult
from frontdesk.caller.media_client import Recording
from frontdesk.realtime.audio.codec import TELEPHONY_SAMPLE_RATE


def result_json(result: CallResult) -> str:
    """The call result as one JSON object."""
    return json.dumps(dataclasses.asdict(result), indent=2)


def print_result(result: CallResult, console: Console) -> None:
    """The conversation, turn by turn, with per-turn latency (the agent's words are on the server)."""
    for line in result.said_by_carrier:
        console.print(f"[bold]carrier says:[/] {line}")
    table = Table(title=f"call {result.call_sid} to {result.to}: {result.outcome}")
    for column in ("step", "caller", "latency", "agent audio", "cleared"):
        table.add_column(column)
    for turn in result.turns:
        latency = (
            f"{turn.latency_ms:.0f} ms" if turn.latency_ms is not None else (turn.unmeasured or "no reply")
        )
        table.add_row(
            turn.kind,
            turn.text or "-",
            latency if turn.kind != "silence" else "-",
            f"{turn.agent_seconds:.1f} s",
            "yes" if turn.cleared else "",
        )
    console.print(table)
    console.print(f"{result.seconds:.1f} s, {result.marks_echoed} marks echoed, {result.clears} clears")


def write_wav(recording: Recording, path: Path) -> None:
    """Both sides of the call as a stereo 8 kHz PCM16 wav: caller left, agent right."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(TELEPHONY_SAMPLE_RATE)
        wav.writeframes(recording.stereo_pcm16().astype("<i2").tobytes())
