"""Several media processes on one port: `frontdesk realtime --processes N`.

Each process is a whole media server (its own models, speech connections and event loop) and
carries each of its calls wholly: a call is one WebSocket, and the kernel hands each new
connection to one of the processes listening on the port (SO_REUSEPORT). A process joins the
port only once its app has started (its socket listens then), so no call waits on one still
loading its models.

The parent only supervises. SIGTERM and SIGINT are passed on to every process (each drains on
SIGTERM: devstack/servers.py), SIGHUP as SIGTERM (the terminal closed: drain as for a deploy), and
the parent exits once they all have, with the signal as its exit status. A process that exits on
its own, unasked, makes the parent stop the others (SIGTERM: they drain) and exit with status 1,
so the orchestrator restarts the whole unit.

The processes' Prometheus metrics are added up across them (api/v1/prometheus.py): the parent
gives them a multiprocess folder of its own, unless PROMETHEUS_MULTIPROC_DIR names one, and
empties it of a process's live gauges once that process has ended.
"""

import multiprocessing
import os
import signal
import socket
import sys
import tempfile
from contextlib import ExitStack
from multiprocessing.connection import wait
from types import FrameType
from typing import Final

from prometheus_client import multiprocess

from frontdesk.api.v1.prometheus import MULTIPROCESS_DIR_VARIABLE
from frontdesk.config import get_settings
from frontdesk.logs import configure_logging, get_logger

log = get_logger(__name__)

# What each signal the parent gets is passed on as.
PASSED_ON: Final = {
    signal.SIGTERM: signal.SIGTERM,
    signal.SIGINT: signal.SIGINT,
    signal.SIGHUP: signal.SIGTERM,
}


def serve_media_processes(count: int) -> None:
    """Run `count` media processes on the configured realtime port until a signal, or until one
    of them fails; exits the interpreter with the outcome (see the module docstring)."""
    if count < 1:
        raise ValueError(f"the number of media processes must be at least 1, got {count}")
    with ExitStack() as cleanup:
        if not os.environ.get(MULTIPROCESS_DIR_VARIABLE):
            # Set before any process starts: each reads it when it first imports prometheus_client.
            folder = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="frontdesk-metrics-"))
            os.environ[MULTIPROCESS_DIR_VARIABLE] = folder
        failed, received = _run_processes(count)
    if failed:
        sys.exit(1)
    signal.raise_signal(received)  # as one media process would end: by the signal it got


def _run_processes(count: int) -> tuple[bool, int]:
    """Start the processes and wait until all have ended: whether one ended unasked, and the
    first signal the parent received (SIGTERM when none)."""
    # spawn: each process a fresh interpreter, importing its models itself (fork would copy an
    # event loop and threads that are not safe to copy).
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_media_process, name=f"media-{n + 1}") for n in range(count)]
    received: list[int] = []

    def pass_on(sig: int, _frame: FrameType | None) -> None:
        received.append(sig)
        for process in processes:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, PASSED_ON[signal.Signals(sig)])

    for sig in PASSED_ON:
        signal.signal(sig, pass_on)
    for process in processes:
        process.start()
    log.info("media.processes_started", processes=count, pids=[process.pid for process in processes])
    running = list(processes)
    failed = False
    while running:
        ready = wait([process.sentinel for process in running])
        for ended in [process for process in running if process.sentinel in ready]:
            ended.join()
            running.remove(ended)
            multiprocess.mark_process_dead(ended.pid)
            if not received and not failed:
                failed = True
                log.error("media.process_ended_unasked", pid=ended.pid, exit_code=ended.exitcode)
                for process in running:
                    process.terminate()  # SIGTERM: each drains its calls
    for sig in PASSED_ON:
        signal.signal(sig, signal.SIG_DFL)
    return failed, received[0] if received else signal.SIGTERM


def _media_process() -> None:
    """One media process: a socket of its own on the shared port, then the media server."""
    from frontdesk.devstack.servers import serve_realtime  # in the child only: the app and its models

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json, settings.secret_key.get_secret_value())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.api_host, settings.realtime_port))
    serve_realtime(settings, sock)
