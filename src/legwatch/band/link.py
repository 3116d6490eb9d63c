"""BandLink: the supervisor of one legwatch band connection (profile v1), on any bleak backend.

It finds the band, connects through bleak-retry-connector, subscribes, sends SYNC_TIME, STATUS
and START (or BACKFILL after a reconnect), and hands every data notification to its consumer as
``(host receive time ns, bytes)``. It never decodes or stores packets: the collector does that
with :class:`~legwatch.band.legwatch_v1.PacketReassembler`. When the link drops it reconnects in an
explicit loop with capped exponential backoff. Leaving ``async with`` sends STOP, unsubscribes,
disconnects and cancels every task it started.

::

    async with BandLink(finder, backend=None, resume_index=store.next_index) as link:
        async for rx_ns, payload in link.notifications():
            collector.feed(rx_ns, payload)
            if collector.missing:
                await link.backfill(first_missing, count)

``finder`` is an ``async () -> BLEDevice | None``: :func:`scan_finder` for real bands (BleakScanner
by name or service UUID), or ``BumbleCentral.find_device`` for the virtual band in tests.

The BLE notification callback only does ``queue.put_nowait((time.monotonic_ns(), bytes(data)))``
onto a bounded queue; when the consumer falls behind, notifications are dropped, counted in
:attr:`LinkStats.notifications_dropped` and a warning is logged (ble-and-data.md, STYLE.md 11).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from legwatch.band._gatt import write_and_wait
from legwatch.band.legwatch_v1 import (
    CONTROL_CHAR_UUID,
    DATA_CHAR_UUID,
    RANGE_G,
    RATE_HZ,
    SERVICE_UUID,
    STATUS_CHAR_UUID,
    BackfillCommand,
    BandStatus,
    Command,
    CommandResponse,
    ResultCode,
    StartCommand,
    StatusCommand,
    StatusFlags,
    StopCommand,
    SyncTimeCommand,
    decode_response,
    decode_status,
    encode_command,
)
from legwatch.errors import BandLinkError, PacketDecodeError, ParameterError

logger = logging.getLogger(__name__)

Finder = Callable[[], Awaitable[BLEDevice | None]]
Notification = tuple[int, bytes]


@dataclass(frozen=True)
class LinkConfig:
    """Parameters of :class:`BandLink`.

    Attributes
    ----------
    rate_code, range_code : int
        START parameters. Defaults 4 (104 Hz) and 2 (+/-8 g): the reference band
        (PROFILE.md §5, ble-and-data.md "Reference band").
    queue_size : int
        Notifications held for the consumer before dropping. Default 4096: about 17 min of the
        reference band's 4 notifications/s, or 1 s at 4000/s of accelerated tests.
    max_connect_attempts : int
        ``max_attempts`` of bleak-retry-connector per reconnect round. Default 3 (its own
        default is 4; the outer loop retries anyway).
    backoff_initial_s, backoff_max_s, backoff_factor : float
        Delay before reconnect round ``k`` (0-based, reset after a good session):
        ``min(backoff_max_s, backoff_initial_s * backoff_factor**k)``. Defaults 0.5 s, 30 s, 2:
        quick first retries, then no faster than the 30 s that bleak's default connect
        timeout takes anyway.
    command_timeout_s : float
        Wait for a control-point answer. Default 5 s (an indication takes a few 30-50 ms
        connection intervals; BACKFILL answers before it resends).
    att_mtu : int
        ATT MTU to ask for where the backend exposes a way (BlueZ ``_acquire_mtu``). Default 247
        (PROFILE.md §2).
    busy_retry_s : float
        Pause between tries of a BACKFILL the band answered BUSY. Default 0.05 s.
    """

    rate_code: int = 4
    range_code: int = 2
    queue_size: int = 4096
    max_connect_attempts: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    backoff_factor: float = 2.0
    command_timeout_s: float = 5.0
    att_mtu: int = 247
    busy_retry_s: float = 0.05

    def __post_init__(self) -> None:
        if self.rate_code not in RATE_HZ:
            raise ParameterError("rate_code", f"one of {sorted(RATE_HZ)}", self.rate_code)
        if self.range_code not in RANGE_G:
            raise ParameterError("range_code", f"one of {sorted(RANGE_G)}", self.range_code)
        if self.queue_size < 1:
            raise ParameterError("queue_size", "an integer >= 1", self.queue_size)
        if self.max_connect_attempts < 1:
            raise ParameterError(
                "max_connect_attempts", "an integer >= 1", self.max_connect_attempts
            )
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ParameterError(
                "backoff_initial_s",
                f"a delay in (0, backoff_max_s={self.backoff_max_s}] s",
                self.backoff_initial_s,
            )
        if self.backoff_factor < 1:
            raise ParameterError("backoff_factor", "a factor >= 1", self.backoff_factor)

    def backoff_s(self, round_index: int) -> float:
        """Delay in seconds before reconnect round ``round_index`` (0-based)."""
        return min(self.backoff_max_s, self.backoff_initial_s * self.backoff_factor**round_index)


@dataclass
class LinkStats:
    """Counters of a :class:`BandLink` (since construction)."""

    notifications: int = 0
    notifications_dropped: int = 0
    connections: int = 0
    disconnections: int = 0
    connect_failures: int = 0
    backfills: int = 0
    last_status: BandStatus | None = None
    last_sync: tuple[int, int, int] | None = None  # (host send ns, host receive ns, band us)
    reconnect_delays_s: list[float] = field(default_factory=list)


async def scan_finder_once(
    name: str | None = None, service_uuid: str | None = SERVICE_UUID, timeout_s: float = 10.0
) -> BLEDevice | None:
    """Scan with the platform's :class:`bleak.BleakScanner` for a band by name and/or UUID."""

    def match(device: BLEDevice, adv: Any) -> bool:
        if name is not None and (adv.local_name or device.name) != name:
            return False
        if service_uuid is not None:
            return service_uuid.lower() in [u.lower() for u in adv.service_uuids]
        return True

    return await BleakScanner.find_device_by_filter(match, timeout=timeout_s)


def scan_finder(
    name: str | None = None, service_uuid: str | None = SERVICE_UUID, timeout_s: float = 10.0
) -> Finder:
    """A :data:`Finder` for real hardware (see :func:`scan_finder_once`)."""

    async def find() -> BLEDevice | None:
        return await scan_finder_once(name, service_uuid, timeout_s)

    return find


class BandLink:
    """Supervise one band: connect, subscribe, start, reconnect, backfill, stop.

    Parameters
    ----------
    finder : async callable returning BLEDevice or None
        Finds the band before each connection round (:func:`scan_finder`, or
        ``BumbleCentral.find_device`` for the virtual band).
    backend : type of BaseBleakClient or None
        ``BleakClient(backend=...)``; None is the platform's backend.
    config : LinkConfig
        START parameters, queue size, backoff, timeouts.
    resume_index : callable returning int or None, optional
        The next sample index the consumer needs (one past the last it stored), or None when
        it has stored nothing. It is called when a connection ends (so that live packets of
        the next connection cannot move it past the lost samples); after reconnecting to a band
        that is still streaming, the link asks BACKFILL from there to the band's last sample.
        Samples still queued at the disconnect come twice; the collector keeps one per index.
        Without it the link cannot know (it does not decode) and backfills nothing by itself.
    client_kwargs : mapping, optional
        Extra keywords for ``BleakClient`` (e.g. ``bluez={...}`` or ``bumble={...}``).
    """

    def __init__(
        self,
        finder: Finder,
        *,
        backend: type[BaseBleakClient] | None = None,
        config: LinkConfig | None = None,
        resume_index: Callable[[], int | None] | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config or LinkConfig()
        self.stats = LinkStats()
        self._finder = finder
        self._backend = backend
        self._resume_index = resume_index
        self._client_kwargs = dict(client_kwargs or {})
        self.queue: asyncio.Queue[Notification] = asyncio.Queue(self.config.queue_size)
        self._client: BleakClient | None = None
        self._responses: asyncio.Queue[bytes] = asyncio.Queue()
        self._command_lock = asyncio.Lock()
        self._connected = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._closing = asyncio.Event()
        self._closed = asyncio.Event()
        self._started = False
        self._supervisor: asyncio.Task[None] | None = None
        self._dropping = False
        self._resume_from: int | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def __aenter__(self) -> BandLink:
        self._supervisor = asyncio.create_task(self._supervise(), name="band link supervisor")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self, timeout_s: float = 10.0) -> None:
        """Send STOP, unsubscribe and disconnect (if connected), then end every task."""
        self._closing.set()
        task = self._supervisor
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout_s)
            except TimeoutError:
                logger.warning("band link did not stop within %s s; cancelling", timeout_s)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._supervisor = None
        self._closed.set()

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def wait_connected(self, timeout_s: float = 30.0) -> None:
        """Wait until the link is connected and streaming was started or resumed."""
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    # -- consumer side -------------------------------------------------------------------------
    async def notifications(self) -> AsyncIterator[Notification]:
        """Yield ``(host receive time ns, payload bytes)`` until the link is closed."""
        queue = self.queue
        while True:
            try:
                yield queue.get_nowait()
                continue
            except asyncio.QueueEmpty:
                pass
            if self._closed.is_set():
                return
            getter = asyncio.ensure_future(queue.get())
            closer = asyncio.ensure_future(self._closed.wait())
            try:
                await asyncio.wait({getter, closer}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                closer.cancel()
                if not getter.done():
                    getter.cancel()
            if getter.done() and not getter.cancelled():
                yield getter.result()

    async def backfill(self, from_index: int, count: int) -> CommandResponse:
        """Ask the band to resend samples ``[from_index, from_index + count)``.

        ``count`` is clipped to 65535. A BUSY answer (a backfill still being sent) is retried
        every ``busy_retry_s`` for up to ``command_timeout_s``. Returns the band's answer: OK
        with the range that will come, or NOT_AVAILABLE when the ring buffer no longer holds it.
        """
        command = BackfillCommand(from_sample_index=from_index, count=min(count, 0xFFFF))
        deadline = time.monotonic() + self.config.command_timeout_s
        while True:
            response = await self.command(command)
            if response.result != ResultCode.BUSY or time.monotonic() > deadline:
                break
            await asyncio.sleep(self.config.busy_retry_s)
        if response.result == ResultCode.OK:
            self.stats.backfills += 1
        return response

    async def status(self) -> BandStatus:
        """Ask the band for its status record."""
        response = await self.command(StatusCommand())
        if response.status is None:
            raise BandLinkError(f"STATUS answered {response.result.name}, expected OK")
        self.stats.last_status = response.status
        return response.status

    async def command(self, command: Command) -> CommandResponse:
        """Write one control-point command and wait for the indication that answers it."""
        client = self._client
        if client is None or not client.is_connected:
            await self.wait_connected(self.config.command_timeout_s)
            client = self._client
        if client is None:
            raise BandLinkError("not connected to the band")
        payload = encode_command(command)
        async with self._command_lock:
            data = await write_and_wait(
                client, CONTROL_CHAR_UUID, payload, self._responses, self.config.command_timeout_s
            )
        try:
            response = decode_response(data)
        except PacketDecodeError as exc:
            raise BandLinkError(f"bad answer to command {payload.hex()}: {exc}") from exc
        if response.opcode != payload[0]:
            raise BandLinkError(
                f"answer to opcode 0x{response.opcode:02X}, expected 0x{payload[0]:02X}"
            )
        return response

    # -- callbacks (sync, on the event loop) ----------------------------------------------------
    def _on_data(self, _sender: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            self.queue.put_nowait((time.monotonic_ns(), bytes(data)))
        except asyncio.QueueFull:
            self.stats.notifications_dropped += 1
            if not self._dropping:
                self._dropping = True
                logger.warning(
                    "band link queue full (%d): dropping notifications until the consumer "
                    "catches up",
                    self.queue.maxsize,
                )
            return
        self._dropping = False
        self.stats.notifications += 1

    def _on_control(self, _sender: BleakGATTCharacteristic, data: bytearray) -> None:
        self._responses.put_nowait(bytes(data))

    def _on_status(self, _sender: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            self.stats.last_status = decode_status(data)
        except PacketDecodeError as exc:
            logger.warning("band status notification not understood: %s", exc)

    def _on_disconnected(self, _client: BleakClient) -> None:
        self._disconnected.set()

    # -- supervisor ----------------------------------------------------------------------------
    async def _supervise(self) -> None:
        round_index = 0
        while not self._closing.is_set():
            good_session = False
            try:
                device = await self._finder()
                if device is None:
                    raise BandLinkError("band not found")
                self._disconnected.clear()
                client = await establish_connection(
                    BleakClient,
                    device,
                    device.name or device.address,
                    disconnected_callback=self._on_disconnected,
                    max_attempts=self.config.max_connect_attempts,
                    backend=self._backend,
                    **self._client_kwargs,
                )
                self._client = client
                self.stats.connections += 1
                try:
                    await self._open_session(client)
                    good_session = True
                    self._connected.set()
                    await self._wait_first(self._disconnected, self._closing)
                finally:
                    self._connected.clear()
                    # Ask the consumer now, before live packets of the next connection can
                    # move its position past the samples lost while the band was away.
                    self._resume_from = self._resume_index() if self._resume_index else None
                    if self._closing.is_set():
                        await self._shutdown(client)
                    elif client.is_connected:
                        await client.disconnect()
                    self._client = None
                    self.stats.disconnections += 1
            except (BleakError, BandLinkError, TimeoutError, OSError) as exc:
                self.stats.connect_failures += 1
                logger.warning("band link: %s", exc)
            if self._closing.is_set():
                return
            if good_session:
                round_index = 0
            delay_s = self.config.backoff_s(round_index)
            round_index += 1
            self.stats.reconnect_delays_s.append(delay_s)
            logger.info("band link: reconnecting in %.2f s", delay_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay_s)

    @staticmethod
    async def _wait_first(*events: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _open_session(self, client: BleakClient) -> None:
        """Subscribe, sync the clock, read the status, then START or BACKFILL (PROFILE.md §5)."""
        if not self._started and self._resume_index is not None:
            # Ask before subscribing: live packets of this connection would move the consumer's
            # position past the samples the band produced while no collector listened.
            self._resume_from = self._resume_index()
        await self._request_mtu(client)
        await client.start_notify(CONTROL_CHAR_UUID, self._on_control)
        await client.start_notify(STATUS_CHAR_UUID, self._on_status)
        await client.start_notify(DATA_CHAR_UUID, self._on_data)
        sent_ns = time.monotonic_ns()
        sync = await self.command(SyncTimeCommand(host_unix_time_us=time.time_ns() // 1000))
        if sync.device_time_us is not None:
            self.stats.last_sync = (sent_ns, time.monotonic_ns(), sync.device_time_us)
        status = await self.status()
        streaming = bool(status.state & StatusFlags.STREAMING)
        if not self._started and streaming and self._resume_from is not None:
            # a collector restarted mid-night finds the band still streaming: START would reset
            # the band's sample index to 0, so carry on and backfill what was missed instead
            self._started = True
            logger.info(
                "band link: band already streaming; resuming at index %d", self._resume_from
            )
        if not self._started or not streaming:
            start = await self.command(StartCommand(self.config.rate_code, self.config.range_code))
            if start.result != ResultCode.OK:
                raise BandLinkError(f"START refused by the band: {start.result.name}")
            self._started = True
            logger.info("band link: streaming started")
            return
        resume = self._resume_from
        last = status.last_sample_index
        if resume is None or last is None or last < resume:
            return
        response = await self.backfill(resume, last + 1 - resume)
        logger.info(
            "band link: resumed; backfill from %d (%d samples): %s",
            resume,
            last + 1 - resume,
            response.result.name,
        )

    async def _request_mtu(self, client: BleakClient) -> None:
        # bleak has no public MTU request. BlueZ negotiates on its own but reports 23 until
        # asked; its backend's _acquire_mtu is what bleak's mtu_size example uses. Other
        # backends (CoreBluetooth, WinRT, the Bumble test backend) negotiate at connection.
        acquire = getattr(client._backend, "_acquire_mtu", None)
        if callable(acquire) and client.mtu_size < self.config.att_mtu:
            try:
                await acquire()
            except Exception as exc:  # not fatal: fragments work at any MTU
                logger.info(
                    "band link: MTU request failed (%s); staying at %d", exc, client.mtu_size
                )
        logger.debug("band link: ATT MTU %d", client.mtu_size)

    async def _shutdown(self, client: BleakClient) -> None:
        """STOP (so the band can sleep), unsubscribe, disconnect; each step best-effort."""
        if client.is_connected:
            try:
                await self.command(StopCommand())
            except BandLinkError as exc:
                logger.warning("band link: STOP not confirmed: %s", exc)
        for uuid in (DATA_CHAR_UUID, STATUS_CHAR_UUID, CONTROL_CHAR_UUID):
            if not client.is_connected:
                break
            try:
                await client.stop_notify(uuid)
            except (BleakError, TimeoutError) as exc:
                logger.debug("band link: stop_notify %s: %s", uuid, exc)
        with contextlib.suppress(BleakError, TimeoutError):
            await client.disconnect()
