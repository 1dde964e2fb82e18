"""The fake Messages API refuses what the real one refuses, so a clean run against it means something."""

from typing import Any

import anthropic
import pytest

from tests.agent.fake_anthropic import FakeAnthropic, Reply, Text

TOOL = {
    "name": "end_call",
    "description": "End the call.",
    "input_schema": {"type": "object", "properties": {}},
}
USE = {"type": "tool_use", "id": "toolu_1", "name": "end_call", "input": {}}


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([{"role": "assistant", "content": "Hello"}], "first message must use the 'user' role"),
        ([{"role": "user", "content": "Hi"}, {"role": "user", "content": "Hi"}], "roles must alternate"),
        (
            [{"role": "user", "content": [{"type": "text", "text": ""}]}],
            "text content blocks must be non-empty",
        ),
        (
            [
                {"role": "user", "content": "Bye"},
                {"role": "assistant", "content": [USE]},
                {"role": "user", "content": "?"},
            ],
            "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "{}"}],
                }
            ],
            "unexpected `tool_use_id` found in `tool_result` blocks: toolu_9",
        ),
    ],
)
async def test_malformed_conversations_get_a_400(
    fake_anthropic: FakeAnthropic,
    anthropic_client: anthropic.AsyncAnthropic,
    messages: list[dict[str, Any]],
    problem: str,
) -> None:
    fake_anthropic.script(Reply(Text("unused")))
    with pytest.raises(anthropic.BadRequestError, match="invalid_request_error") as raised:
        await anthropic_client.messages.create(
            model="m", max_tokens=10, messages=messages, tools=[TOOL], stream=True
        )
    assert problem in str(raised.value)
    assert fake_anthropic.rejections == [raised.value.api_message]
    assert fake_anthropic.pending == 1, "a refused request consumes no scripted reply"


async def test_too_many_cache_breakpoints_get_a_400(
    fake_anthropic: FakeAnthropic, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    marked = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
    with pytest.raises(anthropic.BadRequestError, match="A maximum of 4 blocks with cache_control"):
        await anthropic_client.messages.create(
            model="m",
            max_tokens=10,
            system=[marked] * 5,
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
        )


async def test_a_request_with_no_scripted_reply_left_is_an_error_and_is_noted(
    fake_anthropic: FakeAnthropic, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    with pytest.raises(anthropic.InternalServerError, match="no scripted reply left"):
        await anthropic_client.messages.create(
            model="m", max_tokens=10, messages=[{"role": "user", "content": "Hi"}], stream=True
        )
    assert fake_anthropic.rejections == ["no scripted reply left"]
