"""Fixtures of the stack tests: a shared Temporal dev server."""

from tests.temporal_fixtures import temporal_env

__all__ = ["temporal_env"]
