"""The environment `frontdesk dev` gives its children: exactly its own settings."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from frontdesk.config import Settings
from frontdesk.devstack.supervisor import child_environment


def test_children_get_every_setting_spelled_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRONTDESK_ANTHROPIC_API_KEY", "from-the-parent-shell")
    monkeypatch.chdir(tmp_path)
    settings = Settings(
        var_dir=Path("data"),
        api_port=9123,
        log_json=True,
        anthropic_api_key=None,
        deepgram_api_key=SecretStr("dg-key"),
    )

    env = child_environment(settings)

    assert env["FRONTDESK_VAR_DIR"] == str(tmp_path / "data")
    assert env["FRONTDESK_DATABASE_URL"] == "sqlite:///data/frontdesk.db"
    assert env["FRONTDESK_API_PORT"] == "9123"
    assert env["FRONTDESK_LOG_JSON"] == "true"
    assert env["FRONTDESK_DEEPGRAM_API_KEY"] == "dg-key"
    # A setting that is None in the parent must not reach the child from the inherited shell.
    assert "FRONTDESK_ANTHROPIC_API_KEY" not in env


def test_the_environment_reads_back_as_the_same_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env in the way
    settings = Settings(api_port=9124, temporal_address="127.0.0.1:9125", twilio_auth_token=SecretStr("tok"))
    env = child_environment(settings)
    for key in [key for key in env if key.startswith("FRONTDESK_")]:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        if key.startswith("FRONTDESK_"):
            monkeypatch.setenv(key, value)

    child = Settings()

    expected = settings.model_copy(update={"var_dir": settings.var_dir.resolve()})
    assert child.model_dump() == expected.model_dump()
