"""Vendor fakes for the post-call activities, each speaking its wire protocol on 127.0.0.1.

- `FakeHubSpot`: the CRM v3 objects API for notes (create, search by property) and contacts
  (search by phone), Bearer-token auth, HubSpot's JSON error body on 401.
- `FakeSalesforce`: the REST API's sobject upsert by external id (`PATCH .../sobjects/Task/
  {field}/{value}`), 201 when created, 200 when the Task existed; Bearer auth.
- `FakeZendesk`: ticket creation with basic auth (`{email}/token`) and the `Idempotency-Key`
  header (a repeated key returns the first ticket).
- `FakePractice`: a practice system's HTTP bridge that answers every appointment POST with a
  chosen status (a rejecting one for the staff-task path).
- `local_smtp`: a real SMTP server (aiosmtpd) collecting what it receives.

Serve the Starlette apps with `tests.realtime.served.serve(fake.app)`.
"""

import base64
import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

HUBSPOT_TOKEN = "pat-na1-fake-hubspot-token"


@dataclass
class FakeHubSpot:
    """Notes created (by id, with their properties) and the contacts it knows (phone -> id)."""

    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, str] = field(default_factory=dict)

    def app(self, _url: str = "") -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/crm/v3/objects/notes", self._create_note, methods=["POST"]),
                Route("/crm/v3/objects/{objects}/search", self._search, methods=["POST"]),
            ]
        )

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {HUBSPOT_TOKEN}"

    async def _create_note(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return _unauthorized()
        body = await request.json()
        properties = body.get("properties") or {}
        if not properties.get("hs_timestamp"):
            return JSONResponse(
                {"status": "error", "message": "hs_timestamp is required", "category": "VALIDATION_ERROR"},
                status_code=400,
            )
        note_id = str(1000 + len(self.notes))
        self.notes[note_id] = {"properties": properties, "associations": body.get("associations", [])}
        return JSONResponse({"id": note_id, "properties": properties, "archived": False}, status_code=201)

    async def _search(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return _unauthorized()
        body = await request.json()
        [group] = body["filterGroups"]
        [condition] = group["filters"]
        assert condition["operator"] == "EQ"
        name, value = condition["propertyName"], condition["value"]
        if request.path_params["objects"] == "contacts":
            ids = [
                contact_id
                for phone, contact_id in self.contacts.items()
                if name == "phone" and phone == value
            ]
        else:
            ids = [note_id for note_id, note in self.notes.items() if note["properties"].get(name) == value]
        results = [{"id": object_id, "properties": {}} for object_id in ids[: body.get("limit", 10)]]
        return JSONResponse({"total": len(ids), "results": results})


def _unauthorized() -> JSONResponse:
    body = {
        "status": "error",
        "message": "Authentication credentials not found.",
        "category": "INVALID_AUTHENTICATION",
    }
    return JSONResponse(body, status_code=401)


SALESFORCE_TOKEN = "00Dfake!salesforce-token"
ZENDESK_EMAIL = "agent@clinic.example"
ZENDESK_TOKEN = "fake-zendesk-token"


@dataclass
class FakeSalesforce:
    """Tasks by external id (value -> (id, fields))."""

    tasks: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    def app(self, _url: str = "") -> Starlette:
        """The ASGI app."""
        path = "/services/data/{version}/sobjects/Task/{field}/{value}"
        return Starlette(routes=[Route(path, self._upsert, methods=["PATCH"])])

    async def _upsert(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {SALESFORCE_TOKEN}":
            return JSONResponse(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
            )
        value = request.path_params["value"]
        fields = await request.json()
        created = value not in self.tasks
        task_id = self.tasks[value][0] if not created else f"00T{len(self.tasks):015d}"
        self.tasks[value] = (task_id, fields)
        body = {"id": task_id, "success": True, "errors": [], "created": created}
        return JSONResponse(body, status_code=201 if created else 200)


@dataclass
class FakeZendesk:
    """Tickets by id, and which idempotency key made which ticket."""

    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)

    def app(self, _url: str = "") -> Starlette:
        """The ASGI app."""
        return Starlette(routes=[Route("/api/v2/tickets.json", self._create, methods=["POST"])])

    async def _create(self, request: Request) -> JSONResponse:
        expected = base64.b64encode(f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "Couldn't authenticate you"}, status_code=401)
        key = request.headers.get("idempotency-key")
        if key in self.keys:
            ticket_id = self.keys[key]
            headers = {"x-idempotency-lookup": "hit"}
            return JSONResponse({"ticket": self.tickets[ticket_id] | {"id": ticket_id}}, 201, headers=headers)
        ticket = (await request.json())["ticket"]
        ticket_id = len(self.tickets) + 1
        self.tickets[ticket_id] = ticket
        if key:
            self.keys[key] = ticket_id
        return JSONResponse({"ticket": ticket | {"id": ticket_id}}, status_code=201)


@dataclass
class FakePractice:
    """Answers every appointment POST with `status`; records the bodies and idempotency keys."""

    status: int = 201
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def app(self, _url: str = "") -> Starlette:
        """The ASGI app."""
        return Starlette(routes=[Route("/appointments", self._post, methods=["POST"])])

    async def _post(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.received.append((request.headers.get("idempotency-key", ""), body))
        if self.status >= 400:
            return JSONResponse({"error": "provider is not bookable at that time"}, status_code=self.status)
        return JSONResponse({"id": f"pm-{body['appointment_id']}"}, status_code=self.status)


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append((envelope, email.message_from_bytes(content)))
        return "250 Message accepted for delivery"


@contextmanager
def local_smtp() -> Iterator[tuple[int, list[tuple[Envelope, Message]]]]:
    """A real SMTP server on 127.0.0.1: yields its port and the list its messages land in."""
    with socket.socket() as probe:  # aiosmtpd 1.4 needs a concrete port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox.messages
    finally:
        controller.stop()
