"""A virtual legwatch band: a Bumble GATT peripheral that implements profile v1 in-process.

The band sits on a Bumble :class:`~bumble.link.LocalLink` (no kernel, no radio) and plays the
samples of a source array as if its sensor produced them: quantised to int16 counts at the
range's sensitivity, packed with :func:`~legwatch.band.legwatch_v1.encode_packet`, notified on the
data characteristic (cut with :func:`~legwatch.band.legwatch_v1.split_for_mtu` when the ATT MTU is
small), at real time or ``speed`` times faster. It answers START, STOP, SYNC_TIME, BACKFILL and
STATUS on the control point as ``firmware_notes/PROFILE.md`` specifies, and injects seeded faults
(lost, corrupted and delayed notifications, disconnects at given band times) so the host side can
be tested without hardware.

Time model: "band time" (:class:`BandClock`) runs ``speed`` times faster than the host's
monotonic clock. Sample ``k`` is produced at band time ``k / rate_hz`` after START; the sensor
keeps producing while the central is away (the samples then exist only in the ring buffer, as on
the reference firmware). Live notifications are sent in index order; the band waits for the
Bumble host's ACL queue to drain instead of flooding it. A real band's radio carries its ~700 B/s
with a wide margin, so its packets leave within a connection interval of being produced; the
virtual band's "radio" is this process's CPU, so when the process cannot keep up at ``speed``
band time holds still (``max_lag_s``) until the band has caught up, instead of letting the band
fall further and further behind its own sampling schedule. A collector that stamps receive times
with :meth:`BandClock.__call__` then journals a night whose every clock agrees with the samples,
however busy the machine was; only the wall time grows.

Typical use (see ``tests/band/test_virtual_link.py``)::

    link = LocalLink()
    band = VirtualBand(link, accel_g, rate_hz=104.0, speed=60.0)
    await band.start()
    ...
    await band.stop()
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Final

import bumble.controller
import bumble.host
import numpy as np
from bumble import gatt, hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import AdvertisingParameters, Connection, Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink
from numpy.typing import ArrayLike, NDArray

from legwatch.band.legwatch_v1 import (
    CONTROL_CHAR_UUID,
    DATA_CHAR_UUID,
    MAX_SAMPLES,
    RANGE_G,
    RATE_HZ,
    SENSITIVITY_MG_PER_LSB,
    SERVICE_UUID,
    STATUS_CHAR_UUID,
    BackfillCommand,
    BandPacket,
    BandStatus,
    Command,
    CommandResponse,
    Opcode,
    PacketFlags,
    ResultCode,
    StartCommand,
    StatusCommand,
    StatusFlags,
    StopCommand,
    SyncTimeCommand,
    decode_command,
    encode_packet,
    encode_response,
    encode_status,
    split_for_mtu,
)
from legwatch.errors import PacketDecodeError, ParameterError

logger = logging.getLogger(__name__)

#: The reference firmware's FIFO watermark: 26 samples per packet at 104 Hz (PROFILE.md §2).
REFERENCE_SAMPLES_PER_PACKET: Final = 26
#: LE data length extension: an nRF52840 carries 251-byte LL payloads, so one 244-byte
#: notification is one ACL packet. Bumble's emulated controller defaults to 27 (no DLE).
LE_ACL_PACKET_LENGTH: Final = 251


def quantise_counts(accel_g: ArrayLike, range_code: int) -> NDArray[np.int16]:
    """Acceleration in g as the int16 sensor counts a band at this range would report.

    Parameters
    ----------
    accel_g : array_like, shape (n, 3)
        Acceleration in g.
    range_code : int
        Key of :data:`~legwatch.band.legwatch_v1.RANGE_G` (sensitivity from
        :data:`~legwatch.band.legwatch_v1.SENSITIVITY_MG_PER_LSB`, mg per LSB).

    Returns
    -------
    ndarray of int16, shape (n, 3)
        ``round(accel_g * 1000 / sensitivity_mg)``, saturated at -32768..32767 as a sensor does.
    """
    if range_code not in RANGE_G:
        raise ParameterError("range_code", f"one of {sorted(RANGE_G)}", range_code)
    arr = np.asarray(accel_g, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ParameterError("accel_g", "an (n, 3) array in g", f"shape {arr.shape}")
    counts = np.rint(arr * (1000.0 / SENSITIVITY_MG_PER_LSB[range_code]))
    return np.clip(counts, -32768, 32767).astype(np.int16)


@dataclass(frozen=True)
class FaultConfig:
    """Seeded faults the virtual band injects on its data notifications.

    Attributes
    ----------
    seed : int
        Seed of the band's random generator (loss, corruption, delay draws). Default 0.
    loss_probability : float
        Probability that a data packet (all its fragments) is never sent. Default 0.
    corrupt_probability : float
        Probability that one byte of a packet is flipped after its CRC was computed (the
        packet is still sent). Default 0.
    delay_probability : float
        Probability that the band stalls before a packet, as a link with retransmissions
        does. Default 0.
    delay_s : float
        Length of such a stall in host seconds. Default 0.05 (about one 50 ms connection
        interval, the top of the Linux default range, ble-and-data.md).
    disconnect_every_s : float or None
        The band drops the connection every this many seconds of band time. Default None.
    disconnect_at_s : tuple of float
        Band times (s after START) at which the band drops the connection. Default ().
    """

    seed: int = 0
    loss_probability: float = 0.0
    corrupt_probability: float = 0.0
    delay_probability: float = 0.0
    delay_s: float = 0.05
    disconnect_every_s: float | None = None
    disconnect_at_s: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for name in ("loss_probability", "corrupt_probability", "delay_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ParameterError(name, "a probability in 0..1", value)
        if self.delay_s < 0:
            raise ParameterError("delay_s", "a duration >= 0 s", self.delay_s)
        if self.disconnect_every_s is not None and self.disconnect_every_s <= 0:
            raise ParameterError(
                "disconnect_every_s", "None or a band time > 0 s", self.disconnect_every_s
            )


@dataclass(frozen=True)
class VirtualBandConfig:
    """How the virtual band behaves.

    Attributes
    ----------
    address : str
        Static random address of the band's controller. Default ``"F0:F0:F0:F0:00:01"``.
    speed : float
        Band time runs this many times faster than host time. Default 1 (real time).
    samples_per_packet : int
        Samples per live packet, 1..36. Default 26: the reference firmware's FIFO watermark
        (PROFILE.md §2).
    ring_buffer_s : float
        Seconds of samples kept for BACKFILL. Default 120: the reference firmware's minimum
        (PROFILE.md §4, ble-and-data.md "Reference band").
    tick_s : float
        Host seconds between two wake-ups of the sampling loop. Default 0.005.
    max_pending_acl : int
        ACL packets the band lets queue in its Bumble host before it waits for the link to
        drain. Default 32 (half of the emulated controller's 64 buffers).
    max_lag_s : float
        Band seconds of produced samples the band may hold unsent before band time stops
        (:class:`BandClock`) until they are sent. Default 2 s: 8 packets of the reference band,
        far above the one 30-50 ms connection interval a real band's packets wait
        (ble-and-data.md), and below the collector's 5-s live hold-back.
    firmware_version : tuple of int
        (major, minor, patch) in the status record. Default (1, 0, 0).
    battery_pct : int or None
        Battery charge reported in packets and status. Default 80.
    battery_mv : int
        Battery voltage in the status record, mV. Default 3900.
    status_interval_s : float
        Band seconds between status notifications while connected. Default 60 (PROFILE.md §4).
    faults : FaultConfig
        Faults to inject. Default none.
    """

    address: str = "F0:F0:F0:F0:00:01"
    speed: float = 1.0
    samples_per_packet: int = REFERENCE_SAMPLES_PER_PACKET
    ring_buffer_s: float = 120.0
    tick_s: float = 0.005
    max_pending_acl: int = 32
    max_lag_s: float = 2.0
    firmware_version: tuple[int, int, int] = (1, 0, 0)
    battery_pct: int | None = 80
    battery_mv: int = 3900
    status_interval_s: float = 60.0
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ParameterError("speed", "a factor > 0", self.speed)
        if not 1 <= self.samples_per_packet <= MAX_SAMPLES:
            raise ParameterError(
                "samples_per_packet", f"an integer in 1..{MAX_SAMPLES}", self.samples_per_packet
            )
        if not self.ring_buffer_s > 0:
            raise ParameterError("ring_buffer_s", "a duration > 0 s", self.ring_buffer_s)
        if not self.tick_s > 0:
            raise ParameterError("tick_s", "a duration > 0 s", self.tick_s)
        if not self.max_lag_s > 0:
            raise ParameterError("max_lag_s", "a band time > 0 s", self.max_lag_s)

    @property
    def name(self) -> str:
        """``legwatch-XXXX``: the last two bytes of the address (PROFILE.md §1)."""
        return "legwatch-" + self.address.replace(":", "")[-4:].upper()


class BandClock:
    """Band time of a virtual band: ``speed`` times the host's monotonic clock, except while
    the band holds it because it is behind (see the module docstring).

    Calling the clock with a host ``time.monotonic_ns()`` stamp gives that instant on the band's
    time scale, as nanoseconds from the same origin as the host clock: what a collector journals
    as receive times (``Collector(clock=...)``) so that an accelerated night replays as the
    night it simulates. Holds are never undone, so the mapping is monotonic, and a stamp taken
    before a hold maps to the same value before and after it (the holds are kept, the oldest
    dropped beyond ``MAX_HOLDS``; stamps reach the collector within milliseconds).

    Parameters
    ----------
    speed : float
        Band seconds per host second while the band keeps up.
    """

    MAX_HOLDS: Final = 4096

    def __init__(self, speed: float) -> None:
        if not speed > 0:
            raise ParameterError("speed", "a factor > 0", speed)
        self.speed = float(speed)
        self.origin_ns = time.monotonic_ns()
        #: Unix ns minus host monotonic ns (the collector's start-time estimate needs it).
        self.unix_offset_ns = time.time_ns() - self.origin_ns
        self._hold_from_ns: int | None = None
        self._hold_starts: list[int] = []  # host ns, closed holds, in order
        self._hold_ends: list[int] = []
        self._held_after: list[int] = []  # host ns held from the origin to each hold's end
        self._held_before_kept = 0  # host ns held in the holds dropped from the lists
        self.holds = 0
        self.held_s = 0.0

    @property
    def holding(self) -> bool:
        return self._hold_from_ns is not None

    def hold(self) -> None:
        """Stop band time now (no-op while already held)."""
        if self._hold_from_ns is None:
            self._hold_from_ns = time.monotonic_ns()

    def release(self) -> None:
        """Let band time run again from where it stopped."""
        start = self._hold_from_ns
        if start is None:
            return
        end = max(time.monotonic_ns(), start)
        self._hold_from_ns = None
        held = (self._held_after[-1] if self._held_after else self._held_before_kept) + end - start
        self._hold_starts.append(start)
        self._hold_ends.append(end)
        self._held_after.append(held)
        self.holds += 1
        self.held_s = held / 1e9
        if len(self._hold_ends) > 2 * self.MAX_HOLDS:
            cut = len(self._hold_ends) - self.MAX_HOLDS
            self._held_before_kept = self._held_after[cut - 1]
            del self._hold_starts[:cut], self._hold_ends[:cut], self._held_after[:cut]

    def _held_ns(self, host_ns: int) -> int:
        """Host ns spent in holds between the origin and ``host_ns``."""
        i = bisect.bisect_right(self._hold_ends, host_ns)
        held = self._held_after[i - 1] if i else self._held_before_kept
        if i < len(self._hold_starts):
            return held + max(0, host_ns - self._hold_starts[i])
        if self._hold_from_ns is not None:
            return held + max(0, host_ns - self._hold_from_ns)
        return held

    def band_s(self, host_ns: int | None = None) -> float:
        """Band seconds since the origin at host time ``host_ns`` (default now)."""
        host_ns = time.monotonic_ns() if host_ns is None else host_ns
        return (host_ns - self.origin_ns - self._held_ns(host_ns)) * self.speed / 1e9

    def __call__(self, host_ns: int) -> int:
        """Host monotonic ns -> band time in ns on the host clock's origin (journal time)."""
        elapsed = host_ns - self.origin_ns - self._held_ns(host_ns)
        return self.origin_ns + round(elapsed * self.speed)


@dataclass
class BandCounters:
    """What the virtual band did, for tests and benchmarks (all counts since construction)."""

    packets_built: int = 0
    packets_sent: int = 0
    packets_dropped: int = 0
    packets_corrupted: int = 0
    packets_unsent: int = 0
    backfill_packets_sent: int = 0
    notifications_sent: int = 0
    delays: int = 0
    disconnects: int = 0
    connections: int = 0
    commands: int = 0


class QuietController(Controller):
    """Bumble's emulated controller without the cost of debug lines nobody reads.

    bumble 0.0.236 builds an f-string of every HCI packet (colours, every field) for
    ``logger.debug`` before the logger drops it: with the host's, about a third of the CPU of a
    virtual night (cProfile of ``legwatch demo``). ACL data, the per-notification traffic, skips
    that formatting unless ``bumble.controller``'s debug log is on; everything else goes through
    Bumble unchanged.
    """

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if isinstance(packet, hci.HCI_AclDataPacket) and not _debug(bumble.controller.logger):
            self.on_hci_acl_data_packet(packet)
        else:
            super().on_hci_packet(packet)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self.host is None or _debug(bumble.controller.logger):
            super().send_hci_packet(packet)
        else:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))


class QuietHost(Host):
    """Bumble's host without the eager debug formatting of ACL data and events (see
    :class:`QuietController`); a snooper or an enabled ``bumble.host`` debug log gets Bumble's
    own path."""

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self.snooper or self.hci_sink is None or _debug(bumble.host.logger):
            super().send_hci_packet(packet)
        else:
            self.hci_sink.on_packet(bytes(packet))

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self.snooper or _debug(bumble.host.logger):
            super().on_hci_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        elif isinstance(packet, hci.HCI_Event):
            self.on_hci_event_packet(packet)
        else:
            super().on_hci_packet(packet)


def _debug(log: logging.Logger) -> bool:
    return log.isEnabledFor(logging.DEBUG)


def make_controller_device(
    link: LocalLink, address: str, name: str | None = None
) -> tuple[Controller, Device]:
    """An emulated controller on ``link`` with a Bumble host and device on top.

    The controller gets 251-byte LE ACL buffers (data length extension, as on an nRF52840 or a
    current host adapter), so a 244-byte notification is not cut into 27-byte ACL fragments.
    """
    controller = QuietController(f"ctl-{address}", link=link, public_address=address)
    controller.le_acl_data_packet_length = LE_ACL_PACKET_LENGTH
    device = Device(
        name=name,
        address=Address(address),
        host=QuietHost(controller, AsyncPipeSink(controller)),
    )
    return controller, device


class VirtualBand:
    """A legwatch band, profile v1, as a Bumble peripheral on a LocalLink.

    Parameters
    ----------
    link : bumble.link.LocalLink
        The in-process "radio" shared with the central.
    accel_g : array_like, shape (n, 3)
        What the sensor measures, in g; sample ``k`` is produced at ``k / rate_hz`` s of band
        time after START. Quantised at the range START asks for (:func:`quantise_counts`).
    rate_hz : float
        Sampling rate of ``accel_g``; must be one of
        :data:`~legwatch.band.legwatch_v1.RATE_HZ`. START with another rate code is refused
        with INVALID_PARAMETER (the virtual sensor has one rate: its source's).
    config : VirtualBandConfig
        Speed, packet size, ring buffer and faults.
    """

    def __init__(
        self,
        link: LocalLink,
        accel_g: ArrayLike,
        rate_hz: float,
        config: VirtualBandConfig | None = None,
    ) -> None:
        self.config = config or VirtualBandConfig()
        source = np.asarray(accel_g, dtype=np.float64)
        if source.ndim != 2 or source.shape[1] != 3 or source.shape[0] < 1:
            raise ParameterError("accel_g", "an (n, 3) array in g, n >= 1", f"{source.shape}")
        codes = [code for code, hz in RATE_HZ.items() if hz == float(rate_hz)]
        if not codes:
            raise ParameterError("rate_hz", f"one of {sorted(RATE_HZ.values())} Hz", rate_hz)
        self._source_g = source
        self.rate_hz = float(rate_hz)
        self.rate_code = codes[0]
        self.counters = BandCounters()
        self._rng = np.random.default_rng(self.config.faults.seed)
        self._controller, self.device = make_controller_device(
            link, self.config.address, self.config.name
        )
        self._build_gatt()
        # State of the "firmware".
        self._counts: NDArray[np.int16] | None = None
        self._range_code = 2
        self._streaming = False
        #: Band time; a collector journaling on band time stamps with it.
        self.clock = BandClock(self.config.speed)
        self._start_band_s = 0.0  # band time of START
        self._clock_offset_us = 0  # device time = band time since boot + offset
        self._clock_synced = False
        self._produced = 0  # samples the sensor has produced since START
        self._next_live = 0  # next index to notify live
        self._sequence = 0
        self._backfill: list[tuple[int, int]] = []  # pending (first index, count) chunks
        self._next_disconnect_s: float | None = None
        self._pending_disconnects: list[float] = []
        self._next_status_s = 0.0
        self._connection: Connection | None = None
        self._data_subscribed = False
        self._command_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None

    # -- public --------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def address(self) -> str:
        return self.config.address

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    @property
    def produced_samples(self) -> int:
        """Samples produced since the last START (the next sample's index)."""
        return self._produced

    @property
    def finished(self) -> bool:
        """True once every source sample has been produced and notified live (or skipped)."""
        return self._counts is not None and self._next_live >= self._source_g.shape[0]

    def sent_counts(self) -> NDArray[np.int16]:
        """The int16 counts the band streams since START, one row per sample index."""
        if self._counts is None:
            return quantise_counts(self._source_g, self._range_code)
        return self._counts

    async def start(self) -> None:
        """Power the band on and advertise (service UUID in the advertising data, name in the
        scan response, PROFILE.md §1); restarts advertising after every disconnection."""
        self.device.on(self.device.EVENT_CONNECTION, self._on_connection)
        self.device.gatt_server.on("characteristic_subscription", self._on_subscription)
        await self.device.power_on()
        # Bumble's emulated controller answers a scan request with the advertising data again
        # (not the scan response data), so the name would never reach a scanner on the
        # LocalLink. The virtual band therefore uses one extended advertising set that carries
        # flags, the service UUID and the name together; real firmware keeps the name in the
        # scan response (PROFILE.md §1).
        adv = AdvertisingData(
            [
                (AdvertisingData.FLAGS, bytes([0x06])),
                (
                    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                    bytes(UUID(SERVICE_UUID)),
                ),
                (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
            ]
        )
        await self.device.create_advertising_set(
            advertising_parameters=AdvertisingParameters(
                primary_advertising_interval_min=20.0, primary_advertising_interval_max=20.0
            ),
            advertising_data=bytes(adv),
            auto_restart=True,
        )
        self._loop_task = asyncio.create_task(self._run(), name=f"{self.name} sensor loop")
        logger.debug("%s advertising at %s", self.name, self.address)

    async def stop(self) -> None:
        """Cancel every task of the band and drop any connection."""
        tasks = [t for t in (self._loop_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.clock.release()  # a loop cancelled while behind leaves no hold behind
        self._loop_task = None
        self._tasks.clear()
        if self._connection is not None:
            try:
                await self._connection.disconnect()
            except Exception as exc:  # the link may already be gone
                logger.debug("%s: disconnect at stop failed: %s", self.name, exc)
        for advertising_set in list(self.device.extended_advertising_sets.values()):
            await advertising_set.stop()

    async def disconnect(self) -> None:
        """Drop the connection now (as a band out of range would)."""
        connection = self._connection
        if connection is not None:
            self.counters.disconnects += 1
            await connection.disconnect()

    # -- GATT ----------------------------------------------------------------------------------
    def _build_gatt(self) -> None:
        props = gatt.Characteristic.Properties
        perms = gatt.Characteristic.Permissions
        self._data_char = gatt.Characteristic(DATA_CHAR_UUID, props.NOTIFY, perms.READABLE, b"")
        self._control_char: gatt.Characteristic[bytes] = gatt.Characteristic(
            CONTROL_CHAR_UUID,
            props.WRITE | props.INDICATE,
            perms.WRITEABLE,
            gatt.CharacteristicValue[bytes](write=self._on_control_write),
        )
        self._status_char: gatt.Characteristic[bytes] = gatt.Characteristic(
            STATUS_CHAR_UUID,
            props.READ | props.NOTIFY,
            perms.READABLE,
            gatt.CharacteristicValue[bytes](read=lambda _conn: encode_status(self.status())),
        )
        info = [
            (0x2A29, b"legwatch"),
            (0x2A24, b"virtual band"),
            (0x2A25, self.config.address.replace(":", "").encode()),
            (0x2A27, b"virtual"),
            (0x2A26, ".".join(map(str, self.config.firmware_version)).encode()),
        ]
        dis = gatt.Service(
            UUID.from_16_bits(0x180A),
            [
                gatt.Characteristic(UUID.from_16_bits(uuid), props.READ, perms.READABLE, value)
                for uuid, value in info
            ],
        )
        self.device.add_service(
            gatt.Service(SERVICE_UUID, [self._data_char, self._control_char, self._status_char])
        )
        self.device.add_service(dis)

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self._data_subscribed = False
        self.counters.connections += 1
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        logger.debug("%s connected to %s", self.name, connection.peer_address)

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._data_subscribed = False
        logger.debug("%s disconnected (reason 0x%02X)", self.name, reason)

    def _on_subscription(
        self, connection: Any, characteristic: Any, notify: bool, indicate: bool
    ) -> None:
        # Bumble has answered the CCCD write when this fires: data may flow after it.
        if characteristic is self._data_char:
            self._data_subscribed = notify

    def _on_control_write(self, connection: Connection, value: bytes) -> None:
        # Answer after the write response has gone out: run the command in its own task.
        task = asyncio.create_task(self._answer(connection, bytes(value)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, connection: Connection, value: bytes) -> None:
        async with self._command_lock:
            self.counters.commands += 1
            try:
                command = decode_command(value)
            except PacketDecodeError as exc:
                logger.debug("%s: refused command %s: %s", self.name, value.hex(), exc)
                opcode = value[0] if value else 0
                if opcode not in Opcode._value2member_map_:
                    # No Opcode member to build a CommandResponse from: the raw 3 bytes.
                    await self._indicate(
                        connection, bytes([0xA0, opcode, ResultCode.UNKNOWN_OPCODE])
                    )
                    return
                response = CommandResponse(Opcode(opcode), ResultCode.INVALID_PARAMETER)
            else:
                response = self._execute(command)
            await self._indicate(connection, encode_response(response))

    async def _indicate(self, connection: Connection, payload: bytes) -> None:
        if connection is not self._connection:
            return
        try:
            await self.device.indicate_subscriber(connection, self._control_char, payload)
        except Exception as exc:  # a disconnect while waiting for the confirmation
            logger.debug("%s: indication not confirmed: %s", self.name, exc)

    # -- firmware ------------------------------------------------------------------------------
    def _band_time_s(self) -> float:
        """Band seconds since boot."""
        return self.clock.band_s()

    def _device_time_us(self, band_s: float) -> int:
        return max(0, round(band_s * 1e6) + self._clock_offset_us)

    def _since_start_s(self) -> float:
        return self.clock.band_s() - self._start_band_s

    def _ring_capacity(self) -> int:
        return max(1, round(self.config.ring_buffer_s * self.rate_hz))

    def _ring_oldest(self) -> int | None:
        if self._produced == 0:
            return None
        return max(0, self._produced - self._ring_capacity())

    def status(self) -> BandStatus:
        """The status record as the band would report it now."""
        state = StatusFlags.NONE
        if self._streaming:
            state |= StatusFlags.STREAMING
        if self._clock_synced:
            state |= StatusFlags.CLOCK_SYNCED
        if self._backfill:
            state |= StatusFlags.BACKFILL_ACTIVE
        return BandStatus(
            battery_pct=self.config.battery_pct,
            battery_mv=self.config.battery_mv,
            firmware_version=self.config.firmware_version,
            state=state,
            last_sample_index=self._produced - 1 if self._produced else None,
            ring_oldest_index=self._ring_oldest(),
            fifo_overflows=0,
        )

    def _execute(self, command: Command) -> CommandResponse:
        match command:
            case StartCommand(rate_code=rate, range_code=rng):
                if rate != self.rate_code:
                    logger.warning(
                        "%s: START at rate code %d refused: the virtual sensor runs at %s Hz "
                        "(code %d)",
                        self.name,
                        rate,
                        self.rate_hz,
                        self.rate_code,
                    )
                    return CommandResponse(Opcode.START, ResultCode.INVALID_PARAMETER)
                self._range_code = rng
                self._counts = quantise_counts(self._source_g, rng)
                self._streaming = True
                self._start_band_s = self.clock.band_s()
                self._produced = self._next_live = self._sequence = 0
                self._backfill = []
                faults = self.config.faults
                self._pending_disconnects = sorted(faults.disconnect_at_s)
                self._next_disconnect_s = faults.disconnect_every_s
                self._next_status_s = self.config.status_interval_s
                self._notify_status_soon()
                return CommandResponse(Opcode.START, ResultCode.OK)
            case StopCommand():
                self._advance()
                self._streaming = False
                self._notify_status_soon()
                return CommandResponse(Opcode.STOP, ResultCode.OK)
            case SyncTimeCommand(host_unix_time_us=t_us):
                band_s = self._band_time_s()
                before = self._device_time_us(band_s)
                self._clock_offset_us = t_us - round(band_s * 1e6)
                self._clock_synced = True
                return CommandResponse(Opcode.SYNC_TIME, ResultCode.OK, device_time_us=before)
            case BackfillCommand(from_sample_index=first, count=count):
                if self._counts is None:
                    return CommandResponse(Opcode.BACKFILL, ResultCode.INVALID_STATE)
                if self._backfill:
                    return CommandResponse(Opcode.BACKFILL, ResultCode.BUSY)
                self._advance()
                oldest = self._ring_oldest()
                lo = max(first, oldest if oldest is not None else self._produced)
                hi = min(first + count, self._produced)
                if hi <= lo:
                    return CommandResponse(Opcode.BACKFILL, ResultCode.NOT_AVAILABLE)
                self._backfill = [(i, min(MAX_SAMPLES, hi - i)) for i in range(lo, hi, MAX_SAMPLES)]
                return CommandResponse(
                    Opcode.BACKFILL,
                    ResultCode.OK,
                    backfill_first_index=lo,
                    backfill_count=hi - lo,
                )
            case StatusCommand():
                return CommandResponse(Opcode.STATUS, ResultCode.OK, status=self.status())
        raise ParameterError("command", "a legwatch v1 command", command)  # pragma: no cover

    def _notify_status_soon(self) -> None:
        connection = self._connection
        if connection is None:
            return
        task = asyncio.create_task(
            self.device.notify_subscriber(
                connection, self._status_char, encode_status(self.status())
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _advance(self) -> None:
        """Let the sensor produce the samples due by now."""
        if not self._streaming or self._counts is None:
            return
        due = int(self._since_start_s() * self.rate_hz)
        self._produced = min(max(self._produced, due), self._counts.shape[0])

    def _build(self, first: int, count: int, flags: PacketFlags) -> bytes:
        assert self._counts is not None
        if self._clock_synced:
            flags |= PacketFlags.CLOCK_SYNCED
        start_band_s = self._start_band_s
        packet = BandPacket(
            flags=flags,
            sequence=self._sequence,
            first_sample_index=first,
            device_time_us=self._device_time_us(start_band_s + first / self.rate_hz),
            rate_code=self.rate_code,
            range_code=self._range_code,
            battery_pct=self.config.battery_pct,
            samples=self._counts[first : first + count],
        )
        self._sequence = (self._sequence + 1) & 0xFFFF
        self.counters.packets_built += 1
        return encode_packet(packet)

    async def _send(self, payload: bytes, *, backfill: bool) -> None:
        """Send one packet over the data characteristic, applying the seeded faults."""
        faults = self.config.faults
        connection = self._connection
        if connection is None or not self._data_subscribed:
            self.counters.packets_unsent += 1
            return
        if faults.delay_probability and self._rng.random() < faults.delay_probability:
            self.counters.delays += 1
            await asyncio.sleep(faults.delay_s)
        if faults.loss_probability and self._rng.random() < faults.loss_probability:
            self.counters.packets_dropped += 1
            return
        if faults.corrupt_probability and self._rng.random() < faults.corrupt_probability:
            damaged = bytearray(payload)
            offset = int(self._rng.integers(0, len(damaged)))
            damaged[offset] ^= int(self._rng.integers(1, 256))
            payload = bytes(damaged)
            self.counters.packets_corrupted += 1
        queue = self.device.host.get_data_packet_queue(connection.handle)
        for piece in split_for_mtu(payload, connection.att_mtu):
            if connection is not self._connection:
                return
            await self.device.notify_subscriber(connection, self._data_char, piece)
            self.counters.notifications_sent += 1
            if queue is not None and queue.pending > self.config.max_pending_acl:
                await queue.drain(connection.handle)
        self.counters.packets_sent += 1
        if backfill:
            self.counters.backfill_packets_sent += 1

    async def _drain(self) -> None:
        """Wait until the Bumble host has handed every queued notification to the link."""
        connection = self._connection
        if connection is None:
            return
        queue = self.device.host.get_data_packet_queue(connection.handle)
        if queue is not None and queue.pending:
            with contextlib.suppress(ValueError):  # the connection went away meanwhile
                await queue.drain(connection.handle)

    async def _check_disconnect(self) -> None:
        now_s = self._since_start_s()
        due = False
        while self._pending_disconnects and self._pending_disconnects[0] <= now_s:
            self._pending_disconnects.pop(0)
            due = True
        every = self.config.faults.disconnect_every_s
        if (
            every is not None
            and self._next_disconnect_s is not None
            and now_s >= self._next_disconnect_s
        ):
            due = True
            while self._next_disconnect_s <= now_s:
                self._next_disconnect_s += every
        if due and self._connection is not None:
            logger.debug("%s: injected disconnect at band time %.1f s", self.name, now_s)
            await self.disconnect()

    async def _run(self) -> None:
        """The sensor loop: produce samples, notify live packets, interleave backfill."""
        spp = self.config.samples_per_packet
        max_lag_n = max(spp, round(self.config.max_lag_s * self.rate_hz))
        while True:
            await asyncio.sleep(self.config.tick_s)
            if self._counts is None:
                continue
            self._advance()
            total = self._counts.shape[0]
            while True:
                live_due = self._produced - self._next_live
                if live_due > max_lag_n:
                    self.clock.hold()  # behind schedule: time waits until the backlog is sent
                # A full FIFO watermark, or the tail of a finished source.
                live = live_due >= spp or (
                    live_due > 0 and self._produced >= total and self._streaming
                )
                if not live and not self._backfill:
                    break
                await self._check_disconnect()
                if live:
                    count = min(spp, live_due)
                    first = self._next_live
                    self._next_live += count
                    await self._send(self._build(first, count, PacketFlags.NONE), backfill=False)
                if self._backfill:
                    first, count = self._backfill.pop(0)
                    flags = PacketFlags.BACKFILL
                    if not self._backfill:
                        flags |= PacketFlags.BACKFILL_END
                    await self._send(self._build(first, count, flags), backfill=True)
                self._advance()
            if self.clock.holding:
                await self._drain()  # what was sent while behind leaves before time runs on
            self.clock.release()
            if self._streaming and self._since_start_s() >= self._next_status_s:
                self._next_status_s += self.config.status_interval_s
                self._notify_status_soon()
