"""The turn loop's races, event by event: a scripted carrier, recognizer, voice and LLM around the
real call session, engine, tool runner, call actions and CallWorkflow (on the Temporal dev server).

Each test drives one race deterministically: the test decides when the caller speaks, when the
carrier has played the agent's audio, and when the LLM writes.
"""

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from sqlmodel import Session, select

from frontdesk.agent.actions import UNAVAILABLE
from frontdesk.agent.brains.base import Brain, TextDelta, ToolCallStarted
from frontdesk.agent.conversation import Message, ToolResultBlock, ToolUseBlock
from frontdesk.agent.engine import NOT_RUN
from frontdesk.agent.tool_runner import TOOL_FAILED
from frontdesk.config import Settings
from frontdesk.domain.insurance import Eligibility, EligibilityChecker, OfflineEligibility
from frontdesk.domain.models import Action, Clinic, TurnRole
from frontdesk.domain.seed import DEMO_NUMBER
from frontdesk.realtime.audio.codec import mulaw_encode
from frontdesk.realtime.call_services import CallServices, Vendors
from frontdesk.realtime.call_session import CallSession
from frontdesk.realtime.speech.base import TextToSpeech
from frontdesk.realtime.speech.chains import FallbackTextToSpeech
from frontdesk.realtime.transport import CallStarted
from frontdesk.realtime.turn.barge_in import RESUME_MAX_S
from frontdesk.realtime.turn.caller_turn import FINAL_WAIT_S
from frontdesk.realtime.turn.end_of_turn import END_OF_TURN_POLICIES
from frontdesk.realtime.turn.listening import REPROMPT
from frontdesk.realtime.turn.loop import TurnLoop
from frontdesk.realtime.turn.speech import AgentSpeech
from tests.realtime.call_worker import CallWorker, call_worker, temporal_env
from tests.realtime.scripted_parts import (
    MULAW_SILENCE,
    ScriptedBrain,
    ScriptedCarrier,
    ScriptedRecognizer,
    ScriptedRecognizerSession,
    ScriptedVoice,
    until,
)
from tests.realtime.test_voice_calls import open_all_day

__all__ = ["call_worker", "temporal_env"]

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

CALLER = "+15550199001"
LONG_REPLY = (
    "I can help you with that today. We have openings on Tuesday and Thursday mornings, "
    "and a few on Friday afternoon as well. Which of those days would suit you best?"
)


@dataclass
class LiveCall:
    """A call in progress: the scripted parts and the real session between them."""

    carrier: ScriptedCarrier
    recognizer: ScriptedRecognizerSession
    voice: ScriptedVoice
    session: CallSession
    task: asyncio.Task[None]

    @property
    def loop(self) -> TurnLoop:
        return self.session.loop

    def agent_turns(self) -> list[str]:
        return [t.text for t in self.loop.turns if t.role is TurnRole.agent]

    def caller_turns(self) -> list[str]:
        return [t.text for t in self.loop.turns if t.role is TurnRole.caller]

    def messages(self) -> list[Message]:
        return self.session.engine.conversation.messages

    async def speaking(self, text_start: str) -> AgentSpeech:
        """The speech now going out that begins with `text_start`, once some of its audio is out."""
        await until(
            lambda: (
                (speech := self.loop.current) is not None
                and speech.turn.text.startswith(text_start)
                and speech.audible
            ),
            f"the agent saying {text_start!r}",
        )
        speech = self.loop.current
        assert speech is not None
        return speech

    async def played_through(self) -> None:
        """The carrier plays everything the agent says until it is quiet."""

        def quiet() -> bool:
            self.carrier.play_out()
            return self.loop.current is None

        await until(quiet, "the agent to finish speaking")

    async def ended(self) -> None:
        await asyncio.wait_for(self.task, 30)


@pytest.fixture
async def place_call(
    database_url: str, demo_clinic: Clinic, call_worker: CallWorker
) -> AsyncIterator[Callable[..., "asyncio.Future[LiveCall]"]]:
    """Place calls into the real session with scripted parts; every call is over after the test."""
    calls: list[LiveCall] = []

    async def place(
        llm: Brain | None = None,
        voice: TextToSpeech | None = None,
        task_queue: str | None = None,
        eligibility: EligibilityChecker | None = None,
        update_deadline: float = 1.0,
        turn_model: bool = False,
        streaming_recognizer: bool = False,
    ) -> LiveCall:
        """`turn_model`: the end-of-turn rule ends the caller's turns (the test sends audio);
        by default the recognizer's end of speech does, as the test scripts it.
        `streaming_recognizer`: the recognizer is asked for its words at every pause, as Deepgram
        is; by default once the pause is judged, as the Whisper twin is."""
        settings = Settings(
            database_url=database_url,
            temporal_address=call_worker.address,
            temporal_task_queue=task_queue or call_worker.task_queue,
            call_idle_seconds=60.0,
            call_update_deadline_seconds=update_deadline,
            end_of_turn_model=turn_model,
        )
        recognizer, scripted = ScriptedRecognizer(streaming_recognizer), ScriptedVoice()
        vendors = Vendors(
            speech_to_text=lambda _silence: recognizer,
            text_to_speech=lambda _voice: voice or scripted,
            llm=llm,
            eligibility=eligibility or OfflineEligibility(),
        )
        services = await CallServices.create(settings, vendors=vendors)
        start = CallStarted(
            call_sid=f"CA{uuid.uuid4().hex}", stream_sid="MZ1", caller=CALLER, called=DEMO_NUMBER
        )
        carrier = ScriptedCarrier(start)
        session = CallSession(carrier, services)
        task = asyncio.create_task(session.run())
        await until(lambda: recognizer.sessions and hasattr(session, "loop"), "the call to start")
        call = LiveCall(carrier, recognizer.sessions[0], scripted, session, task)
        calls.append(call)
        return call

    yield place  # type: ignore[misc]
    for call in calls:
        if not call.task.done():
            call.carrier.hang_up()
        await asyncio.wait_for(asyncio.gather(call.task, return_exceptions=True), 30)


def backchannels_so_far() -> float:
    return REGISTRY.get_sample_value("frontdesk_backchannels_total") or 0.0


async def greeted(call: LiveCall) -> None:
    await call.speaking("Thank you for calling")
    await call.played_through()


def well_formed(messages: list[Message]) -> None:
    """Every tool call has its result, roles alternate, no message is empty."""
    uses = [b.id for m in messages for b in m.content if isinstance(b, ToolUseBlock)]
    results = [b.tool_use_id for m in messages for b in m.content if isinstance(b, ToolResultBlock)]
    assert uses == results
    assert all(m.content for m in messages)
    assert all(a.role != b.role for a, b in itertools.pairwise(messages))


async def test_a_final_transcript_while_the_agent_speaks_is_answered(place_call) -> None:
    brain = ScriptedBrain([TextDelta(LONG_REPLY)], [TextDelta("Alright, what else can I do for you?")])
    call = await place_call(llm=brain)
    await greeted(call)
    call.recognizer.says("Hi, I'd like to book a cleaning.")
    speech = await call.speaking("I can help")
    await until(lambda: len(call.carrier.unplayed) >= 4, "two clauses of the reply sent")
    call.carrier.play_out(2)  # the caller heard the first clause (two chunks)
    call.recognizer.says("No.")  # short: over before sustained speech could interrupt

    await call.speaking("Alright, what else")
    assert speech.interrupted and call.carrier.clears == 1
    assert speech.turn.heard_text == "I can help you with that today."
    assert call.caller_turns()[-1] == "No."
    await call.played_through()
    assert call.agent_turns()[-1] == "Alright, what else can I do for you?"
    # The engine remembers the interrupted reply as it was heard, then the answer.
    texts = [(m.role, m.text) for m in call.messages()[-3:]]
    assert texts == [
        ("assistant", "I can help you with that today."),
        ("user", "No."),
        ("assistant", "Alright, what else can I do for you?"),
    ]
    well_formed(call.messages())


async def test_two_barge_ins_in_a_row(place_call) -> None:
    brain = ScriptedBrain(
        [TextDelta(LONG_REPLY)],
        [TextDelta("Take your time, there is no rush. " + LONG_REPLY)],
        [TextDelta("Go ahead, I am listening.")],
    )
    call = await place_call(llm=brain)
    await greeted(call)
    call.recognizer.says("I'd like an appointment.")
    first = await call.speaking("I can help")
    call.recognizer.says("Actually wait a second.")
    second = await call.speaking("Take your time")
    call.carrier.play_out(2)  # its first sentence, in two chunks
    call.recognizer.says("Sorry, one more thing.")
    await call.speaking("Go ahead")
    await call.played_through()

    assert first.interrupted and second.interrupted and call.carrier.clears == 2
    assert first.turn.heard_text == "" and second.turn.heard_text == "Take your time, there is no rush."
    assert call.agent_turns()[-1] == "Go ahead, I am listening."
    assert [m.text for m in call.messages() if m.role == "assistant"][-2:] == [
        "Take your time, there is no rush.",
        "Go ahead, I am listening.",
    ]
    well_formed(call.messages())


async def test_dtmf_zero_during_the_greeting_reaches_a_human(
    place_call, engine: Engine, demo_clinic: Clinic
) -> None:
    open_all_day(engine, demo_clinic)
    call = await place_call()  # the deterministic brain
    greeting = await call.speaking("Thank you for calling")
    call.carrier.press("0")
    await until(lambda: greeting.interrupted, "the greeting to stop")
    await until(lambda: call.carrier.ended is not None or (call.carrier.play_out() or False), "the hand-off")
    await call.ended()

    assert call.carrier.clears == 1
    assert call.carrier.ended == "transfer +15550100001"
    assert call.caller_turns() == ["(pressed 0)"]
    with Session(engine) as session:
        transfer = session.exec(select(Action).where(Action.kind == "transfer_to_human")).one()
    assert transfer.payload == {"reason": "caller_request", "number": "+15550100001"}


async def test_a_low_confidence_final_while_the_agent_speaks_gets_one_reprompt(place_call) -> None:
    call = await place_call(llm=ScriptedBrain([TextDelta(LONG_REPLY)]))
    await greeted(call)
    call.recognizer.says("I'd like an appointment.")
    reply = await call.speaking("I can help")
    call.recognizer.says("mumble grumble", confidence=0.2)
    reprompt = await call.speaking(REPROMPT[:20])
    sent_by_reply = reply.turn.text
    await call.played_through()

    assert reply.interrupted and call.carrier.clears == 1
    assert reply.turn.text == sent_by_reply  # nothing of the reply went out after the reprompt began
    assert call.agent_turns().count(REPROMPT) == 1 and reprompt.turn.heard_text == REPROMPT
    assert call.loop.turns[-2].role is TurnRole.caller and call.loop.turns[-2].timings == {"confidence": 0.2}


async def test_yes_at_the_end_of_a_question_is_an_answer(place_call) -> None:
    question = "Just to confirm, that is Tuesday at 9 with Dr. Patel. Is that right?"
    call = await place_call(llm=ScriptedBrain([TextDelta(question)], [TextDelta("You're all set then.")]))
    await greeted(call)
    call.recognizer.says("Tuesday at 9 please.")
    speech = await call.speaking("Just to confirm")
    await until(lambda: not speech.position().writing, "the question to be written")
    call.carrier.play_out(len(call.carrier.unplayed) - 1)  # the last chunk, under a second, still playing
    call.recognizer.says("yes")

    await call.speaking("You're all set")
    assert speech.interrupted
    assert call.caller_turns()[-1] == "yes"


async def test_yeah_in_the_middle_of_a_sentence_is_a_backchannel(place_call) -> None:
    call = await place_call(llm=ScriptedBrain([TextDelta(LONG_REPLY)]))
    await greeted(call)
    call.recognizer.says("I'd like an appointment.")
    speech = await call.speaking("I can help")
    await until(lambda: not speech.position().writing, "the reply to be written")
    call.carrier.play_out(1)
    backchannels = backchannels_so_far()
    call.recognizer.says("yeah")
    call.recognizer.says("mm-hmm")
    await until(lambda: backchannels_so_far() == backchannels + 1, "the backchannel to be heard")
    await call.played_through()

    assert not speech.interrupted and call.carrier.clears == 0
    assert speech.turn.heard_text == speech.turn.text == LONG_REPLY
    assert call.caller_turns() == ["I'd like an appointment."]


async def test_the_voice_failing_mid_reply_falls_back_within_the_turn(place_call) -> None:
    primary, fallback = ScriptedVoice(), ScriptedVoice()
    chain = FallbackTextToSpeech([primary, fallback])
    call = await place_call(
        llm=ScriptedBrain([TextDelta(LONG_REPLY)], [TextDelta("You are welcome.")]), voice=chain
    )
    await greeted(call)
    primary.failing = True  # the vendor dies between the greeting and the reply
    call.recognizer.says("I'd like an appointment.")
    speech = await call.speaking("I can help")
    await call.played_through()

    assert speech.turn.heard_text == LONG_REPLY  # every clause was heard, in the fallback's voice
    assert " ".join(fallback.spoken) == LONG_REPLY
    call.recognizer.says("Thanks.")
    await call.speaking("You are welcome")  # the call goes on


async def test_hanging_up_mid_reply_leaves_nothing_running(place_call) -> None:
    hold = asyncio.Event()
    hold.set()
    voice = ScriptedVoice(hold=hold)
    before = asyncio.all_tasks()
    call = await place_call(llm=ScriptedBrain([TextDelta(LONG_REPLY)]), voice=voice)
    await greeted(call)
    hold.clear()  # the next clause is still being synthesized when the caller hangs up
    call.recognizer.says("I'd like an appointment.")
    await until(lambda: voice.open_streams == 1, "a synthesis in progress")
    call.carrier.hang_up()
    await call.ended()

    assert voice.open_streams == 0 and call.recognizer.closed
    ours = {t for t in asyncio.all_tasks() - before if "/frontdesk/" in t.get_coro().cr_code.co_filename}
    assert ours == set()
    row_turns = [t for t in call.loop.turns if t.role is TurnRole.agent]
    assert row_turns[-1].heard_text == ""


async def test_sustained_speech_pauses_the_agent_before_any_words_and_the_words_interrupt(
    place_call, speak
) -> None:
    call = await place_call(llm=ScriptedBrain([TextDelta(LONG_REPLY)], [TextDelta("Thank you, John.")]))
    await greeted(call)
    call.recognizer.says("I'd like an appointment.")
    speech = await call.speaking("I can help")
    call.recognizer.speech_started()
    call.carrier.send_audio(mulaw_encode(await speak("My name is John Smith, born June 14th, 1975.")))
    await until(lambda: speech.paused, "sustained speech to pause the agent")
    assert call.carrier.clears == 1 and not speech.interrupted and not call.loop.agent_audible
    call.recognizer.interim("My name is John")
    await until(lambda: speech.interrupted and speech.finished, "the words to interrupt the agent")
    assert speech.turn.heard_text == "" and call.carrier.clears == 1  # the carrier was cleared once
    call.recognizer.final("My name is John Smith, born June 14th, 1975.")
    await call.speaking("Thank you, John")


async def test_speech_over_the_agent_with_no_words_resumes_the_clause_it_cut(place_call, speak) -> None:
    """A cough: the agent stops at once and, when the caller is quiet again with no words, says
    the clause the caller did not hear in full again, then the rest."""
    call = await place_call(llm=ScriptedBrain([TextDelta(LONG_REPLY)]))
    await greeted(call)
    resumed = REGISTRY.get_sample_value("frontdesk_false_interruptions_total") or 0.0
    call.recognizer.says("I'd like an appointment.")
    speech = await call.speaking("I can help")
    await until(lambda: len(call.carrier.unplayed) >= 4, "two clauses of the reply sent")
    call.carrier.play_out(3)  # the first clause heard, the second cut after its first chunk
    call.recognizer.speech_started()
    call.carrier.send_audio(mulaw_encode(await speak("My name is John Smith.")))  # no words come
    await until(lambda: speech.paused, "the sound over the agent to pause it")
    sent = len(call.carrier.played)
    call.recognizer.utterance_end()  # quiet again, and nothing was recognized

    await until(lambda: not speech.paused, "the agent to resume", within=RESUME_MAX_S + 20)
    assert (REGISTRY.get_sample_value("frontdesk_false_interruptions_total") or 0.0) == resumed + 1
    await call.played_through()
    assert not speech.interrupted and call.carrier.clears == 1
    assert speech.turn.heard_text == LONG_REPLY
    # The second clause went out again whole (two chunks) before the rest.
    assert len(call.carrier.played) - sent >= 2 + 2 * (len(speech.clauses) - 2)
    assert call.caller_turns() == ["I'd like an appointment."]


async def test_a_backchannel_over_the_agent_resumes_it(place_call, speak) -> None:
    call = await place_call(llm=ScriptedBrain([TextDelta(LONG_REPLY)]))
    await greeted(call)
    call.recognizer.says("I'd like an appointment.")
    speech = await call.speaking("I can help")
    await until(lambda: len(call.carrier.unplayed) >= 4, "two clauses of the reply sent")
    call.carrier.play_out(2)  # the first clause heard
    call.recognizer.speech_started()
    call.carrier.send_audio(mulaw_encode(await speak("Yeah, okay, I see.")))
    await until(lambda: speech.paused, "the sound over the agent to pause it")
    call.recognizer.final("Yeah, okay.")  # in the middle of the agent's sentence: a backchannel

    await until(lambda: not speech.paused, "the agent to resume")
    await call.played_through()
    assert not speech.interrupted and speech.turn.heard_text == LONG_REPLY
    assert call.caller_turns() == ["I'd like an appointment."]


NOBODY_POLLS = "a task queue no worker polls"


async def test_a_barge_in_during_a_tool_round_runs_no_more_of_its_tools(
    place_call, engine: Engine, demo_clinic: Clinic
) -> None:
    """The CallWorkflow's worker is away, so the round's search waits on its Update when the caller
    speaks: it finishes (the database takes over at the deadline), the round's next tool never
    runs, and the caller's new words are answered."""
    week = [(datetime.now(UTC) + timedelta(days=d)).date().isoformat() for d in (7, 14)]
    search = {"service": "cleaning", "date_from": week[0], "date_to": week[1]}
    brain = ScriptedBrain(
        [
            TextDelta("Let me check our schedule for you. "),
            ToolUseBlock(id="toolu_search", name="get_availability", input=search),
            ToolUseBlock(id="toolu_message", name="take_message", input={"reason": "wants a cleaning"}),
        ],
        [TextDelta("Let me get someone for you right away.")],
    )
    # The caller has three seconds to speak while the search waits: plenty, even on a busy machine.
    call = await place_call(llm=brain, task_queue=f"{NOBODY_POLLS} {uuid.uuid4().hex}", update_deadline=3.0)
    await greeted(call)
    call.recognizer.says("I'd like a cleaning in a week or two.")
    await call.speaking("Let me check our schedule")
    tool_calls = lambda: [b for m in call.messages() for b in m.content if isinstance(b, ToolUseBlock)]  # noqa: E731
    await until(lambda: len(tool_calls()) == 2, "the tool round to begin")  # its search waits on an Update
    call.carrier.play_out()
    call.recognizer.says("Actually, can I talk to someone?")
    await call.speaking("Let me get someone")

    results = {b.tool_use_id: b for m in call.messages() for b in m.content if isinstance(b, ToolResultBlock)}
    assert "slots" in results["toolu_search"].content  # it ran to its end
    assert results["toolu_message"].content == NOT_RUN
    well_formed(call.messages())
    with Session(engine) as session:
        assert session.exec(select(Action).where(Action.kind == "take_message")).all() == []


async def test_an_unanswered_update_gets_an_apology_and_the_call_goes_on(
    place_call, engine: Engine, demo_clinic: Clinic
) -> None:
    message = {"reason": "Please call back about my bill."}
    brain = ScriptedBrain(
        [ToolUseBlock(id="toolu_1", name="take_message", input=message)],
        [
            TextDelta("I'm sorry, our system was slow just now. Let me try that again. "),
            ToolUseBlock(id="toolu_2", name="take_message", input=message),
        ],
        [TextDelta("Your message is saved, and the team will call you back.")],
    )
    call = await place_call(llm=brain, task_queue=f"{NOBODY_POLLS} {uuid.uuid4().hex}")
    await greeted(call)
    call.recognizer.says("Can you have someone call me back about my bill?")
    reply = await call.speaking("One moment.")  # the reply begins with a tool call
    await call.played_through()
    assert reply.turn.heard_text.startswith("One moment. I'm sorry, our system was slow")
    assert reply.turn.heard_text.endswith("Your message is saved, and the team will call you back.")

    first, second = (b for m in call.messages() for b in m.content if isinstance(b, ToolResultBlock))
    assert first.is_error and first.content == UNAVAILABLE
    assert not second.is_error
    with Session(engine) as session:  # the retry went straight to the database
        [saved] = session.exec(select(Action).where(Action.kind == "take_message")).all()
    assert saved.payload["reason"].startswith(message["reason"])


class ClearinghouseDown:
    """An insurance eligibility vendor that cannot be reached."""

    def check(self, accepted: list[str], carrier: str, member_id: str | None) -> Eligibility:
        raise ConnectionError("eligibility vendor unreachable")


async def test_a_tool_that_fails_gets_an_error_result_and_the_call_goes_on(place_call) -> None:
    brain = ScriptedBrain(
        [ToolUseBlock(id="toolu_check", name="verify_insurance", input={"carrier": "Delta Dental"})],
        [TextDelta("I'm sorry, I couldn't reach the insurance system just now.")],
        [TextDelta("You're welcome, goodbye!")],
    )
    call = await place_call(llm=brain, eligibility=ClearinghouseDown())
    await greeted(call)
    call.recognizer.says("Do you take Delta Dental?")
    reply = await call.speaking("Let me check.")  # the reply begins with a tool call
    await call.played_through()
    assert reply.turn.heard_text == "Let me check. I'm sorry, I couldn't reach the insurance system just now."
    [result] = [b for m in call.messages() for b in m.content if isinstance(b, ToolResultBlock)]
    assert result.is_error and result.content == TOOL_FAILED
    call.recognizer.says("Okay, thanks anyway.")
    await call.speaking("You're welcome")
    well_formed(call.messages())


async def test_a_reply_beginning_with_a_tool_call_is_heard_at_once_from_the_phrase_cache(place_call) -> None:
    arguments_written = asyncio.Event()
    brain = ScriptedBrain(
        [
            ToolCallStarted("verify_insurance"),
            arguments_written.wait,  # Claude still streams the call's arguments
            ToolUseBlock(id="toolu_check", name="verify_insurance", input={"carrier": "Delta Dental"}),
        ],
        [TextDelta("Yes, we accept Delta Dental.")],
    )
    call = await place_call(llm=brain)
    await greeted(call)
    call.recognizer.says("Do you take Delta Dental?")
    reply = await call.speaking("Let me check.")
    # Rendered once when the clinic was prepared, played from the cache: no synthesis on the way.
    assert call.voice.spoken.count("Let me check.") == 1
    assert call.messages()[-1].role == "user"  # the message with the call is still being written
    arguments_written.set()
    await call.played_through()
    assert reply.turn.heard_text == "Let me check. Yes, we accept Delta Dental."
    well_formed(call.messages())


async def test_an_opener_the_model_writes_is_heard_from_the_phrase_cache_while_the_rest_is_written(
    place_call,
) -> None:
    rest_written = asyncio.Event()
    brain = ScriptedBrain([TextDelta("You're welcome."), rest_written.wait, TextDelta(" Goodbye!")])
    call = await place_call(llm=brain)
    await greeted(call)
    call.recognizer.says("That's all, thanks.")
    reply = await call.speaking("You're welcome.")
    # Rendered when the clinic was prepared, played from the cache: no synthesis on the way.
    assert call.voice.spoken.count("You're welcome.") == 1
    rest_written.set()
    await call.played_through()
    assert reply.turn.heard_text == "You're welcome. Goodbye!"
    assert call.voice.spoken.count("You're welcome.") == 1 and "Goodbye!" in call.voice.spoken


# -- the end-of-turn rule (Smart Turn v3 on the caller's audio) ends the caller's turns ----------

# Past the silence after which the rule asks the model (300 ms), short of its long silence: only
# the model's judgement can end a turn here (no more frames come, so no silence runs out).
SHORT_SILENCE = MULAW_SILENCE * 25  # 500 ms


async def said(call: LiveCall, speak, text: str, finalized: int) -> None:
    """The caller says `text` and stops; at the pause the call asks the recognizer for its words
    (the `finalized`-th time) and the model judges the turn."""
    call.carrier.send_audio(mulaw_encode(await speak(text)) + SHORT_SILENCE)
    await until(lambda: call.recognizer.finalized == finalized, f"the pause after {text!r}")


async def test_the_model_ends_a_finished_turn_and_the_words_then_answer_it(place_call, speak) -> None:
    call = await place_call(llm=ScriptedBrain([TextDelta("You're all set then.")]), turn_model=True)
    await greeted(call)
    await said(call, speak, "Yes.", finalized=1)
    assert call.caller_turns() == []  # decided: waiting for the words it asked for
    call.recognizer.final("Yes.")

    await call.speaking("You're all set")
    assert call.caller_turns() == ["Yes."]
    timings = call.loop.turns[-1].timings
    assert timings["end_of_turn_probability"] >= 0.5
    assert timings["end_of_turn"] <= timings["turn_ready"]


async def test_words_that_sound_unfinished_hold_a_turn_the_model_heard_finished(place_call, speak) -> None:
    """Piper says "My date of birth is" with a sentence's falling end: the model hears it finished,
    the words do not, and the caller's next words join the same turn."""
    call = await place_call(llm=ScriptedBrain([TextDelta("Thank you, that is noted.")]), turn_model=True)
    await greeted(call)
    await said(call, speak, "My date of birth is", finalized=1)
    call.recognizer.final("My date of birth is")
    call.recognizer.speech_started()  # the caller goes on, within the hold
    await said(call, speak, "March third, 1980.", finalized=2)
    call.recognizer.final("March third, 1980.")

    await call.speaking("Thank you")
    assert call.caller_turns() == ["My date of birth is March third, 1980."]


async def test_the_hold_for_unfinished_words_ends_after_the_long_silence(place_call, speak) -> None:
    call = await place_call(llm=ScriptedBrain([TextDelta("Your date of birth, you said?")]), turn_model=True)
    await greeted(call)
    await said(call, speak, "My date of birth is", finalized=1)
    call.recognizer.final("My date of birth is")

    await call.speaking("Your date of birth")
    assert call.caller_turns() == ["My date of birth is"]
    policy = END_OF_TURN_POLICIES[call.session.profile.end_of_turn_profile]
    assert call.loop.turns[-1].timings["turn_ready"] >= policy.incomplete_silence_ms


async def test_a_short_no_over_the_agent_is_answered_when_the_model_ends_it(place_call, speak) -> None:
    brain = ScriptedBrain([TextDelta(LONG_REPLY)], [TextDelta("Alright, what else can I do for you?")])
    call = await place_call(llm=brain, turn_model=True)
    await greeted(call)
    await said(call, speak, "I'd like to book a cleaning.", finalized=1)
    call.recognizer.final("I'd like to book a cleaning.")
    speech = await call.speaking("I can help")
    call.carrier.play_out(2)
    await said(call, speak, "No.", finalized=2)
    call.recognizer.final("No.")

    await call.speaking("Alright, what else")
    assert speech.interrupted and call.caller_turns()[-1] == "No."


async def test_a_decision_no_words_cover_ends_no_turn(place_call, speak) -> None:
    """The rule heard a sound the recognizer found no words in (a cough, the line): after the
    wait for words nothing is pending, and the caller's next words are a turn of their own."""
    call = await place_call(llm=ScriptedBrain([TextDelta("Which day works for you?")]), turn_model=True)
    await greeted(call)
    await said(call, speak, "No.", finalized=1)
    await until(lambda: not call.loop.caller_pending, "the decision to be dropped", within=FINAL_WAIT_S + 20)
    await said(call, speak, "I'd like to book a cleaning.", finalized=2)
    call.recognizer.final("I'd like to book a cleaning.")

    await call.speaking("Which day")
    assert call.caller_turns() == ["I'd like to book a cleaning."]


# -- preemptive generation: a reply started on the words so far, held until they are final ------


def preemptive(result: str) -> float:
    return REGISTRY.get_sample_value("frontdesk_preemptive_replies_total", {"result": result}) or 0.0


async def interim_heard(call: LiveCall, text: str) -> None:
    call.recognizer.interim(text)
    await until(lambda: call.loop.caller_words == text, "the interim words to reach the turn loop")


async def held(call: LiveCall, text_start: str) -> AgentSpeech:
    """The reply being prepared on a guess: written from `text_start`, synthesized, not sent."""
    await until(
        lambda: (speech := call.loop.current) is not None and speech.turn.text.startswith(text_start),
        f"a held reply {text_start!r}",
    )
    speech = call.loop.current
    assert speech is not None and not speech.audible
    return speech


async def test_a_reply_started_on_the_interim_words_goes_out_when_the_final_says_the_same(
    place_call, speak
) -> None:
    brain = ScriptedBrain([TextDelta("You're all set then.")])
    call = await place_call(llm=brain, turn_model=True)
    await greeted(call)
    sent = len(call.carrier.played)
    kept = preemptive("kept")
    await interim_heard(call, "yes")
    await said(call, speak, "Yes.", finalized=1)  # the reply began at the pause, before this
    speech = await held(call, "You're all set")
    assert len(call.carrier.played) == sent and call.caller_turns() == []  # nothing out yet
    call.recognizer.final("Yes.")

    await call.speaking("You're all set")
    assert speech is call.loop.current and len(brain.contexts) == 1  # generated once
    assert call.caller_turns() == ["Yes."] and preemptive("kept") == kept + 1
    roles = [t.role for t in call.loop.turns]
    assert roles == [TurnRole.agent, TurnRole.caller, TurnRole.agent]
    assert speech.timings["preemptive_kept"] == 1.0 and "end_of_turn" in speech.timings


async def test_a_streaming_recognizer_commits_the_words_at_the_pause_before_the_model_is_asked(
    place_call, speak
) -> None:
    """Deepgram is asked for its words after the short pause (150 ms), before the model is asked
    (300 ms): the reply starts on them while the caller's silence is still too short to judge."""
    brain = ScriptedBrain([TextDelta("You're all set then.")])
    call = await place_call(llm=brain, turn_model=True, streaming_recognizer=True)
    await greeted(call)
    policy = END_OF_TURN_POLICIES[call.session.profile.end_of_turn_profile]
    kept = preemptive("kept")
    pause_frames = (policy.guess_after_ms + policy.analyze_after_ms) // 2 // 20  # paused, not judged
    call.carrier.send_audio(mulaw_encode(await speak("Yes.")) + MULAW_SILENCE * pause_frames)
    await until(lambda: call.recognizer.finalized == 1, "the words asked for at the pause")
    call.recognizer.final("Yes.")
    speech = await held(call, "You're all set")
    assert call.caller_turns() == []  # nothing decided yet: the silence is too short to judge

    call.carrier.send_audio(SHORT_SILENCE)  # the silence goes on: the model is asked, and ends it
    await call.speaking("You're all set")
    assert speech is call.loop.current and len(brain.contexts) == 1
    assert call.caller_turns() == ["Yes."] and preemptive("kept") == kept + 1
    assert call.recognizer.finalized == 1  # not asked again when the model was


async def test_a_reply_on_words_the_final_contradicts_is_dropped_and_its_tools_never_run(
    place_call, speak, engine: Engine, demo_clinic: Clinic
) -> None:
    """The interim heard "cancel"; the final says "book": the reply to "cancel" (already asking
    for a transfer) is discarded unheard, its tool never runs, and the engine forgets it."""
    brain = ScriptedBrain(
        [
            TextDelta("Let me connect you with our team."),
            ToolUseBlock(id="toolu_transfer", name="transfer_to_human", input={"reason": "caller_request"}),
        ],
        [TextDelta("Which day works for you?")],
    )
    call = await place_call(llm=brain, turn_model=True)
    await greeted(call)
    discarded = preemptive("discarded")
    await interim_heard(call, "I'd like to cancel")
    await said(call, speak, "I'd like to book a cleaning.", finalized=1)
    speech = await held(call, "Let me connect you")
    await until(lambda: len(brain.contexts) == 1 and brain.waiting == 1, "the guess's reply to be written")
    call.recognizer.final("I'd like to book a cleaning.")

    await call.speaking("Which day")
    assert speech.interrupted and not speech.audible and call.carrier.clears == 0
    assert preemptive("discarded") == discarded + 1
    assert call.caller_turns() == ["I'd like to book a cleaning."]
    assert [t.text for t in call.loop.turns if t.role is TurnRole.agent][-1] == "Which day works for you?"
    texts = [(m.role, m.text) for m in call.messages()[-2:]]
    assert texts == [("user", "I'd like to book a cleaning."), ("assistant", "Which day works for you?")]
    assert not any(isinstance(b, ToolUseBlock) for m in call.messages() for b in m.content)
    well_formed(call.messages())
    await call.played_through()
    assert call.carrier.ended is None
    with Session(engine) as session:
        assert session.exec(select(Action).where(Action.kind == "transfer_to_human")).all() == []


async def test_the_caller_going_on_drops_a_reply_held_on_their_pause(place_call, speak) -> None:
    brain = ScriptedBrain([TextDelta("What would you like to book?")], [TextDelta("A cleaning, sure thing.")])
    call = await place_call(llm=brain, turn_model=True)
    await greeted(call)
    await interim_heard(call, "I'd like to book")
    call.carrier.send_audio(mulaw_encode(await speak("I'd like to book")) + SHORT_SILENCE)
    speech = await held(call, "What would you like")
    call.recognizer.speech_started()  # the caller goes on

    await until(lambda: speech.interrupted, "the held reply to be dropped")
    assert call.loop.current is None and call.caller_turns() == []
    await interim_heard(call, "I'd like to book a cleaning please")
    await said(call, speak, "a cleaning, please.", finalized=1)
    call.recognizer.final("I'd like to book a cleaning, please.")
    await call.speaking("A cleaning")
    assert call.caller_turns() == ["I'd like to book a cleaning, please."] and len(brain.contexts) == 2
    # The engine keeps the held reply's words: the same as the final's, in the interim's spelling.
    assert [m.text for m in call.messages() if m.role == "user"][-1] == "I'd like to book a cleaning please"


# -- a reply not yet heard when the caller goes on ------------------------------------------------


async def test_words_said_before_the_reply_was_heard_are_answered_with_the_turn_before(place_call) -> None:
    """A turn ended at a comma ("Yes," | "speaking."): the caller goes on before any of the reply
    is heard, so it is undone unheard and both parts are answered as one turn."""
    hold = asyncio.Event()
    hold.set()
    voice = ScriptedVoice(hold=hold)
    brain = ScriptedBrain([TextDelta("Hello there!")], [TextDelta("Thanks for confirming it is you.")])
    call = await place_call(llm=brain, voice=voice)
    await greeted(call)
    joined = REGISTRY.get_sample_value("frontdesk_caller_turns_joined_total") or 0.0
    hold.clear()  # the reply's voice is slow to start
    call.recognizer.says("Yes,")
    await until(lambda: voice.open_streams == 1, "the reply to the first part being synthesized")
    call.recognizer.says("speaking.")
    await until(lambda: len(brain.contexts) == 2, "the joined turn to be answered")
    hold.set()

    await call.speaking("Thanks for confirming")
    assert call.caller_turns() == ["Yes, speaking."]
    assert [t.text for t in call.loop.turns if t.role is TurnRole.agent][1:] == [
        "Thanks for confirming it is you."
    ]
    assert [m.text for m in call.messages() if m.role == "user"][-1] == "Yes, speaking."
    assert "Hello there!" not in [m.text for m in call.messages()]
    assert REGISTRY.get_sample_value("frontdesk_caller_turns_joined_total") == joined + 1
    well_formed(call.messages())


async def test_a_reply_held_for_a_sound_with_no_words_goes_out_when_the_caller_is_quiet(place_call) -> None:
    hold = asyncio.Event()
    hold.set()
    voice = ScriptedVoice(hold=hold)
    call = await place_call(llm=ScriptedBrain([TextDelta("You're all set then.")]), voice=voice)
    await greeted(call)
    hold.clear()
    call.recognizer.says("That's all, thanks.")
    await until(lambda: voice.open_streams == 1, "the reply being synthesized")
    call.recognizer.speech_started()  # a cough: the reply is held
    await until(lambda: call.loop.holding, "the reply to be held")
    hold.set()
    await until(lambda: "tts_first_audio" in call.loop.turns[-1].timings, "the reply's audio to be ready")
    speech = call.loop.current
    assert speech is not None and not speech.sent_audio  # held while the caller may be speaking
    call.recognizer.final("")  # the recognizer heard no words in it

    await call.speaking("You're all set")
    assert not call.loop.holding
    assert call.caller_turns() == ["That's all, thanks."] and speech is call.loop.current
