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
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
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


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structured logger for a module."""
    return structlog.get_logger(name)
