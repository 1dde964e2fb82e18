"""The agent's voice in one call: a clause's audio, from the process's phrase cache for fixed
words (greeting, prompts, ready phrases) or streamed from the clinic's text-to-speech."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from frontdesk.realtime.speech.base import TextToSpeech

PhraseAudio = Callable[[str], Awaitable[list[bytes]]]


class CallVoice:
    """Speaks clauses in the clinic's voice."""

    def __init__(self, tts: TextToSpeech, phrases: PhraseAudio) -> None:
        """`phrases(text)` is the cached audio of a fixed phrase (rendered once per process)."""
        self._tts = tts
        self._phrases = phrases

    async def audio_of(self, clause: str, cached: bool) -> AsyncIterator[bytes]:
        """A clause's mu-law 8 kHz audio; closing the stream early stops its synthesis."""
        if cached:
            for chunk in await self._phrases(clause):
                yield chunk
            return
        async with contextlib.aclosing(self._tts.synthesize(clause)) as audio:
            async for chunk in audio:
                yield chunk
