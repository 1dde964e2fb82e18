"""The speaking style enforced after generation: no filler openers reach speech."""

import pytest

from frontdesk.agent.style import FILLER_OPENERS, FillerFilter, strip_filler


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("Certainly! I can help with that.", "I can help with that."),
        ("Absolutely, great question. We open at 8.", "We open at 8."),
        ("Sure thing — what day works?", "What day works?"),
        ("Of course! Happy to help with that. Which service?", "Which service?"),
        ("Surely you jest.", "Surely you jest."),  # a word that only starts like a filler
        ("I can certainly help.", "I can certainly help."),  # filler words mid-sentence stay
        ("Perfectly fine.", "Perfectly fine."),
    ],
)
def test_strip_filler(written: str, spoken: str) -> None:
    assert strip_filler(written) == spoken


@pytest.mark.parametrize("opener", FILLER_OPENERS)
def test_every_filler_opener_is_stripped_from_a_stream(opener: str) -> None:
    text = f"{opener.title()}! Your appointment is on Tuesday."
    stream = FillerFilter()
    pieces = [stream.feed(text[i : i + 3]) for i in range(0, len(text), 3)]
    assert "".join(pieces) + stream.flush() == "Your appointment is on Tuesday."


def test_a_short_reply_without_filler_is_released_whole() -> None:
    stream = FillerFilter()
    assert stream.feed("Yes.") == ""  # held: it might have been the start of a filler
    assert stream.flush() == "Yes."
