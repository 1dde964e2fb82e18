"""Barge-in latency as the caller's recording shows it."""

import numpy as np

from frontdesk.bench.load import barge_in_ms
from frontdesk.caller.conversation import CallResult, TurnResult
from frontdesk.caller.media_client import SILENT_FRAME, Recording
from frontdesk.realtime.audio.codec import mulaw_encode, split_mulaw_frames

TONE = split_mulaw_frames(mulaw_encode((4000 * np.sin(np.arange(160) / 3)).astype(np.int16)))[0]


def call(cleared: bool, agent: list[bytes], caller: list[bytes]) -> tuple[CallResult, Recording]:
    result = CallResult("CA" + "0" * 32, "+15550100000")
    result.turns = [TurnResult("greeting"), TurnResult("say"), TurnResult("barge_in", cleared=cleared)]
    return result, Recording(caller=caller, agent=agent)


def lines(*spans: tuple[int, int], ticks: int) -> list[bytes]:
    return [TONE if any(a <= tick < b for a, b in spans) else SILENT_FRAME for tick in range(ticks)]


def test_the_cut_is_where_the_agent_goes_quiet_for_the_rest_of_the_line_not_at_an_earlier_gap() -> None:
    caller = lines((10, 40), (100, 160), ticks=200)  # the first line, then the barge-in line from tick 100
    agent = lines((50, 105), (108, 127), ticks=200)  # a 3-tick gap in the agent's audio, then the cut at 127
    assert barge_in_ms(*call(True, agent, caller)) == (127 - 100) * 20


def test_no_clear_or_no_agent_speech_gives_no_figure() -> None:
    caller = lines((10, 40), (100, 160), ticks=200)
    assert barge_in_ms(*call(False, lines((50, 127), ticks=200), caller)) is None
    assert barge_in_ms(*call(True, lines((50, 90), ticks=200), caller)) is None
