"""Checking, before anything starts, that every port the embedded stack listens on is free."""

import errno
import random
import socket
from dataclasses import dataclass
from pathlib import Path

from frontdesk.devstack.errors import DevStackError


class PortUnavailableError(DevStackError):
    """One or more ports the stack needs cannot be listened on; the message says how to fix it."""


@dataclass(frozen=True)
class PortNeed:
    """A port one part of the stack will listen on, and the setting that chooses it."""

    service: str
    host: str
    port: int
    env_var: str


# Ports below the kernel's ephemeral range: a port chosen there stays free until our server binds
# it, where a port the kernel handed out (bind to 0) may be handed out again in the meantime, e.g.
# to the Temporal dev server, which picks its internal services' ports that way.
_CHOSEN_PORTS_FROM = 20000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_DEFAULT_EPHEMERAL_START = 32768
_TRIES = 200


def _ephemeral_start() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_EPHEMERAL_START


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing uses now and that the kernel does not hand out by itself,
    for a server started later (a background stack, a test's server)."""
    low, high = _CHOSEN_PORTS_FROM, max(_CHOSEN_PORTS_FROM + 1000, _ephemeral_start() - 1)
    for _ in range(_TRIES):
        port = random.randint(low, high)
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise PortUnavailableError(f"no free port on {host} between {low} and {high} after {_TRIES} tries")


def split_address(address: str, env_var: str) -> tuple[str, int]:
    """Split `host:port` (as in FRONTDESK_TEMPORAL_ADDRESS) into its parts, with a clear error."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DevStackError(f"{env_var}={address!r} is not of the form host:port (e.g. 127.0.0.1:7233)")
    return host.strip("[]"), int(port)


def _listen_problem(need: PortNeed) -> str | None:
    """Why `need` cannot be listened on, or None when it can."""
    try:
        infos = socket.getaddrinfo(need.host, need.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"{need.service}: cannot resolve host {need.host!r} ({exc.strerror}); check {need.env_var}"
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # Servers set SO_REUSEADDR too, so a port in TIME_WAIT counts as free, as it is for them.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"{need.service}: port {need.port} on {need.host} is already in use; "
                    f"stop whatever holds it or choose another port with {need.env_var}"
                )
            return (
                f"{need.service}: cannot listen on {need.host}:{need.port} ({exc.strerror}); "
                f"check {need.env_var}"
            )
    return None


def ensure_ports_free(needs: list[PortNeed]) -> None:
    """Raise PortUnavailableError naming every port in `needs` that cannot be listened on."""
    problems = [problem for need in needs if (problem := _listen_problem(need)) is not None]
    if problems:
        raise PortUnavailableError("\n".join(problems))
