"""Who picked up an outbound call: only an explicit answer counts as the patient."""

import pytest

from frontdesk.agent.understanding.answering import Answerer, who_answered
from frontdesk.agent.understanding.intents import opt_out_channel


@pytest.mark.parametrize(
    ("utterance", "expected"),
    [
        ("Speaking.", Answerer.patient),
        ("Yes, this is she.", Answerer.patient),
        ("Hi, this is Maria.", Answerer.patient),
        ("Maria speaking", Answerer.patient),
        ("yeah it's me", Answerer.patient),
        ("Yes?", Answerer.patient),
        ("Sorry, wrong number.", Answerer.wrong_number),
        ("There's no Maria here.", Answerer.wrong_number),
        ("Nobody by that name lives here", Answerer.wrong_number),
        ("No, she's at work.", Answerer.someone_else),
        ("She isn't home right now", Answerer.someone_else),
        ("This is her husband.", Answerer.someone_else),
        ("Yes, this is her mother, can I take a message?", Answerer.someone_else),
        ("Hang on, I'll get her.", Answerer.fetching),
        ("One moment please", Answerer.fetching),
        ("Who's calling?", Answerer.asks_why),
        ("What is this about?", Answerer.asks_why),
        ("She's in the shower right now, who's calling?", Answerer.someone_else),
        ("oh ok, she'll be a while. i'll have her call you back", Answerer.someone_else),
        ("yep, bye", Answerer.unclear),  # a goodbye: nothing about the call is said to it
        ("Hello?", Answerer.unclear),
        ("Mario?", Answerer.unclear),
    ],
)
def test_who_answered(utterance: str, expected: Answerer) -> None:
    assert who_answered(utterance, "Maria") == expected


def test_without_a_name_only_an_explicit_answer_is_the_patient() -> None:
    assert who_answered("Speaking", None) == Answerer.patient
    assert who_answered("this is Maria", None) == Answerer.unclear


@pytest.mark.parametrize(
    ("utterance", "channel"),
    [
        ("Please stop calling me", "calls"),
        ("stop", "calls"),
        ("Stop texting me", "sms"),
        ("no more text messages please", "sms"),
        ("Stop calling and texting me", "all"),
        ("unsubscribe me from everything", "all"),
    ],
)
def test_opt_out_channel(utterance: str, channel: str) -> None:
    assert opt_out_channel(utterance) == channel
