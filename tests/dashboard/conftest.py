"""The dashboard under test: the real API app (dashboard included) with the media route and a
worker on the Temporal dev server, served on a port of 127.0.0.1 for a real browser, and the
users who sign in to it."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from frontdesk.api.app import create_app
from frontdesk.caller.conversation import CallOptions, run_call
from frontdesk.caller.script import Step
from frontdesk.config import Settings
from frontdesk.domain.models import Clinic, UserRole
from frontdesk.domain.seed import DEMO_NUMBER, DEMO_SLUG
from frontdesk.domain.users import create_user
from frontdesk.realtime.speech.piper_tts import PiperTextToSpeech
from frontdesk.telephony.browser.media_route import browser_media_router
from frontdesk.telephony.twilio.media_route import media_router
from tests.domain.factories import make_small_clinic
from tests.realtime.call_worker import CallWorker, call_worker, temporal_env
from tests.realtime.conftest import tts
from tests.realtime.served import serve

__all__ = ["call_worker", "temporal_env", "tts"]

PASSWORD = "a long enough password"
ADMIN = "admin@maple.example"
OTHER_STAFF = "staff@beta.example"
OTHER_SLUG = "beta"


@dataclass(frozen=True)
class Site:
    """The served app and what it runs on."""

    url: str
    settings: Settings
    worker: CallWorker
    app: FastAPI

    async def call(self, tts: PiperTextToSpeech, *steps: Step) -> str:
        """A spoken call to the demo clinic, as `frontdesk call` places it; its call sid."""
        options = CallOptions(base_url=self.url, to=DEMO_NUMBER, caller="+15550199001", steps=list(steps))
        result, _recording = await run_call(self.settings, options, tts)
        return result.call_sid


@pytest.fixture
def users(engine: Engine, demo_clinic: Clinic) -> None:
    """The demo clinic's admin, and a staff user of another clinic (beta)."""
    make_small_clinic(engine, OTHER_SLUG, "+15550100009")
    create_user(engine, email=ADMIN, password=PASSWORD, role=UserRole.admin, clinic_slug=DEMO_SLUG)
    create_user(engine, email=OTHER_STAFF, password=PASSWORD, role=UserRole.staff, clinic_slug=OTHER_SLUG)


@pytest.fixture
async def site(database_url: str, users: None, call_worker: CallWorker) -> AsyncIterator[Site]:
    """The API app with its dashboard and the media sockets (Twilio's and the browser's), on one
    port, with a worker behind it."""
    holder: list[tuple[Settings, FastAPI]] = []

    def make_app(url: str) -> FastAPI:
        settings = Settings(
            database_url=database_url,
            public_base_url=url,
            call_idle_seconds=3.0,
            temporal_address=call_worker.address,
            temporal_task_queue=call_worker.task_queue,
        )
        app = create_app(settings)
        app.state.settings = settings
        app.include_router(media_router(settings))
        app.include_router(browser_media_router(settings))
        holder.append((settings, app))
        return app

    async with serve(make_app) as url:
        settings, app = holder[0]
        yield Site(url, settings, call_worker, app)
