"""Connecting to Temporal: a bounded retry for processes that start beside the server, and a
cached client for the API and media processes (one connection per process, made on first use).
"""

import asyncio
import time

from temporalio.client import Client

from frontdesk.logs import get_logger

log = get_logger(__name__)

# Pause between connection attempts while a server is still starting.
_RETRY_PAUSE_S = 0.25


class TemporalUnavailableError(RuntimeError):
    """Temporal did not answer at the configured address in the time allowed."""


class InvalidTemporalAddressError(ValueError):
    """The configured Temporal address cannot be connected to however long one waits."""


async def connect_once(address: str, namespace: str, *, within: float) -> Client:
    """One connection attempt to Temporal at `address`, bounded by `within` seconds."""
    try:
        return await asyncio.wait_for(Client.connect(address, namespace=namespace), within)
    except ValueError as exc:
        raise InvalidTemporalAddressError(
            f"FRONTDESK_TEMPORAL_ADDRESS={address!r} is not a usable address: {exc}"
        ) from exc
    except TimeoutError as exc:
        raise TemporalUnavailableError(f"Temporal at {address} did not answer within {within:g}s") from exc
    except RuntimeError as exc:
        raise TemporalUnavailableError(f"cannot connect to Temporal at {address}: {exc}") from exc


async def connect_temporal(address: str, namespace: str, *, within: float) -> Client:
    """Connect to Temporal at `address`, retrying for up to `within` seconds.

    Raises TemporalUnavailableError with the last connection error when the time runs out.
    """
    deadline = time.monotonic() + within
    attempts = 0
    while True:
        attempts += 1
        try:
            return await connect_once(address, namespace, within=max(deadline - time.monotonic(), 0.1))
        except TemporalUnavailableError as exc:
            if deadline - time.monotonic() <= _RETRY_PAUSE_S:
                raise TemporalUnavailableError(
                    f"Temporal at {address} (namespace {namespace!r}) did not answer within {within:g}s "
                    f"({attempts} attempts); last error: {exc}. "
                    "Check FRONTDESK_TEMPORAL_ADDRESS and that the Temporal server is running."
                ) from exc
        log.debug("temporal_connect_retry", address=address, attempt=attempts)
        await asyncio.sleep(_RETRY_PAUSE_S)


class TemporalClientCache:
    """One Temporal client per process, connected on first use and reused afterwards.

    A failed connection is not cached, so the next caller tries again; once connected, the
    client's channel reconnects by itself if the server restarts.
    """

    def __init__(self, address: str, namespace: str) -> None:
        """Remember where Temporal is; nothing connects until `get` is awaited."""
        self.address = address
        self.namespace = namespace
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def get(self, within: float = 5.0) -> Client:
        """The connected client; one attempt, raising TemporalUnavailableError after `within` seconds."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await connect_once(self.address, self.namespace, within=within)
            return self._client
