"""The legwatch band GATT profile v1: data packets, control-point commands and the status record.

The byte layouts are specified in ``firmware_notes/PROFILE.md`` and pinned by
``firmware_notes/test_vectors.json``; this module is the host-side reference implementation (the
virtual band and the collector both use it). Everything is little-endian.

Data packet (one BLE notification when it fits, otherwise split into fragments)::

    offset size field
    0      1    magic 0x4C ('L')
    1      1    version (1)
    2      1    flags (PacketFlags)
    3      1    rate code (RATE_HZ)
    4      1    range code (RANGE_G)
    5      1    battery percent 0..100, 0xFF = unknown
    6      2    sequence number u16 (wraps 65535 -> 0)
    8      4    index of the first sample u32 (0 at START, monotonic)
    12     8    device time of the first sample u64, microseconds
    20     1    sample count n (1..36)
    21     6n   samples int16 x, y, z (sensor counts)
    21+6n  2    CRC-16/CCITT-FALSE of bytes [0, 21+6n)

Pure code: no BLE, no asyncio.
"""

from __future__ import annotations

import binascii
import enum
import logging
import struct
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from legwatch.errors import PacketDecodeError, ParameterError

logger = logging.getLogger(__name__)

# --- GATT identifiers -------------------------------------------------------------------------

#: 128-bit UUIDs of the legwatch band profile v1 (random base, generated once for legwatch).
SERVICE_UUID: Final = "1ebd0001-68b0-4015-8525-74571f8d0910"
DATA_CHAR_UUID: Final = "1ebd0002-68b0-4015-8525-74571f8d0910"
CONTROL_CHAR_UUID: Final = "1ebd0003-68b0-4015-8525-74571f8d0910"
STATUS_CHAR_UUID: Final = "1ebd0004-68b0-4015-8525-74571f8d0910"

# --- Packet constants -------------------------------------------------------------------------

MAGIC: Final = 0x4C
VERSION: Final = 1
HEADER_SIZE: Final = 21
CRC_SIZE: Final = 2
SAMPLE_SIZE: Final = 6
#: ATT_MTU 247 leaves 244 bytes per notification: 21 + 6 * 36 + 2 = 239 <= 244.
MAX_SAMPLES: Final = 36
MAX_PACKET_SIZE: Final = HEADER_SIZE + SAMPLE_SIZE * MAX_SAMPLES + CRC_SIZE
BATTERY_UNKNOWN: Final = 0xFF
#: Status value meaning "no sample yet" / "ring buffer empty".
NO_INDEX: Final = 0xFFFF_FFFF

_HEADER = struct.Struct("<BBBBBBHIQB")
assert _HEADER.size == HEADER_SIZE

#: Rate code -> nominal output data rate in Hz. The codes equal the LSM6DS3TR-C ODR_XL field
#: (CTRL1_XL bits 7:4) for the same rate, which keeps the firmware mapping trivial.
RATE_HZ: Final[dict[int, float]] = {1: 12.5, 2: 26.0, 3: 52.0, 4: 104.0, 5: 208.0, 6: 416.0}
#: Range code -> full scale in g (+/-).
RANGE_G: Final[dict[int, int]] = {0: 2, 1: 4, 2: 8, 3: 16}
#: Range code -> sensitivity in mg per LSB (LSM6DS3TR-C datasheet, linear acceleration
#: sensitivity LA_So: 0.061 / 0.122 / 0.244 / 0.488 mg/LSB at +/-2 / 4 / 8 / 16 g).
SENSITIVITY_MG_PER_LSB: Final[dict[int, float]] = {0: 0.061, 1: 0.122, 2: 0.244, 3: 0.488}


class PacketFlags(enum.IntFlag):
    """Bits of the packet ``flags`` byte. Bits 6 and 7 are reserved and must be 0 in v1."""

    NONE = 0
    #: The sensor FIFO overran before this packet; samples before ``first_sample_index`` are lost.
    FIFO_OVERFLOW = 0x01
    #: Retransmitted from the band's RAM ring buffer in answer to BACKFILL.
    BACKFILL = 0x02
    #: ``device_time_us`` is host Unix time (us since 1970) set by SYNC_TIME, else us since boot.
    CLOCK_SYNCED = 0x04
    #: Battery below the firmware's low threshold (15 % in the reference firmware).
    LOW_BATTERY = 0x08
    #: USB power present (the band is probably on its charger, not on an ankle).
    CHARGING = 0x10
    #: Last packet of a BACKFILL answer (set together with BACKFILL).
    BACKFILL_END = 0x20


_RESERVED_FLAGS: Final = 0xC0


def crc16_ccitt_false(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor).

    ``crc16_ccitt_false(b"123456789") == 0x29B1``.
    """
    return binascii.crc_hqx(data, 0xFFFF)


def _readonly_samples(samples: ArrayLike) -> NDArray[np.int16]:
    arr = np.asarray(samples)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ParameterError("samples", "an (n, 3) array of x, y, z counts", f"shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ParameterError("samples", "integer sensor counts", f"dtype {arr.dtype}")
    if arr.size and (arr.min() < -32768 or arr.max() > 32767):
        raise ParameterError(
            "samples", "values in the int16 range -32768..32767", f"{arr.min()}..{arr.max()}"
        )
    out = np.ascontiguousarray(arr, dtype=np.int16)
    if out is arr:
        out = out.copy()
    out.setflags(write=False)
    return out


def _check_uint(name: str, value: int, bits: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ParameterError(name, f"an unsigned {bits}-bit integer", value)
    if not 0 <= value < (1 << bits):
        raise ParameterError(name, f"an integer in 0..{(1 << bits) - 1}", value)


@dataclass(frozen=True, eq=False)
class BandPacket:
    """One decoded data packet of the legwatch band, profile v1.

    Attributes
    ----------
    flags : PacketFlags
        Status bits of this packet.
    sequence : int
        Packet counter u16, +1 per packet sent since START (live and backfill), wraps to 0.
    first_sample_index : int
        Index (u32) of the first sample in this packet, counted from 0 at START.
    device_time_us : int
        Band clock at the first sample, microseconds (u64); host Unix time when
        ``PacketFlags.CLOCK_SYNCED`` is set, else time since the band booted.
    rate_code, range_code : int
        Keys of :data:`RATE_HZ` and :data:`RANGE_G`.
    battery_pct : int or None
        Battery charge in percent (0..100), None when the band does not know.
    samples : ndarray of int16, shape (n, 3)
        x, y, z in sensor counts (see :meth:`accel_g`), 1 <= n <= 36. Read-only.
    version : int
        Packet format version; always 1 here.
    """

    flags: PacketFlags
    sequence: int
    first_sample_index: int
    device_time_us: int
    rate_code: int
    range_code: int
    battery_pct: int | None
    samples: NDArray[np.int16] = field(repr=False)
    version: int = VERSION

    def __post_init__(self) -> None:
        if self.version != VERSION:
            raise ParameterError("version", f"{VERSION}", self.version)
        _check_uint("flags", int(self.flags), 8)
        if int(self.flags) & _RESERVED_FLAGS:
            raise ParameterError("flags", "reserved bits 6-7 clear", hex(int(self.flags)))
        object.__setattr__(self, "flags", PacketFlags(int(self.flags)))
        _check_uint("sequence", self.sequence, 16)
        _check_uint("first_sample_index", self.first_sample_index, 32)
        _check_uint("device_time_us", self.device_time_us, 64)
        if self.rate_code not in RATE_HZ:
            raise ParameterError("rate_code", f"one of {sorted(RATE_HZ)}", self.rate_code)
        if self.range_code not in RANGE_G:
            raise ParameterError("range_code", f"one of {sorted(RANGE_G)}", self.range_code)
        if self.battery_pct is not None and not (
            isinstance(self.battery_pct, int) and 0 <= self.battery_pct <= 100
        ):
            raise ParameterError("battery_pct", "None or an integer in 0..100", self.battery_pct)
        samples = _readonly_samples(self.samples)
        if not 1 <= samples.shape[0] <= MAX_SAMPLES:
            raise ParameterError("samples", f"1..{MAX_SAMPLES} rows", f"{samples.shape[0]} rows")
        object.__setattr__(self, "samples", samples)

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def rate_hz(self) -> float:
        """Nominal sampling rate in Hz."""
        return RATE_HZ[self.rate_code]

    @property
    def range_g(self) -> int:
        """Full scale of the sensor in g (+/-)."""
        return RANGE_G[self.range_code]

    @property
    def sensitivity_mg_per_lsb(self) -> float:
        return SENSITIVITY_MG_PER_LSB[self.range_code]

    @property
    def next_sample_index(self) -> int:
        """Index the next contiguous packet should start at (not wrapped)."""
        return self.first_sample_index + self.n_samples

    def accel_g(self) -> NDArray[np.float64]:
        """Samples converted to acceleration in g, shape (n, 3), float64."""
        return self.samples.astype(np.float64) * (self.sensitivity_mg_per_lsb / 1000.0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BandPacket):
            return NotImplemented
        return (
            self.version == other.version
            and self.flags == other.flags
            and self.sequence == other.sequence
            and self.first_sample_index == other.first_sample_index
            and self.device_time_us == other.device_time_us
            and self.rate_code == other.rate_code
            and self.range_code == other.range_code
            and self.battery_pct == other.battery_pct
            and np.array_equal(self.samples, other.samples)
        )

    __hash__ = None  # type: ignore[assignment]


def encode_packet(packet: BandPacket) -> bytes:
    """Serialise a :class:`BandPacket` to the v1 byte layout, CRC included."""
    battery = BATTERY_UNKNOWN if packet.battery_pct is None else packet.battery_pct
    header = _HEADER.pack(
        MAGIC,
        packet.version,
        int(packet.flags),
        packet.rate_code,
        packet.range_code,
        battery,
        packet.sequence,
        packet.first_sample_index,
        packet.device_time_us,
        packet.n_samples,
    )
    body = header + packet.samples.astype("<i2", copy=False).tobytes()
    return body + struct.pack("<H", crc16_ccitt_false(body))


def _fail(data: bytes | bytearray | memoryview, message: str) -> PacketDecodeError:
    return PacketDecodeError(f"packet {len(data)} bytes: {message}")


def decode_packet(data: bytes | bytearray | memoryview) -> BandPacket:
    """Decode one complete v1 data packet (a notification, or reassembled fragments).

    Raises
    ------
    PacketDecodeError
        When the bytes are not a valid v1 packet; the message names the field, the byte offset,
        what was expected and what was found.
    """
    data = bytes(data)
    size = len(data)
    if size < HEADER_SIZE + SAMPLE_SIZE + CRC_SIZE:
        raise _fail(
            data,
            f"too short: a v1 packet has at least {HEADER_SIZE + SAMPLE_SIZE + CRC_SIZE} bytes "
            f"(21-byte header, one 6-byte sample, 2-byte CRC)",
        )
    (magic, version, flags, rate_code, range_code, battery, seq, first, t_us, count) = (
        _HEADER.unpack_from(data, 0)
    )
    if magic != MAGIC:
        raise _fail(data, f"bad magic at offset 0: expected 0x{MAGIC:02X}, found 0x{magic:02X}")
    if version != VERSION:
        raise _fail(data, f"unsupported version at offset 1: expected {VERSION}, found {version}")
    if not 1 <= count <= MAX_SAMPLES:
        raise _fail(data, f"sample count at offset 20 is {count}, expected 1..{MAX_SAMPLES}")
    payload = size - HEADER_SIZE - CRC_SIZE
    if payload != count * SAMPLE_SIZE:
        raise _fail(
            data,
            f"header says {count} samples ({count * SAMPLE_SIZE} bytes of samples), "
            f"payload has {payload} bytes",
        )
    crc_offset = size - CRC_SIZE
    (crc_got,) = struct.unpack_from("<H", data, crc_offset)
    crc_want = crc16_ccitt_false(memoryview(data)[:crc_offset])
    if crc_got != crc_want:
        raise _fail(
            data,
            f"CRC-16 mismatch at offset {crc_offset}: computed 0x{crc_want:04X}, "
            f"packet has 0x{crc_got:04X}",
        )
    if flags & _RESERVED_FLAGS:
        raise _fail(data, f"reserved flag bits set at offset 2: flags 0x{flags:02X}")
    if rate_code not in RATE_HZ:
        raise _fail(
            data, f"unknown rate code {rate_code} at offset 3, expected one of {sorted(RATE_HZ)}"
        )
    if range_code not in RANGE_G:
        raise _fail(
            data,
            f"unknown range code {range_code} at offset 4, expected one of {sorted(RANGE_G)}",
        )
    if battery != BATTERY_UNKNOWN and battery > 100:
        raise _fail(data, f"battery {battery} % at offset 5, expected 0..100 or 255 (unknown)")
    samples = np.frombuffer(data, dtype="<i2", count=3 * count, offset=HEADER_SIZE)
    return BandPacket(
        flags=PacketFlags(flags),
        sequence=seq,
        first_sample_index=first,
        device_time_us=t_us,
        rate_code=rate_code,
        range_code=range_code,
        battery_pct=None if battery == BATTERY_UNKNOWN else battery,
        samples=samples.astype(np.int16).reshape(count, 3),
    )


# --- Fragments for small ATT MTU --------------------------------------------------------------

#: A fragment's first byte: 0b11 marker in bits 7-6, bit 5 = last fragment, bits 4-0 = index.
FRAGMENT_MARK: Final = 0xC0
FRAGMENT_LAST: Final = 0x20
_FRAGMENT_INDEX_MASK: Final = 0x1F
#: The smallest ATT_MTU (BLE 4.0 default): 20-byte notifications, 19 packet bytes per fragment.
MIN_ATT_MTU: Final = 23


def split_for_mtu(packet: bytes, att_mtu: int) -> list[bytes]:
    """Notifications that carry ``packet`` over a link with this ATT_MTU (bytes).

    The packet goes whole when ``len(packet) <= att_mtu - 3``; otherwise it is cut into
    fragments of ``att_mtu - 4`` bytes, each behind a one-byte fragment header.
    """
    if isinstance(att_mtu, bool) or not isinstance(att_mtu, int) or att_mtu < MIN_ATT_MTU:
        raise ParameterError("att_mtu", f"an integer >= {MIN_ATT_MTU}", att_mtu)
    room = att_mtu - 3
    if len(packet) <= room:
        return [bytes(packet)]
    chunk = room - 1
    pieces = [packet[i : i + chunk] for i in range(0, len(packet), chunk)]
    if len(pieces) > _FRAGMENT_INDEX_MASK + 1:
        raise ParameterError("packet", "at most 32 fragments", f"{len(pieces)} fragments")
    out = []
    for i, piece in enumerate(pieces):
        head = FRAGMENT_MARK | i | (FRAGMENT_LAST if i == len(pieces) - 1 else 0)
        out.append(bytes([head]) + bytes(piece))
    return out


class PacketReassembler:
    """Turns a stream of data-characteristic notifications back into packets.

    Feed every notification in arrival order. Whole packets (first byte 0x4C) decode at once;
    fragments (first byte 0b11xxxxxx) accumulate until the one flagged last. A fragment out of
    order discards the partial packet and raises; the next fragment with index 0 starts afresh.
    Counters ``packets`` and ``dropped_fragments`` say what happened.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.packets = 0
        self.dropped_fragments = 0

    def reset(self) -> None:
        """Forget a partial packet (call after a disconnect)."""
        self.dropped_fragments += len(self._parts)
        self._parts = []

    def feed(self, notification: bytes | bytearray | memoryview) -> BandPacket | None:
        """Decode a notification; None while a fragmented packet is still incomplete."""
        data = bytes(notification)
        if not data:
            raise PacketDecodeError("notification 0 bytes: empty")
        head = data[0]
        if head == MAGIC:
            if self._parts:
                logger.warning("whole packet arrived inside a fragmented one; partial dropped")
                self.reset()
            packet = decode_packet(data)
            self.packets += 1
            return packet
        if head & 0xC0 != FRAGMENT_MARK:
            self.reset()
            raise PacketDecodeError(
                f"notification {len(data)} bytes: first byte 0x{head:02X} at offset 0 is "
                f"neither the packet magic 0x{MAGIC:02X} nor a fragment header 0b11xxxxxx"
            )
        index = head & _FRAGMENT_INDEX_MASK
        if index != len(self._parts):
            expected = len(self._parts)
            self.reset()
            self.dropped_fragments += 1
            raise PacketDecodeError(
                f"fragment {len(data)} bytes: index {index} at offset 0, expected {expected}"
            )
        self._parts.append(data[1:])
        if not head & FRAGMENT_LAST:
            return None
        whole = b"".join(self._parts)
        self._parts = []
        packet = decode_packet(whole)
        self.packets += 1
        return packet


# --- Control point ----------------------------------------------------------------------------


class Opcode(enum.IntEnum):
    """First byte of a control-point write."""

    START = 0x01
    STOP = 0x02
    SYNC_TIME = 0x03
    BACKFILL = 0x04
    STATUS = 0x05


class ResultCode(enum.IntEnum):
    """Third byte of a control-point response."""

    OK = 0x00
    UNKNOWN_OPCODE = 0x01
    INVALID_PARAMETER = 0x02
    INVALID_STATE = 0x03
    NOT_AVAILABLE = 0x04
    BUSY = 0x05


#: First byte of every control-point response (indication).
RESPONSE_CODE: Final = 0xA0


@dataclass(frozen=True)
class StartCommand:
    """START(rate, range): reset the sample index to 0, clear the ring buffer, stream."""

    rate_code: int
    range_code: int

    def __post_init__(self) -> None:
        if self.rate_code not in RATE_HZ:
            raise ParameterError("rate_code", f"one of {sorted(RATE_HZ)}", self.rate_code)
        if self.range_code not in RANGE_G:
            raise ParameterError("range_code", f"one of {sorted(RANGE_G)}", self.range_code)


@dataclass(frozen=True)
class StopCommand:
    """STOP: stop the sensor and notifications; the ring buffer stays readable by BACKFILL."""


@dataclass(frozen=True)
class SyncTimeCommand:
    """SYNC_TIME(host Unix time in microseconds)."""

    host_unix_time_us: int

    def __post_init__(self) -> None:
        _check_uint("host_unix_time_us", self.host_unix_time_us, 64)


@dataclass(frozen=True)
class BackfillCommand:
    """BACKFILL(from sample index, count): resend samples from the RAM ring buffer."""

    from_sample_index: int
    count: int

    def __post_init__(self) -> None:
        _check_uint("from_sample_index", self.from_sample_index, 32)
        _check_uint("count", self.count, 16)
        if self.count == 0:
            raise ParameterError("count", "1..65535 samples", 0)


@dataclass(frozen=True)
class StatusCommand:
    """STATUS: answer with the status record."""


Command = StartCommand | StopCommand | SyncTimeCommand | BackfillCommand | StatusCommand


def encode_command(command: Command) -> bytes:
    """Bytes to write (with response) to the control point."""
    match command:
        case StartCommand(rate_code=rate, range_code=rng):
            return bytes([Opcode.START, rate, rng])
        case StopCommand():
            return bytes([Opcode.STOP])
        case SyncTimeCommand(host_unix_time_us=t_us):
            return struct.pack("<BQ", Opcode.SYNC_TIME, t_us)
        case BackfillCommand(from_sample_index=first, count=count):
            return struct.pack("<BIH", Opcode.BACKFILL, first, count)
        case StatusCommand():
            return bytes([Opcode.STATUS])
    raise ParameterError("command", "a legwatch v1 command object", command)


_COMMAND_SIZE: Final[dict[int, int]] = {
    Opcode.START: 3,
    Opcode.STOP: 1,
    Opcode.SYNC_TIME: 9,
    Opcode.BACKFILL: 7,
    Opcode.STATUS: 1,
}


def decode_command(data: bytes | bytearray | memoryview) -> Command:
    """Parse a control-point write (the band side, and the virtual band)."""
    data = bytes(data)
    if not data:
        raise PacketDecodeError("command 0 bytes: empty, expected an opcode at offset 0")
    op = data[0]
    if op not in _COMMAND_SIZE:
        raise PacketDecodeError(
            f"command {len(data)} bytes: unknown opcode 0x{op:02X} at offset 0, expected one "
            f"of {', '.join(f'0x{o:02X}' for o in _COMMAND_SIZE)}"
        )
    name = Opcode(op).name
    if len(data) != _COMMAND_SIZE[op]:
        raise PacketDecodeError(
            f"command {len(data)} bytes: {name} takes {_COMMAND_SIZE[op]} bytes"
        )
    try:
        if op == Opcode.START:
            return StartCommand(rate_code=data[1], range_code=data[2])
        if op == Opcode.STOP:
            return StopCommand()
        if op == Opcode.SYNC_TIME:
            return SyncTimeCommand(host_unix_time_us=struct.unpack_from("<Q", data, 1)[0])
        if op == Opcode.BACKFILL:
            first, count = struct.unpack_from("<IH", data, 1)
            return BackfillCommand(from_sample_index=first, count=count)
        return StatusCommand()
    except ParameterError as exc:
        offset = {"rate_code": 1, "range_code": 2, "count": 5}.get(exc.name, 1)
        raise PacketDecodeError(
            f"command {len(data)} bytes: {name} {exc.name} at offset {offset}: "
            f"expected {exc.expected}, got {exc.got!r}"
        ) from None


# --- Status record ----------------------------------------------------------------------------


class StatusFlags(enum.IntFlag):
    """Bits of the status record's state byte. Bits 5-7 are reserved (0)."""

    NONE = 0
    STREAMING = 0x01
    CLOCK_SYNCED = 0x02
    CHARGING = 0x04
    LOW_BATTERY = 0x08
    BACKFILL_ACTIVE = 0x10


_STATUS = struct.Struct("<BHBBBBIIH")
STATUS_SIZE: Final = _STATUS.size  # 17 bytes: fits a 20-byte indication with a 3-byte header


@dataclass(frozen=True)
class BandStatus:
    """The status record (status characteristic value, and the STATUS response payload).

    Attributes
    ----------
    battery_pct : int or None
        0..100, None when unknown (0xFF on the wire).
    battery_mv : int
        Battery voltage in millivolts, 0 when unknown.
    firmware_version : tuple of int
        (major, minor, patch).
    state : StatusFlags
    last_sample_index : int or None
        Index of the newest sample since START, None before the first (0xFFFFFFFF).
    ring_oldest_index : int or None
        Oldest sample index BACKFILL can still serve, None when the ring buffer is empty.
    fifo_overflows : int
        Sensor FIFO overruns since START (saturates at 65535).
    """

    battery_pct: int | None
    battery_mv: int
    firmware_version: tuple[int, int, int]
    state: StatusFlags
    last_sample_index: int | None
    ring_oldest_index: int | None
    fifo_overflows: int

    def __post_init__(self) -> None:
        if self.battery_pct is not None and not 0 <= self.battery_pct <= 100:
            raise ParameterError("battery_pct", "None or 0..100", self.battery_pct)
        _check_uint("battery_mv", self.battery_mv, 16)
        if len(self.firmware_version) != 3:
            raise ParameterError("firmware_version", "(major, minor, patch)", self.firmware_version)
        for part in self.firmware_version:
            _check_uint("firmware_version", part, 8)
        _check_uint("state", int(self.state), 5)
        object.__setattr__(self, "state", StatusFlags(int(self.state)))
        for name in ("last_sample_index", "ring_oldest_index"):
            value = getattr(self, name)
            if value is not None:
                _check_uint(name, value, 32)
                if value == NO_INDEX:
                    raise ParameterError(name, "None or 0..0xFFFFFFFE", value)
        _check_uint("fifo_overflows", self.fifo_overflows, 16)

    @property
    def ring_span_samples(self) -> int:
        """Samples BACKFILL can serve (0 when the ring buffer is empty)."""
        if self.last_sample_index is None or self.ring_oldest_index is None:
            return 0
        return (self.last_sample_index - self.ring_oldest_index) % (1 << 32) + 1


def encode_status(status: BandStatus) -> bytes:
    """The 17-byte status record."""
    major, minor, patch = status.firmware_version
    return _STATUS.pack(
        BATTERY_UNKNOWN if status.battery_pct is None else status.battery_pct,
        status.battery_mv,
        major,
        minor,
        patch,
        int(status.state),
        NO_INDEX if status.last_sample_index is None else status.last_sample_index,
        NO_INDEX if status.ring_oldest_index is None else status.ring_oldest_index,
        status.fifo_overflows,
    )


def decode_status(data: bytes | bytearray | memoryview) -> BandStatus:
    """Parse the 17-byte status record."""
    data = bytes(data)
    if len(data) != STATUS_SIZE:
        raise PacketDecodeError(f"status {len(data)} bytes: expected {STATUS_SIZE} bytes")
    battery, mv, major, minor, patch, state, last, oldest, overflows = _STATUS.unpack(data)
    if battery != BATTERY_UNKNOWN and battery > 100:
        raise PacketDecodeError(
            f"status {len(data)} bytes: battery {battery} % at offset 0, expected 0..100 or 255"
        )
    if state & 0xE0:
        raise PacketDecodeError(
            f"status {len(data)} bytes: reserved state bits set at offset 6: 0x{state:02X}"
        )
    return BandStatus(
        battery_pct=None if battery == BATTERY_UNKNOWN else battery,
        battery_mv=mv,
        firmware_version=(major, minor, patch),
        state=StatusFlags(state),
        last_sample_index=None if last == NO_INDEX else last,
        ring_oldest_index=None if oldest == NO_INDEX else oldest,
        fifo_overflows=overflows,
    )


# --- Control-point responses ------------------------------------------------------------------


@dataclass(frozen=True)
class CommandResponse:
    """A control-point indication answering one command.

    Only an OK response carries a body, and which one depends on the opcode:
    SYNC_TIME -> ``device_time_us`` (band clock when the command arrived, before it was set);
    BACKFILL -> ``backfill_first_index`` and ``backfill_count`` (what will be resent);
    STATUS -> ``status``. START and STOP have no body.
    """

    opcode: Opcode
    result: ResultCode
    device_time_us: int | None = None
    backfill_first_index: int | None = None
    backfill_count: int | None = None
    status: BandStatus | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "opcode", Opcode(self.opcode))
        object.__setattr__(self, "result", ResultCode(self.result))
        body = {
            "device_time_us": self.device_time_us,
            "backfill_first_index": self.backfill_first_index,
            "backfill_count": self.backfill_count,
            "status": self.status,
        }
        wanted: set[str] = set()
        if self.result == ResultCode.OK:
            wanted = {
                Opcode.SYNC_TIME: {"device_time_us"},
                Opcode.BACKFILL: {"backfill_first_index", "backfill_count"},
                Opcode.STATUS: {"status"},
            }.get(self.opcode, set())
        given = {k for k, v in body.items() if v is not None}
        if self.device_time_us is not None:
            _check_uint("device_time_us", self.device_time_us, 64)
        if self.backfill_first_index is not None:
            _check_uint("backfill_first_index", self.backfill_first_index, 32)
        if self.backfill_count is not None:
            _check_uint("backfill_count", self.backfill_count, 16)
        if given != wanted:
            raise ParameterError(
                "CommandResponse body",
                f"exactly {sorted(wanted) or 'no body fields'} for {self.opcode.name} "
                f"{self.result.name}",
                sorted(given),
            )


def encode_response(response: CommandResponse) -> bytes:
    """Bytes of the control-point indication (<= 20 bytes, so it fits any ATT_MTU)."""
    head = bytes([RESPONSE_CODE, response.opcode, response.result])
    if response.device_time_us is not None:
        return head + struct.pack("<Q", response.device_time_us)
    if response.backfill_first_index is not None and response.backfill_count is not None:
        return head + struct.pack("<IH", response.backfill_first_index, response.backfill_count)
    if response.status is not None:
        return head + encode_status(response.status)
    return head


def decode_response(data: bytes | bytearray | memoryview) -> CommandResponse:
    """Parse a control-point indication."""
    data = bytes(data)
    where = f"response {len(data)} bytes"
    if len(data) < 3:
        raise PacketDecodeError(f"{where}: too short, expected at least 3 bytes")
    if data[0] != RESPONSE_CODE:
        raise PacketDecodeError(
            f"{where}: bad response code at offset 0: expected 0x{RESPONSE_CODE:02X}, "
            f"found 0x{data[0]:02X}"
        )
    try:
        opcode = Opcode(data[1])
    except ValueError:
        raise PacketDecodeError(f"{where}: unknown opcode 0x{data[1]:02X} at offset 1") from None
    try:
        result = ResultCode(data[2])
    except ValueError:
        raise PacketDecodeError(
            f"{where}: unknown result code 0x{data[2]:02X} at offset 2"
        ) from None
    body = data[3:]
    expected = 0
    if result == ResultCode.OK:
        expected = {Opcode.SYNC_TIME: 8, Opcode.BACKFILL: 6, Opcode.STATUS: STATUS_SIZE}.get(
            opcode, 0
        )
    if len(body) != expected:
        raise PacketDecodeError(
            f"{where}: {opcode.name} {result.name} carries {expected} body bytes from offset "
            f"3, found {len(body)}"
        )
    kwargs: dict[str, Any] = {}
    if expected and opcode == Opcode.SYNC_TIME:
        kwargs["device_time_us"] = struct.unpack("<Q", body)[0]
    elif expected and opcode == Opcode.BACKFILL:
        first, count = struct.unpack("<IH", body)
        kwargs["backfill_first_index"] = first
        kwargs["backfill_count"] = count
    elif expected and opcode == Opcode.STATUS:
        kwargs["status"] = decode_status(body)
    return CommandResponse(opcode=opcode, result=result, **kwargs)
