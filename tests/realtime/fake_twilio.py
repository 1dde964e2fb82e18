"""A fake Twilio REST API (Calls update, Messages create) on 127.0.0.1, for the real `twilio` SDK.

`POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json` with HTTP basic auth and a form
body, as the SDK sends it; answers with a call resource, or Twilio's JSON errors: 401 (code
20003) for wrong credentials, 404 (code 20404) for a call that is not live. Every request,
refused or not, is recorded with its form fields and the credentials it carried.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (To, From, Body) records an SMS and
answers with a message resource (sid SM...); `fail_messages` answers that many requests with
a 500 first (nothing is recorded as sent for them).

`POST /2010-04-01/Accounts/{AccountSid}/Calls.json` (To, From, Url, StatusCallback...) records an
outbound call and answers with a call resource (sid CA...); `carrier`, when set, then plays the
phone network for it in the background (posting Twilio's voice and status webhooks back).
`hang_creates` makes that many creates place the call and then answer only after `hang_seconds`
(past the client's timeout), as a request lost after Twilio acted on it; `lose_creates` makes
that many hang without placing anything, as a request lost before Twilio acted; `queue_creates`
leaves every new call queued (not started).

`GET /2010-04-01/Accounts/{AccountSid}/Calls.json?To=&From=&StartTime>=&Status=` lists the created
calls with that To, From and Status, started at or after StartTime> (a date or an ISO datetime,
as the SDK sends it), each with its DateCreated; each request's filters are recorded in `listed`
(and `asked` is set); `fail_lists` answers that many lists with a 500. A call in `queued_calls`
has not started: its status is queued and, as at Twilio, it has no start time, so a StartTime
filter never lists it.
"""

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "fake-twilio-auth-token"


@dataclass(frozen=True)
class CallUpdate:
    """One request to update a call."""

    account_sid: str
    call_sid: str
    form: dict[str, str]
    username: str
    password: str


@dataclass(frozen=True)
class CreatedCall:
    """One outbound call the fake was asked to place."""

    sid: str
    form: dict[str, str]
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class FakeTwilio:
    """The fake's state: the calls it considers live and the update requests it received."""

    live_calls: set[str] = field(default_factory=set)
    queued_calls: set[str] = field(default_factory=set)
    updates: list[CallUpdate] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    fail_messages: int = 0
    created_calls: list[CreatedCall] = field(default_factory=list)
    hang_creates: int = 0
    hang_seconds: float = 3.0
    lose_creates: int = 0
    queue_creates: bool = False
    fail_lists: int = 0
    listed: list[dict[str, str]] = field(default_factory=list)
    asked: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first Calls list
    carrier: Callable[[CreatedCall], Awaitable[None]] | None = None
    carrier_errors: list[BaseException] = field(default_factory=list)
    _carrying: set[asyncio.Task[None]] = field(default_factory=set)

    def app(self, _url: str = "") -> Starlette:
        """The ASGI app (the argument, the served URL, is not needed)."""
        route = Route(
            "/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}.json", self._update, methods=["POST"]
        )
        messages = Route("/2010-04-01/Accounts/{account_sid}/Messages.json", self._message, methods=["POST"])
        calls = Route("/2010-04-01/Accounts/{account_sid}/Calls.json", self._create_call, methods=["POST"])
        listing = Route("/2010-04-01/Accounts/{account_sid}/Calls.json", self._list_calls, methods=["GET"])
        return Starlette(routes=[route, messages, calls, listing])

    async def _list_calls(self, request: Request) -> JSONResponse:
        account_sid = request.path_params["account_sid"]
        username, password = _basic_auth(request.headers.get("authorization", ""))
        if (username, password) != (ACCOUNT_SID, AUTH_TOKEN) or account_sid != ACCOUNT_SID:
            return _error(401, 20003, "Authenticate")
        filters = dict(request.query_params)
        self.listed.append(filters)
        self.asked.set()
        if self.fail_lists > 0:
            self.fail_lists -= 1
            return _error(500, 20500, "Internal Server Error")
        since = datetime.fromisoformat(filters.get("StartTime>", "1970-01-01").replace("Z", "+00:00"))
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        calls = [
            {
                "sid": call.sid,
                "account_sid": account_sid,
                "to": call.form["To"],
                "from": call.form["From"],
                "status": self._status(call),
                "date_created": format_datetime(call.created_at),
                "start_time": None if call.sid in self.queued_calls else format_datetime(call.created_at),
            }
            for call in self.created_calls
            if call.form["To"] == filters.get("To", call.form["To"])
            and call.form["From"] == filters.get("From", call.form["From"])
            and self._status(call) == filters.get("Status", self._status(call))
            and (
                "StartTime>" not in filters
                or (call.sid not in self.queued_calls and call.created_at >= since)
            )
        ]
        page = {"page": 0, "page_size": 50, "start": 0, "end": max(len(calls) - 1, 0)}
        return JSONResponse({"calls": calls, "next_page_uri": None, "uri": request.url.path} | page)

    def _status(self, call: CreatedCall) -> str:
        if call.sid in self.queued_calls:
            return "queued"
        return "in-progress" if call.sid in self.live_calls else "completed"

    async def _create_call(self, request: Request) -> JSONResponse:
        account_sid = request.path_params["account_sid"]
        username, password = _basic_auth(request.headers.get("authorization", ""))
        if (username, password) != (ACCOUNT_SID, AUTH_TOKEN) or account_sid != ACCOUNT_SID:
            return _error(401, 20003, "Authenticate")
        form = dict(parse_qsl((await request.body()).decode()))
        if not {"To", "From", "Url"} <= set(form):
            return _error(400, 21201, "A 'To', 'From' and 'Url' parameter is required.")
        if self.lose_creates > 0:
            self.lose_creates -= 1
            await asyncio.sleep(self.hang_seconds)
            return _error(500, 20500, "Internal Server Error")
        created = CreatedCall(f"CA{len(self.created_calls) + 1:032x}", form)
        self.created_calls.append(created)
        self.live_calls.add(created.sid)
        if self.queue_creates:
            self.queued_calls.add(created.sid)
        if self.carrier is not None:
            task = asyncio.create_task(self.carrier(created))
            self._carrying.add(task)
            task.add_done_callback(self._carried)
        if self.hang_creates > 0:
            self.hang_creates -= 1
            await asyncio.sleep(self.hang_seconds)
        resource = {"sid": created.sid, "account_sid": account_sid, "to": form["To"], "from": form["From"]}
        return JSONResponse(resource | {"status": "queued"}, status_code=201)

    def _carried(self, task: asyncio.Task[None]) -> None:
        self._carrying.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.carrier_errors.append(task.exception())  # type: ignore[arg-type]

    async def _message(self, request: Request) -> JSONResponse:
        account_sid = request.path_params["account_sid"]
        username, password = _basic_auth(request.headers.get("authorization", ""))
        if (username, password) != (ACCOUNT_SID, AUTH_TOKEN) or account_sid != ACCOUNT_SID:
            return _error(401, 20003, "Authenticate")
        form = dict(parse_qsl((await request.body()).decode()))
        if self.fail_messages > 0:
            self.fail_messages -= 1
            return _error(500, 20500, "Internal Server Error")
        if not {"To", "From", "Body"} <= set(form):
            return _error(400, 21604, "A 'To', 'From' and 'Body' parameter is required.")
        self.messages.append(form)
        sid = f"SM{len(self.messages):032x}"
        resource = {"sid": sid, "account_sid": account_sid, "to": form["To"], "from": form["From"]}
        return JSONResponse(resource | {"body": form["Body"], "status": "queued"}, status_code=201)

    async def _update(self, request: Request) -> JSONResponse:
        account_sid = request.path_params["account_sid"]
        call_sid = request.path_params["call_sid"]
        username, password = _basic_auth(request.headers.get("authorization", ""))
        form = dict(parse_qsl((await request.body()).decode()))
        self.updates.append(CallUpdate(account_sid, call_sid, form, username, password))
        if (username, password) != (ACCOUNT_SID, AUTH_TOKEN) or account_sid != ACCOUNT_SID:
            return _error(401, 20003, "Authenticate")
        if call_sid not in self.live_calls:
            return _error(404, 20404, f"The requested resource /Calls/{call_sid}.json was not found")
        status = form.get("Status", "in-progress")
        if status == "completed":
            self.live_calls.discard(call_sid)
        return JSONResponse({"sid": call_sid, "account_sid": account_sid, "status": status})


def _basic_auth(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    username, _, password = base64.b64decode(encoded).decode().partition(":")
    return username, password


def _error(status: int, code: int, message: str) -> JSONResponse:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
    return JSONResponse(body | {"status": status}, status_code=status)
