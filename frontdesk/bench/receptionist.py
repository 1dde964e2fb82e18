"""The fake LLM's receptionist: a fixed policy that reads a Messages API request (the call so far)
and writes the next message, driving a real booking through the platform's tools.

It follows the system prompt's instruction to call a tool without announcing it: a reply that
needs one begins with the tool call, and the platform says its acknowledgement ("Let me check.")
from the phrase cache; every other reply to a caller line opens with words, the first of them one
of the openers the prompt offers ("Okay.", "You're welcome.") where one fits, as the prompt asks.
Slot ids, and what the agent reads back, come from the request's own tool results, as a model's
would; the consultation window searched comes from a `WindowPlan`, one per call.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from frontdesk.bench.script import ACCEPT, DONE, GREETING_ASK, NAME, PATIENT, line_of, tag_of

SUMMARY: Final = "The caller booked a consultation and declined anything else."


@dataclass(frozen=True)
class ToolCall:
    """A tool_use block to stream."""

    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """The next message: its words, then its tool calls."""

    text: str
    tools: list[ToolCall] = field(default_factory=list)
    tag: int | None = None  # the call's tag, when its first transcript carried one
    line: int | None = None  # the caller line answered (None after tool results)


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])


def _results(messages: list[dict[str, Any]]) -> dict[str, tuple[str, Any]]:
    """Every tool result of the conversation by tool name (the latest of each): (name, parsed JSON or
    the refusal text)."""
    names = {
        block["id"]: block["name"]
        for message in messages
        if message["role"] == "assistant"
        for block in _blocks(message)
        if block.get("type") == "tool_use"
    }
    found: dict[str, tuple[str, Any]] = {}
    for message in messages:
        for block in _blocks(message):
            if block.get("type") == "tool_result":
                name = names.get(block["tool_use_id"], "")
                content = block.get("content")
                text = content if isinstance(content, str) else json.dumps(content)
                found[name] = ("error", text) if block.get("is_error") else ("ok", json.loads(text))
    return found


def _call_tag(messages: list[dict[str, Any]]) -> int | None:
    for message in messages:
        if message["role"] == "user":
            for block in _blocks(message):
                if block.get("type") == "text" and (tag := tag_of(block["text"])) is not None:
                    return tag
    return None


def is_summary_request(body: dict[str, Any]) -> bool:
    """Whether a request is the post-call summary (no tools) rather than a turn of a call."""
    return not body.get("tools")


def reply_to(body: dict[str, Any], next_window: Callable[[], dict[str, Any] | None]) -> Reply:
    """The receptionist's next message for a Messages API request body."""
    if is_summary_request(body):
        return Reply(SUMMARY)
    messages: list[dict[str, Any]] = body["messages"]
    tag = _call_tag(messages)
    last = _blocks(messages[-1])
    if any(block.get("type") == "tool_result" for block in last):
        return replace(_after_tools(_results(messages)), tag=tag)
    said = [block["text"] for block in last if block.get("type") == "text"]
    line = line_of(said[-1]) if said else None
    reply = _answer(line, messages, next_window)
    return Reply(reply.text, reply.tools, tag, line)


def _answer(
    line: int | None, messages: list[dict[str, Any]], next_window: Callable[[], dict[str, Any] | None]
) -> Reply:
    if line == GREETING_ASK:
        return Reply(
            "Okay. I can help you book a consultation with one of our dentists. "
            "May I have your full name and date of birth?"
        )
    if line == NAME:
        window = next_window()
        if window is None:
            return _give_up("I'm sorry, our schedule is full for the next two months.")
        return Reply("", [ToolCall("identify_patient", dict(PATIENT)), ToolCall("get_availability", window)])
    if line == ACCEPT:
        status, found = _results(messages).get("get_availability", ("error", None))
        slots = found.get("slots", []) if status == "ok" else []
        if not slots:
            return _give_up("I'm sorry, I lost that time.")
        booking = {"slot_id": slots[0]["slot_id"], "patient": dict(PATIENT)}
        return Reply("", [ToolCall("book_appointment", booking)])
    if line == DONE:
        goodbye = "You're welcome. Thank you for calling Maple Dental. Goodbye!"
        return Reply(goodbye, [ToolCall("end_call", {})])
    return Reply("Sorry, could you say that again?")


def _after_tools(results: dict[str, tuple[str, Any]]) -> Reply:
    if "book_appointment" in results:
        status, booked = results["book_appointment"]
        if status == "ok" and booked.get("booked"):
            return Reply(
                f"You're all set for {booked['when']}. I'll text you a confirmation. "
                "Is there anything else I can help you with?"
            )
        return _give_up("I'm sorry, I couldn't book that time.")
    status, found = results.get("get_availability", ("error", None))
    slots = found.get("slots", []) if status == "ok" else []
    if not slots:
        return _give_up("I'm sorry, I have nothing open at that time.")
    return Reply(f"I have {slots[0]['when']}. Would that work for you?")


def _give_up(apology: str) -> Reply:
    """End the call unbooked (counted as a failed booking by the benchmark)."""
    return Reply(f"{apology} Our team will call you back. Goodbye!", [ToolCall("end_call", {})])
