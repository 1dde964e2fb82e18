"""Call scripts: each kind of line, and the errors that name the bad line."""

import numpy as np
import pytest

from frontdesk.caller.media_client import Recording, noise_frames
from frontdesk.caller.script import BargeIn, Dtmf, Hangup, Say, ScriptError, Silence, parse_script


def test_every_kind_of_line() -> None:
    script = """
    # a booking, then a human
    Hi, I'd like to book a cleaning: next week if possible
    barge_in: actually, Friday
    dtmf: 0
    silence: 12
    hangup
    """
    assert parse_script(script) == [
        Say("Hi, I'd like to book a cleaning: next week if possible"),  # a colon inside a line is speech
        BargeIn("actually, Friday"),
        Dtmf("0"),
        Silence(12.0),
        Hangup(),
    ]


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("dtmf: 12", "dtmf"),
        ("silence: soon", "silence"),
        ("silence: -1", "silence"),
        ("barge_in:", "barge_in"),
    ],
)
def test_malformed_lines_name_the_line(line: str, complaint: str) -> None:
    with pytest.raises(ScriptError, match=f"line 2: {complaint}"):
        parse_script(f"Hello\n{line}\n")


def test_noise_has_the_asked_level() -> None:
    frame = np.concatenate([noise_frames(-25.0)() for _ in range(100)])
    level_db = 20 * np.log10(np.sqrt(np.mean(frame**2)) / 32767)
    assert abs(level_db - -25.0) < 0.5
    with pytest.raises(ValueError, match="noise level"):
        noise_frames(6.0)


def test_a_recording_whose_line_closed_inside_a_tick_ends_the_short_side_in_silence() -> None:
    """The agent's frame of the last tick played, then the line closed before the caller's was sent."""
    loud = bytes([0x10]) * 160
    recording = Recording(caller=[loud], agent=[loud, loud])
    stereo = recording.stereo_pcm16().reshape(-1, 2)
    assert stereo.shape == (320, 2)
    assert np.all(stereo[160:, 0] == 0) and np.all(stereo[:160, 0] != 0) and np.all(stereo[:, 1] != 0)
