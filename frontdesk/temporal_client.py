"""Connecting to Temporal: a bounded retry for processes that start beside the server, and a
cached client for the API and media processes (one connection per process, made on first use).
"""

import asyncio
import time

from temporalio.client import Client
from temporalio.converter import DataConverter

from frontdesk.config import Settings
from frontdesk.logs import get_logger
from frontdesk.payload_codec import converter_for
from frontdesk.tracing import temporal_interceptors

log = get_logger(__name__)

# Pause between connection attempts while a server is still starting.
_RETRY_PAUSE_S = 0.25


class TemporalUnavailableError(RuntimeError):
    """Temporal did not answer at the configured address in the time allowed."""


class InvalidTemporalAddressError(ValueError):
    """The configured Temporal address cannot be connected to however long one waits."""


async def connect_once(
    address: str, namespace: str, *, within: float, data_converter: DataConverter = DataConverter.default
) -> Client:
    """One connection attempt to Temporal at `address`, bounded by `within` seconds; the client
    reads and writes payloads with `data_converter` (frontdesk.payload_codec.converter_for), and
    carries the trace context while tracing is on (frontdesk.tracing)."""
    try:
        return await asyncio.wait_for(
            Client.connect(
                address,
                namespace=namespace,
                data_converter=data_converter,
                interceptors=temporal_interceptors(),
            ),
            within,
        )
    except ValueError as exc:
        raise InvalidTemporalAddressError(
            f"FRONTDESK_TEMPORAL_ADDRESS={address!r} is not a usable address: {exc}"
        ) from exc
    except TimeoutError as exc:
        raise TemporalUnavailableError(f"Temporal at {address} did not answer within {within:g}s") from exc
    except RuntimeError as exc:
        raise TemporalUnavailableError(f"cannot connect to Temporal at {address}: {exc}") from exc


async def connect_temporal(
    address: str, namespace: str, *, within: float, data_converter: DataConverter = DataConverter.default
) -> Client:
    """Connect to Temporal at `address`, retrying for up to `within` seconds (payloads through
    `data_converter`).

    Raises TemporalUnavailableError with the last connection error when the time runs out.
    """
    deadline = time.monotonic() + within
    attempts = 0
    while True:
        attempts += 1
        try:
            return await connect_once(
                address,
                namespace,
                within=max(deadline - time.monotonic(), 0.1),
                data_converter=data_converter,
            )
        except TemporalUnavailableError as exc:
            if deadline - time.monotonic() <= _RETRY_PAUSE_S:
                raise TemporalUnavailableError(
                    f"Temporal at {address} (namespace {namespace!r}) did not answer within {within:g}s "
                    f"({attempts} attempts); last error: {exc}. "
                    "Check FRONTDESK_TEMPORAL_ADDRESS and that the Temporal server is running."
                ) from exc
        log.debug("temporal_connect_retry", address=address, attempt=attempts)
        await asyncio.sleep(_RETRY_PAUSE_S)


async def connect_settings(settings: Settings, *, within: float) -> Client:
    """`connect_temporal` to the Temporal server of `settings`, its payloads encrypted as they say."""
    return await connect_temporal(
        settings.temporal_address,
        settings.temporal_namespace,
        within=within,
        data_converter=converter_for(settings),
    )


class TemporalClientCache:
    """One Temporal client per process, connected on first use and reused afterwards.

    A failed connection is not cached, so the next caller tries again; once connected, the
    client's channel reconnects by itself if the server restarts.
    """

    def __init__(
        self, address: str, namespace: str, data_converter: DataConverter = DataConverter.default
    ) -> None:
        """Remember where Temporal is; nothing connects until `get` is awaited."""
        self.address = address
        self.namespace = namespace
        self.data_converter = data_converter
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, settings: Settings) -> "TemporalClientCache":
        """The cache of the Temporal server of `settings`, its payloads encrypted as they say."""
        return cls(settings.temporal_address, settings.temporal_namespace, converter_for(settings))

    async def get(self, within: float = 5.0) -> Client:
        """The connected client; one attempt, raising TemporalUnavailableError after `within` seconds."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await connect_once(
                    self.address, self.namespace, within=within, data_converter=self.data_converter
                )
            return self._client
