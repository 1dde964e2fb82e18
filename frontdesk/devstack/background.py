"""A whole `frontdesk dev` stack started in the background on free ports, for the tools that need
one of their own (`frontdesk eval --embedded`, `frontdesk bench`): it keeps its data in a given
folder, runs with the given setting overrides, and stops with everything it started."""

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from frontdesk.config import Settings
from frontdesk.devstack.errors import DevStackError
from frontdesk.devstack.executables import installed_executable
from frontdesk.devstack.ports import free_port
from frontdesk.devstack.processes import Child, log_tail, spawn, stop_children
from frontdesk.devstack.supervisor import STARTUP_TIMEOUT_S, STOP_GRACE_S
from frontdesk.payload_codec import PAYLOAD_KEYS_FILE, ensure_keys_file

# The supervisor prints this once /readyz answered and every child is up.
_READY_LINE = b"Press Ctrl-C to stop everything."
_POLL_S = 0.2


@dataclass(frozen=True)
class BackgroundStack:
    """A running stack: where its API and media server answer, and the settings it runs with."""

    base_url: str
    media_url: str  # the media server's own address (base_url when the API serves the socket)
    settings: Settings
    log_file: Path
    pid: int


def stack_settings(workdir: Path, overrides: Mapping[str, str]) -> dict[str, str]:
    """The FRONTDESK_* variables of a stack kept in `workdir` on free ports, then `overrides`."""
    variables = {
        "FRONTDESK_VAR_DIR": str((workdir / "var").resolve()),
        "FRONTDESK_API_HOST": "127.0.0.1",
        "FRONTDESK_API_PORT": str(free_port()),
        "FRONTDESK_REALTIME_PORT": str(free_port()),
        "FRONTDESK_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "FRONTDESK_TEMPORAL_UI_PORT": str(free_port()),
        "FRONTDESK_TEMPORAL_METRICS_PORT": str(free_port()),
        # Made here, so the tool's own Temporal client reads the stack's encrypted payloads.
        "FRONTDESK_PAYLOAD_KEYS_FILE": str(ensure_keys_file(workdir / "var" / PAYLOAD_KEYS_FILE)),
    }
    return {**variables, **overrides}


@asynccontextmanager
async def background_stack(
    workdir: Path, overrides: Mapping[str, str] | None = None
) -> AsyncIterator[BackgroundStack]:
    """Start `frontdesk dev` kept in `workdir`, wait until it serves, yield it, stop it.

    `overrides` are FRONTDESK_* environment variables (vendor URLs and keys, the database...).
    Raises DevStackError, with the end of the stack's log, when it does not come up."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    variables = stack_settings(workdir, overrides or {})
    base_url = f"http://127.0.0.1:{variables['FRONTDESK_API_PORT']}"
    media_url = base_url
    if int(variables.get("FRONTDESK_DEV_MEDIA_PROCESSES", "0")):
        media_url = f"http://127.0.0.1:{variables['FRONTDESK_REALTIME_PORT']}"
    variables.setdefault("FRONTDESK_PUBLIC_BASE_URL", base_url)  # as `frontdesk dev` defaults it
    # Settings not overridden come from our own environment, as they would for `frontdesk dev`.
    env = {**os.environ, **variables}
    settings = Settings(**{key.removeprefix("FRONTDESK_").lower(): value for key, value in variables.items()})
    log_file = workdir / "stack.log"
    with log_file.open("wb") as output:
        command = [str(installed_executable("frontdesk", "frontdesk")), "dev"]
        child = spawn("frontdesk dev", command, env=env, output=output)
    try:
        await _wait_until_ready(child, log_file, base_url)
        yield BackgroundStack(base_url, media_url, settings, log_file, child.pid)
    finally:
        # The supervisor stops its own children on SIGTERM; its group is cleaned up after it.
        await asyncio.to_thread(_stop, child)


def _stop(child: Child) -> None:
    if child.exit_code() is None:
        os.kill(child.pid, signal.SIGTERM)
    stop_children([child], STOP_GRACE_S * 2)


async def _wait_until_ready(child: Child, log_file: Path, base_url: str) -> None:
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            if child.exit_code() is not None:
                raise DevStackError(
                    f"the background stack exited with {child.exit_code()} while starting:\n"
                    + log_tail(log_file)
                )
            if _READY_LINE in await asyncio.to_thread(log_file.read_bytes):
                try:
                    if (await client.get(f"{base_url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass  # not listening yet
            if asyncio.get_running_loop().time() > deadline:
                raise DevStackError(
                    f"the background stack did not serve within {STARTUP_TIMEOUT_S:g} s:\n"
                    + log_tail(log_file)
                )
            await asyncio.sleep(_POLL_S)
