"""`frontdesk dev`: the whole stack on one machine, started in order and stopped as one.

Order: check ports, migrate and seed the database, start the Temporal dev server, the worker
and the web server (API + media) as child processes, wait until Temporal and /readyz answer,
print the URLs, then watch. With `dev_media_processes` the media socket is served apart, by
`frontdesk realtime --processes N` on realtime_port (as production runs it), and the web server
is the API alone. Ctrl-C (or SIGTERM, or SIGHUP) stops the web server and the worker first and
Temporal last; a child that dies on its own stops the rest and makes the exit code non-zero.
One stack runs per data folder (data_lock.py).
"""

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from frontdesk.api.codec_server import codec_endpoint
from frontdesk.api.health import describe_failure
from frontdesk.api.temporal_ui_proxy import UI_PATH
from frontdesk.config import Settings
from frontdesk.devstack.data_lock import claim_data_folder
from frontdesk.devstack.demo_clinic import DemoClinic, prepare_database
from frontdesk.devstack.errors import DevStackError
from frontdesk.devstack.executables import installed_executable
from frontdesk.devstack.ports import PortNeed, ensure_ports_free, split_address
from frontdesk.devstack.processes import Child, spawn, stop_children
from frontdesk.devstack.temporal_server import RunningTemporalServer, TemporalDevServer
from frontdesk.logs import get_logger
from frontdesk.payload_codec import PAYLOAD_KEYS_FILE, ensure_keys_file

log = get_logger(__name__)

# A first start on a busy two-core machine creates the Temporal schema: allow for it.
STARTUP_TIMEOUT_S = 120.0
# Children get this long after SIGTERM before SIGKILL (the worker's own grace is 10 s).
STOP_GRACE_S = 15.0
_POLL_S = 0.2
_READY_ATTEMPT_TIMEOUT_S = 5.0


def run_dev(settings: Settings) -> int:
    """Run the embedded stack until SIGINT/SIGTERM; 0 after a requested stop, 1 on any failure."""
    console = Console()
    try:
        return asyncio.run(_run_dev(settings, console))
    except DevStackError as exc:
        console.print(f"[bold red]frontdesk dev:[/] {escape(str(exc))}", highlight=False)
        return 1


def _port_needs(settings: Settings) -> list[PortNeed]:
    temporal_host, temporal_port = split_address(settings.temporal_address, "FRONTDESK_TEMPORAL_ADDRESS")
    needs = [
        PortNeed("Temporal frontend", temporal_host, temporal_port, "FRONTDESK_TEMPORAL_ADDRESS"),
        PortNeed("Temporal UI", temporal_host, settings.temporal_ui_port, "FRONTDESK_TEMPORAL_UI_PORT"),
        PortNeed(
            "Temporal metrics",
            temporal_host,
            settings.temporal_metrics_port,
            "FRONTDESK_TEMPORAL_METRICS_PORT",
        ),
    ]
    if settings.dev_media_processes:
        needs.append(PortNeed("API", settings.api_host, settings.api_port, "FRONTDESK_API_PORT"))
        needs.append(
            PortNeed("media server", settings.api_host, settings.realtime_port, "FRONTDESK_REALTIME_PORT")
        )
    else:
        needs.append(
            PortNeed("API and media server", settings.api_host, settings.api_port, "FRONTDESK_API_PORT")
        )
    return needs


def child_environment(settings: Settings) -> dict[str, str]:
    """Our environment with every setting spelled out, so children run with exactly `settings`."""
    env = dict(os.environ)
    for name in Settings.model_fields:
        key = f"FRONTDESK_{name.upper()}"
        value = getattr(settings, name)
        if value is None:
            env.pop(key, None)
        elif isinstance(value, SecretStr):
            env[key] = value.get_secret_value()
        elif isinstance(value, bool):
            env[key] = "true" if value else "false"
        elif isinstance(value, Path):
            env[key] = str(value.resolve())
        else:
            env[key] = str(value)
    return env


def _local_host(host: str) -> str:
    """The address to reach a server bound to `host` from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


async def _run_dev(settings: Settings, console: Console) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # SIGHUP too: the terminal `make run` ran in closed, and every child must stop with it.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)

    api_url = f"http://{_local_host(settings.api_host)}:{settings.api_port}"
    media_url = f"http://{_local_host(settings.api_host)}:{settings.realtime_port}"
    if "public_base_url" not in settings.model_fields_set:  # Twilio's callbacks reach this stack's API
        settings = settings.model_copy(update={"public_base_url": api_url})
    if settings.dev_media_processes and "public_media_url" not in settings.model_fields_set:
        settings = settings.model_copy(update={"public_media_url": media_url})
    if not settings.twilio_account_sid and "outbound_carrier" not in settings.model_fields_set:
        # Offline, campaign calls go to a simulated patient through this stack's own webhooks.
        settings = settings.model_copy(update={"outbound_carrier": "local"})
    if settings.temporal_ui_upstream is None:
        # The API serves the embedded Temporal UI, so the UI decodes payloads with the dashboard's sign-in.
        ui_host = _local_host(split_address(settings.temporal_address, "FRONTDESK_TEMPORAL_ADDRESS")[0])
        settings = settings.model_copy(
            update={
                "temporal_ui_upstream": f"http://{ui_host}:{settings.temporal_ui_port}",
                "temporal_ui_url": settings.temporal_ui_url or f"{api_url}{UI_PATH}",
            }
        )
    if "call_clock_override" not in settings.model_fields_set:
        # The local stack is where the test-call suite places calls at its scenarios' moments.
        settings = settings.model_copy(update={"call_clock_override": True})
    # A second stack on a folder in use is told so before its ports look taken.
    folder = claim_data_folder(settings.var_dir) if settings.var_dir.exists() else None
    needs = _port_needs(settings)
    ensure_ports_free(needs)
    with folder or claim_data_folder(settings.var_dir):
        if settings.payload_keys is None and settings.payload_keys_file is None:
            # Temporal payloads are encrypted here as in production, with a key made on the first run.
            keys_file = ensure_keys_file(settings.var_dir / PAYLOAD_KEYS_FILE)
            settings = settings.model_copy(update={"payload_keys_file": keys_file})
        return await _run_stack(settings, console, needs, stop, api_url, media_url)


async def _run_stack(
    settings: Settings,
    console: Console,
    needs: list[PortNeed],
    stop: asyncio.Event,
    api_url: str,
    media_url: str,
) -> int:
    demo = prepare_database(settings.database_url, settings.var_dir)

    env = child_environment(settings)
    temporal_config = TemporalDevServer(
        data_dir=settings.var_dir,
        host=needs[0].host,
        port=needs[0].port,
        ui_port=settings.temporal_ui_port,
        namespace=settings.temporal_namespace,
        metrics_port=settings.temporal_metrics_port,
        ui_public_path=UI_PATH,
        ui_codec_endpoint=codec_endpoint(api_url),  # the origin the UI is served from
    )
    # Every child is forked before anything here starts a thread: the pre-exec hook needs that.
    temporal = temporal_config.start(env)
    frontdesk = str(installed_executable("frontdesk", "frontdesk"))
    apps = [spawn("worker", [frontdesk, "worker"], env=env)]
    ready_urls = [api_url]
    if settings.dev_media_processes:
        processes = str(settings.dev_media_processes)
        apps.append(spawn("API", [frontdesk, "api"], env=env))
        apps.append(spawn("media server", [frontdesk, "realtime", "--processes", processes], env=env))
        ready_urls.append(media_url)
    else:
        apps.append(
            spawn("web server", [sys.executable, "-m", "frontdesk.devstack.embedded_server"], env=env)
        )
    try:
        return await _supervise(settings, console, ready_urls, temporal, apps, stop, demo)
    finally:
        # Web server and worker first: the worker drains while Temporal is still there.
        stop_children(apps, STOP_GRACE_S)
        stop_children([temporal.child], STOP_GRACE_S)
        console.print("[bold]frontdesk dev:[/] stopped", highlight=False)


async def _supervise(
    settings: Settings,
    console: Console,
    ready_urls: list[str],
    temporal: RunningTemporalServer,
    apps: list[Child],
    stop: asyncio.Event,
    demo: DemoClinic | None,
) -> int:
    """`ready_urls`: the web servers whose /readyz must answer, the API's first."""
    children = [temporal.child, *apps]
    startup = asyncio.create_task(_start_up(temporal, ready_urls))
    watching = asyncio.create_task(_watch(children, stop))
    await asyncio.wait({startup, watching}, return_when=asyncio.FIRST_COMPLETED)
    if not startup.done():
        startup.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await startup
        return _report_end(console, await watching, temporal)
    watching.cancel()
    startup.result()  # raises a startup failure with its explanation

    _print_urls(console, settings, ready_urls, temporal, demo)
    return _report_end(console, await _watch(children, stop), temporal)


async def _start_up(temporal: RunningTemporalServer, ready_urls: list[str]) -> None:
    await temporal.wait_until_serving(STARTUP_TIMEOUT_S)
    await asyncio.gather(*(_wait_until_ready(url, STARTUP_TIMEOUT_S) for url in ready_urls))


async def _wait_until_ready(url: str, within: float) -> None:
    """Poll a web server's /readyz until it answers 200."""
    deadline = time.monotonic() + within
    last = "no answer yet"
    async with httpx.AsyncClient(timeout=_READY_ATTEMPT_TIMEOUT_S) as client:
        while time.monotonic() < deadline:
            try:
                response = await client.get(f"{url}/readyz")
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            except httpx.HTTPError as exc:
                last = describe_failure(exc, [])
            await asyncio.sleep(_POLL_S)
    raise DevStackError(f"the web server at {url} was not ready within {within:g}s (last answer: {last})")


async def _watch(children: list[Child], stop: asyncio.Event) -> Child | None:
    """Wait for a stop request (None) or for a child to exit (that child)."""
    while not stop.is_set():
        for child in children:
            if child.exit_code() is not None:
                return child
        try:
            await asyncio.wait_for(stop.wait(), _POLL_S)
        except TimeoutError:
            continue
    return None


def _report_end(console: Console, died: Child | None, temporal: RunningTemporalServer) -> int:
    if died is None:
        console.print("[bold]frontdesk dev:[/] stopping", highlight=False)
        return 0
    log.error("child_died", child=died.name, exit_code=died.exit_code())
    console.print(
        f"[bold red]frontdesk dev:[/] the {died.name} exited unexpectedly with code {died.exit_code()}; "
        "stopping the rest",
        highlight=False,
    )
    if died is temporal.child:
        console.print(f"Last lines of {temporal.config.log_file}:\n{temporal.log_tail()}", markup=False)
    return 1


def _print_urls(
    console: Console,
    settings: Settings,
    ready_urls: list[str],
    temporal: RunningTemporalServer,
    demo: DemoClinic | None,
) -> None:
    api_url, *media_urls = ready_urls
    ui_url = settings.temporal_ui_url or f"{api_url}{UI_PATH}"
    table = Table(title="Frontdesk is running", show_header=False, title_justify="left")
    table.add_row("API", api_url)
    table.add_row("Dashboard", f"{api_url}/app/")
    table.add_row("API docs", f"{api_url}/docs")
    table.add_row("Health", f"{api_url}/healthz")
    for media_url in media_urls:
        table.add_row("Media server", f"{media_url} ({settings.dev_media_processes} processes)")
    table.add_row("Temporal UI", ui_url)
    table.add_row("Temporal", f"{temporal.config.address} (task queue {settings.temporal_task_queue})")
    table.add_row("Data", str(settings.var_dir.resolve()))
    if demo is None:
        table.add_row("Demo clinic", "not in this database (run `frontdesk seed` to add it)")
    else:
        table.add_row("Demo clinic", f"{demo.name} ({demo.slug}), call {', '.join(demo.numbers)}")
        if demo.admin is None:
            table.add_row("Sign in", "make a user: frontdesk users create --clinic demo --email ...")
        else:
            table.add_row("Sign in", f"{demo.admin.email} / {demo.admin.password}")
        if demo.operator is not None:  # reads every clinic, and the Temporal UI's payloads
            table.add_row("Operator", f"{demo.operator.email} / {demo.operator.password}")
    console.print(table)
    console.print("Press Ctrl-C to stop everything.")
