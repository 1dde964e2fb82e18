"""Connecting to Temporal: the per-process cache and the bounded retry."""

import re

import pytest
from temporalio.testing import WorkflowEnvironment

from frontdesk.devstack.ports import free_port
from frontdesk.temporal_client import (
    InvalidTemporalAddressError,
    TemporalClientCache,
    TemporalUnavailableError,
    connect_temporal,
)
from tests.temporal_fixtures import temporal_address


async def test_cache_connects_once_and_reuses_the_client(temporal_env: WorkflowEnvironment) -> None:
    cache = TemporalClientCache(temporal_address(temporal_env), "default")

    first = await cache.get()
    second = await cache.get()

    assert first is second
    assert await first.service_client.check_health()


async def test_cache_does_not_keep_a_failed_connection() -> None:
    address = f"127.0.0.1:{free_port()}"
    cache = TemporalClientCache(address, "default")

    for _ in range(2):  # the second call tries again rather than replaying a cached failure
        with pytest.raises(TemporalUnavailableError, match=address):
            await cache.get(within=1.0)


async def test_connect_gives_up_with_the_address_and_the_setting_to_check() -> None:
    address = f"127.0.0.1:{free_port()}"

    with pytest.raises(TemporalUnavailableError) as raised:
        await connect_temporal(address, "default", within=0.6)

    message = str(raised.value)
    assert address in message
    assert "FRONTDESK_TEMPORAL_ADDRESS" in message
    assert "Connection refused" in message


async def test_a_malformed_address_is_a_configuration_error() -> None:
    expected = re.escape("FRONTDESK_TEMPORAL_ADDRESS='127.0.0.1:99999'")
    with pytest.raises(InvalidTemporalAddressError, match=expected):
        await connect_temporal("127.0.0.1:99999", "default", within=5)
