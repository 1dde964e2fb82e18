"""Logging set up by `configure_logging`, as every process of ours sets it up, and put back as it
was afterwards: for tests that read the lines a process would have written (to the current
sys.stderr: pytest's `capsys` captures them, every thread's)."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from frontdesk.logs import configure_logging


def _levels() -> dict[str, int]:
    manager = logging.getLogger().manager
    return {
        name: logger.level
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }


@contextmanager
def configured_logging(level: str, json: bool = False) -> Iterator[None]:
    """Logging as `configure_logging(level, json)` sets it, for the block."""
    structlog_config = structlog.get_config()
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    before = _levels()
    configure_logging(level, json)
    # The loggers configure_logging set a level on, to be put back.
    changed = [name for name, set_to in _levels().items() if before.get(name, logging.NOTSET) != set_to]
    try:
        yield
    finally:
        structlog.configure(**structlog_config)
        root.handlers[:] = handlers
        root.setLevel(root_level)
        for name in changed:
            logging.getLogger(name).setLevel(before.get(name, logging.NOTSET))
