"""The port check `frontdesk dev` runs before starting anything."""

import re
import socket
from pathlib import Path

import pytest

from frontdesk.devstack.errors import DevStackError
from frontdesk.devstack.ports import (
    PortNeed,
    PortUnavailableError,
    ensure_ports_free,
    free_port,
    split_address,
)


def test_free_ports_pass() -> None:
    ensure_ports_free([PortNeed("API", "127.0.0.1", free_port(), "FRONTDESK_API_PORT")])


def test_a_chosen_port_is_one_the_kernel_does_not_hand_out_by_itself() -> None:
    """A port from bind(0) can be handed to another process before our server binds it (a CI run
    lost the API's port to the Temporal dev server that way); chosen ports lie below that range."""
    ephemeral_start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = {free_port() for _ in range(50)}

    assert all(port < ephemeral_start for port in ports)
    assert len(ports) > 1  # chosen at random, so two stacks started together rarely collide
    for port in ports:
        ensure_ports_free([PortNeed("API", "127.0.0.1", port, "FRONTDESK_API_PORT")])


def test_a_taken_port_names_the_port_the_service_and_the_setting() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        needs = [
            PortNeed("Temporal UI", "127.0.0.1", free_port(), "FRONTDESK_TEMPORAL_UI_PORT"),
            PortNeed("API and media server", "127.0.0.1", taken, "FRONTDESK_API_PORT"),
        ]

        with pytest.raises(PortUnavailableError) as raised:
            ensure_ports_free(needs)

    message = str(raised.value)
    assert f"port {taken} on 127.0.0.1 is already in use" in message
    assert "API and media server" in message
    assert "FRONTDESK_API_PORT" in message
    assert "Temporal UI" not in message


def test_an_unresolvable_host_is_reported() -> None:
    with pytest.raises(PortUnavailableError, match=re.escape("cannot resolve host 'no-such-host.invalid'")):
        ensure_ports_free([PortNeed("API", "no-such-host.invalid", free_port(), "FRONTDESK_API_HOST")])


def test_split_address() -> None:
    assert split_address("127.0.0.1:7233", "FRONTDESK_TEMPORAL_ADDRESS") == ("127.0.0.1", 7233)
    assert split_address("[::1]:7233", "FRONTDESK_TEMPORAL_ADDRESS") == ("::1", 7233)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.1:", ":7233", "host:port", "host:70000"])
def test_split_address_rejects_malformed_addresses(address: str) -> None:
    with pytest.raises(DevStackError, match="is not of the form host:port"):
        split_address(address, "FRONTDESK_TEMPORAL_ADDRESS")
