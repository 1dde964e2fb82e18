"""Process configuration, from `FRONTDESK_` environment variables and an optional `.env` file.

A vendor key that is absent means that vendor's offline twin is used (DESIGN.md section 5).
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")


class Settings(BaseSettings):
    """Everything a Frontdesk process reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="FRONTDESK_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{VAR_DIR / 'frontdesk.db'}",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    var_dir: Path = Field(default=VAR_DIR, description="where the embedded stack keeps its data")

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "frontdesk"
    temporal_ui_port: int = 8233
    temporal_ui_url: str | None = Field(
        default=None,
        description="where staff open the Temporal UI, for the dashboard's workflow links (default: "
        "temporal_address's host on temporal_ui_port; frontdesk dev: the API's /temporal/)",
    )
    temporal_ui_upstream: str | None = Field(
        default=None,
        description="frontdesk dev: the embedded Temporal UI the API serves under /temporal/, so it "
        "reaches the codec server with the dashboard's sign-in (unset: not served)",
    )
    codec_cors_origins: list[str] = Field(
        default_factory=list,
        description="origins of Temporal UIs allowed to call the codec server (/app/codec) with the "
        "operator's sign-in, e.g. https://temporal.example.com (JSON list)",
    )
    temporal_metrics_port: int = Field(
        default=8234,
        description="the embedded Temporal server's Prometheus metrics (its billable actions among them)",
    )

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    realtime_port: int = 8001
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="the address Twilio reaches the API (and the media socket, unless public_media_url) at",
    )
    public_media_url: str | None = Field(
        default=None,
        description="the address Twilio reaches the media socket at, when the media server is apart "
        "from the API (default: public_base_url)",
    )
    dev_media_processes: int = Field(
        default=0,
        ge=0,
        description="frontdesk dev: media processes apart from the API on realtime_port, as `frontdesk "
        "realtime --processes N` runs them (0: the media socket served by the web server on api_port)",
    )

    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-sonnet-5-5"
    deepgram_api_key: SecretStr | None = None
    deepgram_base_url: str | None = None
    elevenlabs_api_key: SecretStr | None = None
    elevenlabs_base_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_base_url: str | None = None
    twilio_messaging_from: str | None = Field(
        default=None, description="the number SMS confirmations come from (default: the clinic's own number)"
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for emails (none: the outbox)")
    smtp_port: int = 25
    smtp_from: str = "Frontdesk <no-reply@frontdesk.invalid>"
    outbound_carrier: Literal["twilio", "local"] = Field(
        default="twilio",
        description="who places campaign calls: Twilio, or (offline stack) a local simulated patient",
    )
    twilio_dial_timeout_seconds: float = Field(
        default=15.0, gt=0, description="how long placing a campaign call waits on each read from Twilio"
    )
    twilio_dev_auth_token: SecretStr = Field(
        default=SecretStr("frontdesk-dev-twilio-token"),
        description="signs and checks Twilio webhooks when no twilio_auth_token is set (offline stack)",
    )

    secret_key: SecretStr = Field(
        default=SecretStr("frontdesk-dev-only-secret-change-me"),
        description="encrypts CRM and practice-system credentials at rest",
    )
    payload_keys: SecretStr | None = Field(
        default=None,
        description="encrypt Temporal payloads: id:base64 keys, comma-separated, the first encrypting "
        "(frontdesk/payload_codec.py); off when neither this nor payload_keys_file is set",
    )
    payload_keys_file: Path | None = Field(
        default=None, description="a file holding the payload keys, one id:base64 per line (first encrypts)"
    )
    realtime_drain_timeout_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="on SIGTERM, how long a media process waits for its live calls to end before it "
        "exits anyway (each call ends by its clinic's maximum call length first)",
    )
    call_idle_seconds: float = Field(
        default=10.0, gt=0, description="caller silence before 'Are you still there?' (twice ends the call)"
    )
    # Long enough for an Update whose activity retries a database hiccup (Updates take tens of
    # milliseconds), short enough that the caller is not left in silence.
    call_update_deadline_seconds: float = Field(
        default=4.0,
        gt=0,
        description="how long a call's change (a CallWorkflow Update) may take before the caller hears an "
        "apology and the call's later changes go to the database directly",
    )
    end_of_turn_model: bool = Field(
        default=True,
        description="end the caller's turns by the Smart Turn model heard after a short silence "
        "(off: by the speech-to-text's end of speech after the clinic profile's silence)",
    )
    call_clock_override: bool = Field(
        default=False,
        description="honour ?clock= on the voice webhook: a call at another moment (test-call suite only)",
    )
    log_level: str = "INFO"
    log_json: bool = False
    otlp_endpoint: str | None = Field(
        default=None,
        description="an OTLP/HTTP collector to send traces to, e.g. http://otel-collector:4318 (unset: "
        "OTEL_EXPORTER_OTLP_ENDPOINT if set, else tracing is off; frontdesk/tracing)",
    )

    @field_validator("database_url")
    @classmethod
    def _normalize_postgres_driver(cls, url: str) -> str:
        # A plain postgres URL would pick psycopg2, which we do not ship.
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @model_validator(mode="after")
    def _database_under_var_dir(self) -> "Settings":
        # Without an explicit URL the SQLite file lives in var_dir, wherever that is set to be.
        if "database_url" not in self.model_fields_set:
            self.database_url = f"sqlite:///{self.var_dir / 'frontdesk.db'}"
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
