"""Structured logging (structlog) that never writes patient data in plain text.

Every line, from our structlog loggers or from the standard library's (Temporal's
`workflow.logger` and `activity.logger`, uvicorn, vendor SDKs), goes through one chain: its
exception and stack are rendered into text first, then two redactions run on the whole line.
Values under keys that can hold PHI or secrets are replaced by a short, stable hash
(`fingerprint`); then phone numbers, email addresses, dates of birth and the names the call has
learned are replaced wherever they appear, in the message, any field or the exception's text
(`frontdesk.log_redaction`). The hashes let two lines about the same caller be correlated
without the number appearing.
"""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from frontdesk.log_redaction import fingerprint, redact_values, set_fingerprint_key

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


class _PrintToCurrentStderr(structlog.PrintLogger):
    """structlog's logger for the current sys.stderr (made per logger, and loggers are not cached,
    for the same reason as _CurrentStderr), named as the module's logger is (`add_logger_name`
    reads the name, as it reads a standard-library record's)."""

    def __init__(self, name: str = "") -> None:
        super().__init__(file=sys.stderr)
        self.name = name


def _record_stack(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Pre-chain processor: a standard-library record's stack, already text, under `stack` (where
    StackInfoRenderer puts ours; StackInfoRenderer itself would print the formatter's stack)."""
    stack = event_dict.pop("stack_info", None)
    if stack:
        event_dict["stack"] = stack
    return event_dict


def configure_logging(level: str = "INFO", json: bool = False, fingerprint_secret: str | None = None) -> None:
    """Set up structlog and route the standard library's logging through it; fingerprints keyed
    by `fingerprint_secret` (settings.secret_key: every process of a deployment hashes alike)."""
    if fingerprint_secret is not None:
        set_fingerprint_key(fingerprint_secret)
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    head: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # The exception and the stack become text before the redactions, so they are redacted too (and
    # no renderer draws a traceback of its own, with the local variables of its frames).
    redacted: list[Any] = [structlog.processors.format_exc_info, redact_sensitive, redact_values]
    structlog.configure(
        processors=[*head, structlog.processors.StackInfoRenderer(), *redacted, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_PrintToCurrentStderr,
        cache_logger_on_first_use=False,
    )
    handler = _CurrentStderr()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*head, _record_stack, *redacted],
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
    # Piper writes every sentence it speaks at DEBUG: the agent's words, patients' names in them.
    logging.getLogger("piper").setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structured logger for a module (its lines name it under `logger`)."""
    return structlog.get_logger(name)
