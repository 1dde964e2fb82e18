"""Structured logging (structlog) that never writes patient data in plain text.

Values under keys that can hold PHI or secrets are replaced by a short, stable hash, so two
log lines about the same caller can still be correlated without the number appearing.
"""

import hashlib
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys whose values are patient data or secrets; matched on the lower-cased key.
SENSITIVE_KEYS = frozenset(
    {
        "phone",
        "from_number",
        "to_number",
        "caller",
        "from_",
        "to",
        "name",
        "patient_name",
        "first_name",
        "last_name",
        "date_of_birth",
        "dob",
        "email",
        "text",
        "transcript",
        "utterance",
        "body",
        "member_id",
        "api_key",
        "token",
        "password",
        "authorization",
        "secret",
    }
)


def fingerprint(value: object) -> str:
    """A short stable hash of a sensitive value, for correlating log lines."""
    return "h:" + hashlib.sha256(str(value).encode()).hexdigest()[:10]


def redact_sensitive(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: hash every value under a sensitive key."""
    for key in list(event_dict):
        if key.lower() in SENSITIVE_KEYS and event_dict[key] is not None:
            event_dict[key] = fingerprint(event_dict[key])
    return event_dict


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever sys.stderr is when a record comes (a CLI run inside a test
    harness, which swaps and then closes its stream, must not leave logging on a closed file)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record to the current sys.stderr."""
        self.stream = sys.stderr
        super().emit(record)


def _print_to_current_stderr(*_args: Any) -> structlog.PrintLogger:
    """structlog's logger for the current sys.stderr (looked up per logger, and loggers are not
    cached, for the same reason as _CurrentStderr)."""
    return structlog.PrintLogger(file=sys.stderr)


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    """Set up structlog and route the standard library's logging through it."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_sensitive,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_print_to_current_stderr,
        cache_logger_on_first_use=False,
    )
    handler = _CurrentStderr()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic narrates every migration step at INFO; its warnings are what matter here.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # Twilio's SDK narrates each request at INFO: its URL carries the patient's number (a Calls
    # list filters by To), and its headers say nothing we need.
    logging.getLogger("twilio.http_client").setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structured logger for a module."""
    return structlog.get_logger(name)
