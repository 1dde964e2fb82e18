"""One `frontdesk dev` of a test: a subprocess on free ports with its data in a temp dir, and
what its banner prints."""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from frontdesk.devstack.ports import free_port
from tests.stack.processes import (
    frontdesk_env,
    output_of,
    start_frontdesk,
    wait_for_http_200,
    wait_for_output,
)


@dataclass(frozen=True)
class DevStack:
    """Where one `frontdesk dev` of a test keeps its data and listens."""

    home: Path
    api_port: int
    temporal_port: int
    ui_port: int
    metrics_port: int

    @classmethod
    def on_free_ports(cls, home: Path) -> "DevStack":
        return cls(home, free_port(), free_port(), free_port(), free_port())

    @property
    def var_dir(self) -> Path:
        return self.home / "var"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'frontdesk.db'}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    def env(self) -> dict[str, str]:
        # Only the var dir and the ports: the database URL must follow the var dir by default.
        return frontdesk_env(
            var_dir=str(self.var_dir),
            api_port=str(self.api_port),
            temporal_address=self.temporal_address,
            temporal_ui_port=str(self.ui_port),
            temporal_metrics_port=str(self.metrics_port),
        )


def run_until_ready(
    stack: DevStack, started: list[subprocess.Popen[bytes]], log: Path
) -> subprocess.Popen[bytes]:
    """Start `frontdesk dev` on `stack` (kept in `started`), once its banner is printed."""
    dev = start_frontdesk(["dev"], stack.env(), stack.home, log)
    started.append(dev)
    wait_for_http_200(f"{stack.api_url}/readyz", dev, log)
    # The supervisor polls /readyz itself before printing its table, so ours can answer first.
    wait_for_output("Press Ctrl-C to stop everything.", dev, log)
    return dev


def banner_password(log: Path, email: str) -> str:
    """The password the banner prints beside `email`."""
    found = re.search(rf"{re.escape(email)} / (\S+)", output_of(log))
    assert found is not None, output_of(log)
    return found.group(1)


def sign_in(client: httpx.Client, email: str, password: str) -> str:
    """Sign `client` in to the dashboard as a browser does; where it sends the browser."""
    form = client.get("/app/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = client.post(
        "/app/sign-in", data={"email": email, "password": password, "sign_in_token": token.group(1)}
    )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]
