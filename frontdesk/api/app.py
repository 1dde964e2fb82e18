"""The API process's FastAPI app: health probes, Twilio's webhooks, the admin API (/v1) and /metrics."""

from fastapi import FastAPI

from frontdesk.api.service_app import create_service_app
from frontdesk.api.twilio_sms import twilio_sms_router
from frontdesk.api.twilio_voice import twilio_voice_router
from frontdesk.api.v1.router import install_admin_api
from frontdesk.config import Settings


def create_app(settings: Settings) -> FastAPI:
    """The API app for `settings`, with its database engine and Temporal client on `app.state.backends`."""
    app = create_service_app("Frontdesk API", settings)
    app.include_router(twilio_voice_router(settings))
    app.include_router(twilio_sms_router(settings))
    install_admin_api(app, settings)
    return app
