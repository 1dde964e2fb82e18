"""Fixtures of the agent tests: the fake Anthropic Messages API and an SDK client aimed at it."""

from tests.agent.fake_anthropic import anthropic_client, fake_anthropic, fake_anthropic_server

__all__ = ["anthropic_client", "fake_anthropic", "fake_anthropic_server"]
