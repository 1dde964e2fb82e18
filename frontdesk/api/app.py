"""The API process's FastAPI app: health probes, Twilio's webhooks, the admin API (/v1), the
clinic's dashboard (/app/), the codec server (/app/codec), /metrics, and under `frontdesk dev`
the Temporal UI (/temporal/)."""

from fastapi import FastAPI

from frontdesk.api.codec_server import CODEC_PATH, codec_app
from frontdesk.api.service_app import create_service_app
from frontdesk.api.temporal_ui_proxy import install_temporal_ui_proxy
from frontdesk.api.v1.router import install_admin_api
from frontdesk.config import Settings
from frontdesk.dashboard.app import error_pages, install_dashboard
from frontdesk.telephony.twilio.rest import twilio_calls_for
from frontdesk.telephony.twilio.sms_webhooks import twilio_sms_router
from frontdesk.telephony.twilio.voice_webhooks import twilio_amd_router, twilio_voice_router


def create_app(settings: Settings) -> FastAPI:
    """The API app for `settings`, with its database engine and Temporal client on `app.state.backends`."""
    app = create_service_app("Frontdesk API", settings)
    app.include_router(twilio_voice_router(settings))
    # Acting on answering-machine detection redirects live calls through Twilio's REST API.
    app.include_router(twilio_amd_router(settings, twilio_calls_for(settings)))
    app.include_router(twilio_sms_router(settings))
    install_admin_api(app, settings, error_pages)
    app.mount(CODEC_PATH, codec_app(settings, app.state.backends))
    install_dashboard(app, settings)
    if settings.temporal_ui_upstream:
        install_temporal_ui_proxy(app, settings.temporal_ui_upstream)
    return app
