"""What the whole-call tests share: the webhooks and media socket served for a call, the spoken
booking several of them place (its caller and lines), and the wait for its workflows."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Final

from fastapi import FastAPI
from temporalio.client import Client

from frontdesk.api.service_app import create_service_app
from frontdesk.caller.script import Say, Step
from frontdesk.config import Settings
from frontdesk.telephony.twilio.media_route import media_router
from frontdesk.telephony.twilio.voice_webhooks import twilio_voice_router
from frontdesk.workflows.call import post_call_workflow_id
from frontdesk.workflows.inputs import CallResult
from frontdesk.workflows.post_call import PostCallResult
from tests.realtime.served import serve

CALLER: Final = "+15550199001"
# A new patient books a cleaning: name, date of birth, a time, a choice, goodbye.
LINES: Final = [
    "Hi, I'd like to book a teeth cleaning.",
    "My name is Ana Lopez. My date of birth is March 3rd, 1988.",
    "Next Tuesday morning if you have anything.",
    "Yes, the first one.",
    "Yeah, that's all, thanks.",
]


def booking_steps() -> list[Step]:
    """The booking's lines, said one after the other."""
    return [Say(line) for line in LINES]


@asynccontextmanager
async def voice_stack(
    base: Settings, title: str, extend: Callable[[FastAPI, Settings], None] | None = None
) -> AsyncIterator[Settings]:
    """Twilio's webhooks and the media socket with the real turn loop on one port (and what
    `extend` adds to the app); the app's settings, `base` with the address it is served at."""
    holder: list[Settings] = []

    def make_app(url: str) -> FastAPI:
        settings = base.model_copy(update={"public_base_url": url})
        holder.append(settings)
        app = create_service_app(title, settings)
        app.state.settings = settings
        app.include_router(twilio_voice_router(settings))
        app.include_router(media_router(settings))
        if extend is not None:
            extend(app, settings)
        return app

    async with serve(make_app):
        yield holder[0]


async def workflows_done(client: Client, call_sid: str) -> tuple[CallResult, PostCallResult]:
    """The call's CallWorkflow result, then its PostCallWorkflow's (the child is started before
    the call's workflow completes, so it exists by then)."""
    call = await client.get_workflow_handle(call_sid, result_type=CallResult).result()
    post_call = client.get_workflow_handle(post_call_workflow_id(call_sid), result_type=PostCallResult)
    return call, await post_call.result()
