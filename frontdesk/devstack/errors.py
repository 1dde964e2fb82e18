"""The one error type `frontdesk dev` reports as a message rather than a traceback."""


class DevStackError(RuntimeError):
    """The embedded stack cannot start or keep running; the message says what to do about it."""
