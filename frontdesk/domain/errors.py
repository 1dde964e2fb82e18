"""Domain errors: each carries a message that is safe to log and plain enough to say to a caller.

Messages never contain patient data (names, phone numbers); they name rows by kind and id.
Retrying cannot fix any of these, so the activities raise them as non-retryable.
"""

from uuid import UUID


class DomainError(Exception):
    """Base of every error the domain raises on purpose; `code` is a stable machine name."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """A row does not exist, or belongs to another clinic (the two are indistinguishable)."""

    code = "not_found"

    def __init__(self, kind: str, ident: UUID | str) -> None:
        super().__init__(f"I couldn't find that {kind} (id {ident}).")
        self.kind = kind
        self.ident = ident


class SlotTaken(DomainError):
    """Someone else holds the requested time with that provider."""

    code = "slot_taken"

    def __init__(self) -> None:
        super().__init__("Sorry, that time was just taken by someone else. Let me find you another time.")


class SlotUnavailable(DomainError):
    """The requested time is not a bookable slot (outside hours, too soon, too far ahead...)."""

    code = "slot_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(f"Sorry, that time isn't available: {detail}.")
        self.detail = detail


class ProviderDoesNotOfferService(DomainError):
    """The chosen provider does not perform the chosen service, or is no longer active."""

    code = "provider_does_not_offer_service"

    def __init__(self, provider_name: str, service_name: str) -> None:
        super().__init__(f"{provider_name} doesn't offer {service_name} appointments.")


class AppointmentNotActive(DomainError):
    """The appointment is cancelled, completed or missed, so it cannot be changed."""

    code = "appointment_not_active"

    def __init__(self, appointment_id: UUID, status: str) -> None:
        super().__init__(f"That appointment is already {status.replace('_', ' ')}, so it can't be changed.")
        self.appointment_id = appointment_id
        self.status = status


class IdempotencyKeyReused(DomainError):
    """An idempotency key was used before for a different request."""

    code = "idempotency_key_reused"

    def __init__(self, key: str, kind: str) -> None:
        super().__init__(
            f"The idempotency key {key!r} was already used for a different {kind} request; "
            "use a new key for a new request."
        )
        self.key = key
