"""PolarLink: the accelerometer stream of a Polar Verity Sense (or H10) over PMD, on any bleak
backend.

An off-the-shelf band for people without a legwatch band (firmware_notes/ADAPTERS.md). The link
follows Polar's public "Polar Measurement Data Specification" (polarofficial/polar-ble-sdk,
technical_documentation), with the command builders and frame decoder of
:mod:`legwatch.band.polar_pmd`:

1. connect (``BleakClient``, any backend: the platform's, or the Bumble test backend);
2. read the PMD control point (``[0x0F][features]``; bit 2 of the features byte: ACC) and
   subscribe to its indications, which answer every command;
3. GET_SETTINGS for ACC; the rate, range and resolution asked for must be among those offered;
4. subscribe to the PMD data characteristic, then START ACC (default 52 Hz, +/-8 g, 16 bit);
5. hand out decoded frames with their host receive times (:meth:`PolarLink.frames`);
6. on every exit after START was written (normal, error, cancellation): STOP, unsubscribe,
   disconnect. A Polar sensor keeps streaming (and draining its battery) until told to stop.

::

    async with PolarLink(device) as polar:
        async for rx_ns, frame in polar.frames():
            accel_g = frame.accel_g()                 # (n, 3), g
            t_ns = frame.sample_times_ns(polar.config.sample_rate_hz)   # sensor clock

The BLE notification callback only timestamps and enqueues onto a bounded queue (dropped and
counted when the consumer falls behind, STYLE.md 11); decoding happens in :meth:`frames`, where
an undecodable notification is counted and logged, never raised. No reconnect loop: a dropped
connection ends :meth:`frames` and the caller decides (the legwatch band's
:class:`~legwatch.band.link.BandLink` has the supervised version).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from legwatch.band._gatt import write_and_wait
from legwatch.band.polar_pmd import (
    PMD_ACC_RANGES_G,
    PMD_ACC_RATES_HZ,
    PMD_ACC_RESOLUTIONS_BITS,
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PmdAccFrame,
    PmdControlResponse,
    PmdMeasurementType,
    PmdSetting,
    build_get_settings,
    build_start_acc,
    build_stop,
    decode_pmd_acc_frame,
    decode_pmd_control_response,
)
from legwatch.errors import BandLinkError, PacketDecodeError, ParameterError

logger = logging.getLogger(__name__)

#: First byte of a read of the PMD control point (the feature record), PMD specification.
PMD_FEATURES_CODE: Final = 0x0F
#: Feature bit of ACC in byte 1 of the feature record (bit 0 ECG, 1 PPG, 2 ACC, 3 PPI...).
PMD_FEATURE_ACC: Final = 1 << PmdMeasurementType.ACC

PolarNotification = tuple[int, PmdAccFrame]


@dataclass(frozen=True)
class PolarConfig:
    """What :class:`PolarLink` asks the sensor for, and how long it waits.

    Attributes
    ----------
    sample_rate_hz : int
        ACC rate. Default 52 Hz: the Verity Sense default ACC rate, available without SDK mode
        (polar_pmd.build_start_acc; Polar PMD documentation).
    range_g : int
        Full scale, g. Default 8: the legwatch choice for ankle movements (as the legwatch band,
        PROFILE.md §5).
    resolution_bits : int
        Default 16, the only ACC resolution Polar sensors offer.
    command_timeout_s : float
        Wait for a control-point indication. Default 5 s (as the band link, LinkConfig).
    connect_timeout_s : float
        ``BleakClient`` connect timeout. Default 20 s (bleak's own default is 10 s; a Verity
        Sense advertising slowly on battery may take longer).
    queue_size : int
        Notifications held for the consumer before dropping. Default 1024: at 52 Hz a Verity
        Sense sends a frame of ~36 samples about every 0.7 s, so about 12 min.
    """

    sample_rate_hz: int = 52
    range_g: int = 8
    resolution_bits: int = 16
    command_timeout_s: float = 5.0
    connect_timeout_s: float = 20.0
    queue_size: int = 1024

    def __post_init__(self) -> None:
        if self.sample_rate_hz not in PMD_ACC_RATES_HZ:
            raise ParameterError(
                "sample_rate_hz", f"one of {PMD_ACC_RATES_HZ}", self.sample_rate_hz
            )
        if self.range_g not in PMD_ACC_RANGES_G:
            raise ParameterError("range_g", f"one of {PMD_ACC_RANGES_G}", self.range_g)
        if self.resolution_bits not in PMD_ACC_RESOLUTIONS_BITS:
            raise ParameterError(
                "resolution_bits", f"one of {PMD_ACC_RESOLUTIONS_BITS}", self.resolution_bits
            )
        if self.queue_size < 1:
            raise ParameterError("queue_size", "an integer >= 1", self.queue_size)
        if not self.command_timeout_s > 0 or not self.connect_timeout_s > 0:
            raise ParameterError(
                "command_timeout_s/connect_timeout_s", "seconds > 0", self.command_timeout_s
            )


@dataclass
class PolarStats:
    """Counters of one :class:`PolarLink` session."""

    notifications: int = 0
    notifications_dropped: int = 0
    frames: int = 0
    samples: int = 0
    corrupt: int = 0
    stop_sent: bool = False
    settings: dict[int, tuple[float, ...]] = field(default_factory=dict)


class PolarLink:
    """Connect to a Polar sensor, start its ACC stream and yield decoded frames.

    Parameters
    ----------
    device : BLEDevice or str
        The sensor (from a scan; for the Bumble test backend a ``BumbleCentral.ble_device``).
    backend : type of BaseBleakClient or None
        ``BleakClient(backend=...)``; None is the platform's backend.
    config : PolarConfig, optional
        Rate, range, resolution and timeouts.
    client_kwargs : mapping, optional
        Extra keywords for ``BleakClient``.

    Raises
    ------
    BandLinkError
        On entering: no ACC on this sensor, settings not offered, START refused, or no answer
        within ``command_timeout_s``; naming what was asked and what the sensor said.
    """

    def __init__(
        self,
        device: BLEDevice | str,
        *,
        backend: type[BaseBleakClient] | None = None,
        config: PolarConfig | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config or PolarConfig()
        self.stats = PolarStats()
        self._client = BleakClient(
            device,
            disconnected_callback=self._on_disconnected,
            timeout=self.config.connect_timeout_s,
            backend=backend,
            **dict(client_kwargs or {}),
        )
        self.queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue(self.config.queue_size)
        self._responses: asyncio.Queue[bytes] = asyncio.Queue()
        self._gone = asyncio.Event()
        self._start_written = False
        self._dropping = False
        self._factor = 1.0

    # -- lifecycle -----------------------------------------------------------------------------
    async def __aenter__(self) -> PolarLink:
        await self._client.connect()
        try:
            await self._open()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def is_connected(self) -> bool:
        return self._client.is_connected

    async def _open(self) -> None:
        client = self._client
        features = bytes(await client.read_gatt_char(PMD_CONTROL_UUID))
        if len(features) >= 2 and features[0] == PMD_FEATURES_CODE:
            if not features[1] & PMD_FEATURE_ACC:
                raise BandLinkError(
                    f"PMD feature record {features.hex()} has no ACC (bit 2 of byte 1); this "
                    "sensor has no accelerometer stream"
                )
        else:
            logger.info(
                "polar: unexpected PMD feature record %s; trying ACC anyway", features.hex()
            )
        await client.start_notify(PMD_CONTROL_UUID, self._on_control)
        settings = await self.command(build_get_settings(PmdMeasurementType.ACC))
        if not settings.ok:
            raise BandLinkError(f"PMD GET_SETTINGS for ACC refused: {settings.error}")
        self.stats.settings = dict(settings.settings)
        self._check_offered(settings)
        await client.start_notify(PMD_DATA_UUID, self._on_data)
        cfg = self.config
        self._start_written = True
        start = await self.command(
            build_start_acc(
                sample_rate_hz=cfg.sample_rate_hz,
                range_g=cfg.range_g,
                resolution_bits=cfg.resolution_bits,
            )
        )
        if not start.ok:
            raise BandLinkError(
                f"PMD START ACC at {cfg.sample_rate_hz} Hz, {cfg.range_g} g, "
                f"{cfg.resolution_bits} bit refused: {start.error}"
            )
        logger.info("polar: ACC streaming at %d Hz, +/-%d g", cfg.sample_rate_hz, cfg.range_g)

    def _check_offered(self, settings: PmdControlResponse) -> None:
        cfg = self.config
        asked = {
            PmdSetting.SAMPLE_RATE: ("sample rate (Hz)", cfg.sample_rate_hz),
            PmdSetting.RANGE: ("range (g)", cfg.range_g),
            PmdSetting.RESOLUTION: ("resolution (bit)", cfg.resolution_bits),
        }
        for setting, (what, value) in asked.items():
            offered = settings.settings.get(setting)
            if offered is not None and value not in offered:
                raise BandLinkError(
                    f"PMD ACC {what} {value} not offered by the sensor, which offers "
                    f"{[int(v) for v in offered]}; choose one of those in PolarConfig"
                )
        factor = settings.settings.get(PmdSetting.FACTOR)
        self._factor = float(factor[0]) if factor else 1.0

    async def close(self) -> None:
        """STOP (when START was written), unsubscribe and disconnect; each step best-effort."""
        client = self._client
        if self._start_written and client.is_connected:
            self._start_written = False
            try:
                answer = await self.command(build_stop(PmdMeasurementType.ACC))
                self.stats.stop_sent = True
                if not answer.ok:
                    logger.warning("polar: STOP answered %s", answer.error)
            except BandLinkError as exc:
                logger.warning("polar: STOP not confirmed: %s", exc)
        for uuid in (PMD_DATA_UUID, PMD_CONTROL_UUID):
            if not client.is_connected:
                break
            with contextlib.suppress(BleakError, TimeoutError, ValueError):
                await client.stop_notify(uuid)
        with contextlib.suppress(BleakError, TimeoutError):
            await client.disconnect()
        self._gone.set()

    # -- commands ------------------------------------------------------------------------------
    async def command(self, payload: bytes) -> PmdControlResponse:
        """Write one control-point command and wait for the indication that answers it."""
        data = await write_and_wait(
            self._client,
            PMD_CONTROL_UUID,
            payload,
            self._responses,
            self.config.command_timeout_s,
            what="PMD command",
        )
        try:
            response = decode_pmd_control_response(data)
        except PacketDecodeError as exc:
            raise BandLinkError(f"bad PMD answer to {payload.hex()}: {exc}") from exc
        if response.opcode != payload[0]:
            raise BandLinkError(
                f"PMD answer {data.hex()} is for opcode 0x{response.opcode:02X}, expected "
                f"0x{payload[0]:02X}"
            )
        return response

    # -- data ----------------------------------------------------------------------------------
    async def frames(self) -> AsyncIterator[PolarNotification]:
        """Yield ``(host receive time ns, decoded frame)`` until the sensor disconnects or the
        link is closed. Undecodable notifications are counted in ``stats.corrupt`` and logged."""
        while True:
            try:
                rx_ns, data = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                if self._gone.is_set():
                    return
                getter = asyncio.ensure_future(self.queue.get())
                gone = asyncio.ensure_future(self._gone.wait())
                try:
                    await asyncio.wait({getter, gone}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    gone.cancel()
                    if not getter.done():
                        getter.cancel()
                if not getter.done() or getter.cancelled():
                    continue
                rx_ns, data = getter.result()
            try:
                frame = decode_pmd_acc_frame(data, range_g=self.config.range_g, factor=self._factor)
            except PacketDecodeError as exc:
                self.stats.corrupt += 1
                if self.stats.corrupt <= 10 or self.stats.corrupt % 1000 == 0:
                    logger.warning(
                        "polar: undecodable notification #%d: %s", self.stats.corrupt, exc
                    )
                continue
            self.stats.frames += 1
            self.stats.samples += frame.n_samples
            yield rx_ns, frame

    # -- callbacks (sync, on the event loop) ----------------------------------------------------
    def _on_data(self, _sender: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            self.queue.put_nowait((time.monotonic_ns(), bytes(data)))
        except asyncio.QueueFull:
            self.stats.notifications_dropped += 1
            if not self._dropping:
                self._dropping = True
                logger.warning(
                    "polar: queue full (%d): dropping notifications until the consumer catches up",
                    self.queue.maxsize,
                )
            return
        self._dropping = False
        self.stats.notifications += 1

    def _on_control(self, _sender: BleakGATTCharacteristic, data: bytearray) -> None:
        self._responses.put_nowait(bytes(data))

    def _on_disconnected(self, _client: BleakClient) -> None:
        self._gone.set()
