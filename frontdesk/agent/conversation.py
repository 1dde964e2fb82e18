"""The conversation as the brains see it: messages of text, tool-use and tool-result blocks.

The shape mirrors the Anthropic Messages API so the Claude brain passes it through as is, and
the deterministic brain reads the same history.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field


class TextBlock(BaseModel):
    """Words said by the caller or the agent."""

    type: Literal["text"] = "text"
    text: str


class ToolUseBlock(BaseModel):
    """A tool call the agent made."""

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(BaseModel):
    """What a tool returned (JSON text), or its refusal when is_error is set."""

    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str
    is_error: bool = False


Block = TextBlock | ToolUseBlock | ToolResultBlock


class Message(BaseModel):
    """One message: the caller's side ("user", also carrying tool results) or the agent's."""

    role: Literal["user", "assistant"]
    content: list[Block] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """The message's spoken words."""
        return " ".join(b.text for b in self.content if isinstance(b, TextBlock)).strip()

    def to_api(self) -> dict[str, Any]:
        """The message as an Anthropic Messages API parameter."""
        return {"role": self.role, "content": [b.model_dump() for b in self.content]}


class Conversation(BaseModel):
    """The whole exchange so far, in order."""

    messages: list[Message] = Field(default_factory=list)

    def add_caller_text(self, text: str) -> None:
        """Append what the caller said (merged into a trailing caller message, as the API wants)."""
        self._user_message().content.append(TextBlock(text=text))

    def add_tool_result(self, block: ToolResultBlock) -> None:
        """Append a tool's result on the caller's side of the exchange."""
        self._user_message().content.append(block)

    def add_agent(self, blocks: list[Block]) -> None:
        """Append the agent's message (text and tool calls)."""
        if blocks:
            self.messages.append(Message(role="assistant", content=blocks))

    def last_caller_text(self) -> str:
        """The most recent words of the caller ("" when none yet)."""
        for message in reversed(self.messages):
            if message.role == "user" and message.text:
                return message.text
        return ""

    def last_agent_text(self) -> str:
        """The most recent words the agent said ("" when none yet)."""
        for message in reversed(self.messages):
            if message.role == "assistant" and message.text:
                return message.text
        return ""

    def last_exchange(self) -> tuple[str, str]:
        """(what the agent said before the caller's latest turn, that turn): what a yes answers."""
        for index in range(len(self.messages) - 1, -1, -1):
            message = self.messages[index]
            if message.role == "user" and message.text:
                before = next(
                    (m.text for m in reversed(self.messages[:index]) if m.role == "assistant" and m.text), ""
                )
                return before, message.text
        return "", ""

    def cut_agent_text(self, since: int, heard: str) -> None:
        """Cut the agent's spoken text in messages from index `since` on to what the caller
        actually heard (barge-in): `heard` is a prefix, word for word, of those messages' text in
        order. Tool calls stay (those that ran have results); a message left with nothing is
        dropped, as if the agent never said it."""
        words = heard.split()
        for message in self.messages[since:]:
            if message.role != "assistant" or not message.text:
                continue
            said = message.text.split()
            kept, words = words[: len(said)], words[len(said) :]
            message.content = [b for b in message.content if not isinstance(b, TextBlock)]
            if kept:
                message.content.insert(0, TextBlock(text=" ".join(kept)))
        self.messages[since:] = [m for m in self.messages[since:] if m.content]

    def _user_message(self) -> Message:
        if not self.messages or self.messages[-1].role != "user":
            self.messages.append(Message(role="user"))
        return self.messages[-1]
