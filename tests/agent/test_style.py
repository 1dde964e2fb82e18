"""The speaking style enforced after generation: no filler openers reach speech."""

import pytest

from frontdesk.agent.style import FILLER_OPENERS, FillerFilter, could_be_filler, strip_filler


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


def test_a_reply_without_filler_is_released_as_soon_as_it_cannot_be_filler() -> None:
    stream = FillerFilter()
    assert stream.feed("I") == ""  # held: it might become "I'd be happy to help"
    assert stream.feed(" c") == "I c"  # "I c..." opens no filler: out at once, not after 36 characters
    assert stream.feed("an help.") == "an help."
    assert stream.flush() == ""


def test_a_short_reply_that_might_be_filler_is_released_whole_at_its_end() -> None:
    stream = FillerFilter()
    assert stream.feed("Sure") == ""  # held: all filler so far
    assert stream.feed(", I") == ""  # "Sure, I'd be happy to help" is filler still
    assert stream.feed("'ll book it.") == "I'll book it."


@pytest.mark.parametrize(
    ("text", "maybe"),
    [
        ("", True),
        ("Cert", True),
        ("Of course! Happy to help with th", True),
        ("Sure th", True),  # "sure thing"
        ("Surely", False),  # "sure", but no word boundary after it
        ("Yes.", False),
        ("Great question. We", False),
        ("I'd be happy to help you", False),
    ],
)
def test_could_be_filler(text: str, maybe: bool) -> None:
    assert could_be_filler(text) is maybe
