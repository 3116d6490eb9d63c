"""Polar Measurement Data (PMD) accelerometer frames and control-point commands.

Written from Polar's public documentation (polarofficial/polar-ble-sdk, technical_documentation:
"Polar Measurement Data Specification" and "TimeSystemExplained.md"). Summary of what is used:

Data frame (PMD data characteristic)::

    [0]     measurement type (ACC = 2)
    [1..8]  u64 timestamp: ns since 2000-01-01T00:00:00Z (sensor clock) of the LAST sample
    [9]     frame type; bit 7 set = delta compressed
    [10..]  payload

Raw ACC payloads: type 0 int8 x3, type 1 int16 x3, type 2 int24 x3, little-endian, in mG.
Delta-compressed payloads: one reference sample (int16 per channel), then blocks of
``[bit width u8][sample count u8][ceil(width * count * 3 / 8) bytes]`` holding signed deltas of
``width`` bits packed LSB first, channel-interleaved (x, y, z of one sample, then the next), each
added to the previous sample.

Pure code: no BLE, no asyncio.
"""

from __future__ import annotations

import enum
import logging
import struct
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from legwatch.errors import PacketDecodeError, ParameterError

logger = logging.getLogger(__name__)

PMD_SERVICE_UUID: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: 2000-01-01T00:00:00Z in ns since the Unix epoch (Polar TimeSystemExplained.md).
POLAR_EPOCH_UNIX_NS: Final = 946_684_800_000_000_000

#: Full scales (g) and rates (Hz) a Polar ACC stream can be asked for (H10: 25/50/100/200 Hz;
#: Verity Sense: 26/52/104/208/416 Hz, non-default rates need SDK mode).
PMD_ACC_RANGES_G: Final = (2, 4, 8, 16)
PMD_ACC_RATES_HZ: Final = (25, 26, 50, 52, 100, 104, 200, 208, 416)
PMD_ACC_RESOLUTIONS_BITS: Final = (16,)

_HEADER_SIZE: Final = 10
#: Bytes per channel of raw ACC frame types 0, 1, 2.
_RAW_BYTES: Final[dict[int, int]] = {0: 1, 1: 2, 2: 3}
#: Reference-sample width (bits) of delta-compressed ACC frame types 0 and 1.
_DELTA_REFERENCE_BITS: Final[dict[int, int]] = {0: 16, 1: 16}
_CHANNELS: Final = 3


class PmdMeasurementType(enum.IntEnum):
    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAG = 6


class PmdOpcode(enum.IntEnum):
    GET_SETTINGS = 0x01
    START = 0x02
    STOP = 0x03


class PmdSetting(enum.IntEnum):
    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5


#: Bytes per value of each setting in a GET_SETTINGS answer.
_SETTING_SIZE: Final[dict[int, int]] = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4}

#: Control-point error codes (byte 3 of a 0xF0 response).
PMD_ERRORS: Final[dict[int, str]] = {
    0: "success",
    1: "invalid op code",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device in charger",
}


@dataclass(frozen=True, eq=False)
class PmdAccFrame:
    """One decoded PMD accelerometer frame.

    Attributes
    ----------
    timestamp_ns : int
        Sensor time of the LAST sample, ns since 2000-01-01T00:00:00Z.
    frame_type : int
        Frame type without the compression bit (0..127).
    compressed : bool
        True for delta-compressed frames (frame type byte 0x80 | type).
    samples_mg : ndarray of int32, shape (n, 3)
        x, y, z in the frame's integer unit (mG for Polar ACC; times ``factor``). Read-only.
    range_g : int
        Full scale the stream was started with (g), used by :meth:`clipped`.
    factor : float
        Scale from the stream settings (PMD setting FACTOR); 1.0 for plain mG.
    """

    timestamp_ns: int
    frame_type: int
    compressed: bool
    samples_mg: NDArray[np.int32] = field(repr=False)
    range_g: int = 8
    factor: float = 1.0

    @property
    def n_samples(self) -> int:
        return int(self.samples_mg.shape[0])

    @property
    def unix_time_ns_last(self) -> int:
        """Time of the last sample in ns since the Unix epoch (if the sensor clock was set)."""
        return self.timestamp_ns + POLAR_EPOCH_UNIX_NS

    def accel_g(self) -> NDArray[np.float64]:
        """Acceleration in g, shape (n, 3)."""
        return self.samples_mg.astype(np.float64) * (self.factor / 1000.0)

    def sample_times_ns(self, fs_hz: float) -> NDArray[np.int64]:
        """Sensor time of every sample (ns since 2000-01-01), back from the last at ``fs_hz``."""
        if not fs_hz > 0:
            raise ParameterError("fs_hz", "a positive sampling rate in Hz", fs_hz)
        steps = np.arange(self.n_samples - 1, -1, -1, dtype=np.float64)
        return self.timestamp_ns - np.round(steps * 1e9 / fs_hz).astype(np.int64)

    def clipped(self, margin_mg: float = 10.0) -> NDArray[np.bool_]:
        """(n, 3) mask of values within ``margin_mg`` mG of the full scale (likely clipped)."""
        limit_mg = self.range_g * 1000.0 - margin_mg
        return np.abs(self.samples_mg.astype(np.float64) * self.factor) >= limit_mg


def _fail(data: bytes, message: str) -> PacketDecodeError:
    return PacketDecodeError(f"PMD frame {len(data)} bytes: {message}")


def _sign_extend(values: NDArray[np.int64], bits: int) -> NDArray[np.int64]:
    sign = np.int64(1) << np.int64(bits - 1)
    return (values ^ sign) - sign


def _decode_raw(data: bytes, frame_type: int) -> NDArray[np.int64]:
    width = _RAW_BYTES[frame_type]
    payload = np.frombuffer(data, dtype=np.uint8, offset=_HEADER_SIZE)
    step = width * _CHANNELS
    if payload.size == 0 or payload.size % step:
        raise _fail(
            data,
            f"raw frame type {frame_type} payload from offset {_HEADER_SIZE} has "
            f"{payload.size} bytes, expected a positive multiple of {step} "
            f"({_CHANNELS} x int{8 * width})",
        )
    cells = payload.reshape(-1, width).astype(np.int64)
    values = np.zeros(cells.shape[0], dtype=np.int64)
    for i in range(width):
        values |= cells[:, i] << np.int64(8 * i)
    return _sign_extend(values, 8 * width).reshape(-1, _CHANNELS)


def _decode_delta(data: bytes, frame_type: int) -> NDArray[np.int64]:
    ref_bytes = _DELTA_REFERENCE_BITS[frame_type] // 8
    offset = _HEADER_SIZE
    end = offset + ref_bytes * _CHANNELS
    if len(data) < end:
        raise _fail(
            data,
            f"delta frame needs a {ref_bytes * _CHANNELS}-byte reference sample at offset "
            f"{offset}, found {len(data) - offset} bytes",
        )
    ref = [
        int.from_bytes(
            data[offset + i * ref_bytes : offset + (i + 1) * ref_bytes], "little", signed=True
        )
        for i in range(_CHANNELS)
    ]
    rows: list[NDArray[np.int64]] = [np.asarray([ref], dtype=np.int64)]
    offset = end
    while offset < len(data):
        if offset + 2 > len(data):
            raise _fail(
                data,
                f"1 trailing byte at offset {offset}: a delta block header needs 2 bytes",
            )
        width, count = data[offset], data[offset + 1]
        if not 1 <= width <= 32:
            raise _fail(data, f"delta bit width {width} at offset {offset}, expected 1..32")
        if count == 0:
            raise _fail(data, f"delta sample count 0 at offset {offset + 1}, expected 1..255")
        n_bits = width * count * _CHANNELS
        n_bytes = (n_bits + 7) // 8
        start = offset + 2
        if start + n_bytes > len(data):
            raise _fail(
                data,
                f"delta block at offset {offset} ({count} samples x {width} bits) needs "
                f"{n_bytes} bytes from offset {start}, found {len(data) - start}",
            )
        raw = np.frombuffer(data, dtype=np.uint8, count=n_bytes, offset=start)
        bits = np.unpackbits(raw, bitorder="little")[:n_bits].reshape(-1, width)
        weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
        deltas = _sign_extend(bits.astype(np.int64) @ weights, width)
        rows.append(deltas.reshape(count, _CHANNELS))
        offset = start + n_bytes
    return np.cumsum(np.concatenate(rows), axis=0)


def decode_pmd_acc_frame(
    data: bytes | bytearray | memoryview, *, range_g: int = 8, factor: float = 1.0
) -> PmdAccFrame:
    """Decode one PMD ACC data notification (raw frame types 0-2, compressed 0x80 and 0x81).

    Parameters
    ----------
    data : bytes
        The notification.
    range_g : int
        Full scale (g) the stream was started with; kept on the frame for :meth:`clipped`.
        Default 8 g, the legwatch choice for ankle movements (same as the legwatch band).
    factor : float
        Value scale from the stream's settings (PMD FACTOR); 1.0 means values are mG.

    Raises
    ------
    PacketDecodeError
        Not an ACC frame, an unknown frame type, or a payload that does not add up; the message
        names the byte offset.
    """
    if range_g not in PMD_ACC_RANGES_G:
        raise ParameterError("range_g", f"one of {PMD_ACC_RANGES_G}", range_g)
    if not factor > 0:
        raise ParameterError("factor", "a positive scale", factor)
    data = bytes(data)
    if len(data) < _HEADER_SIZE + 1:
        raise _fail(data, f"too short: header is {_HEADER_SIZE} bytes and a payload must follow")
    if data[0] != PmdMeasurementType.ACC:
        raise _fail(
            data,
            f"measurement type {data[0]} at offset 0, expected {int(PmdMeasurementType.ACC)} (ACC)",
        )
    (timestamp_ns,) = struct.unpack_from("<Q", data, 1)
    type_byte = data[9]
    compressed = bool(type_byte & 0x80)
    frame_type = type_byte & 0x7F
    known = _DELTA_REFERENCE_BITS if compressed else _RAW_BYTES
    if frame_type not in known:
        allowed = ", ".join(f"0x{(0x80 if compressed else 0) | t:02X}" for t in known)
        raise _fail(data, f"unsupported ACC frame type 0x{type_byte:02X} at offset 9 ({allowed})")
    values = _decode_delta(data, frame_type) if compressed else _decode_raw(data, frame_type)
    if values.size and (values.min() < -(2**31) or values.max() >= 2**31):
        raise _fail(data, "delta sums leave the int32 range")
    samples = values.astype(np.int32)
    samples.setflags(write=False)
    return PmdAccFrame(
        timestamp_ns=timestamp_ns,
        frame_type=frame_type,
        compressed=compressed,
        samples_mg=samples,
        range_g=range_g,
        factor=factor,
    )


# --- Control point ----------------------------------------------------------------------------


def build_get_settings(measurement: PmdMeasurementType = PmdMeasurementType.ACC) -> bytes:
    """Control-point write asking which settings the sensor supports for ``measurement``."""
    return bytes([PmdOpcode.GET_SETTINGS, PmdMeasurementType(measurement)])


def build_start_acc(
    *, sample_rate_hz: int = 52, range_g: int = 8, resolution_bits: int = 16
) -> bytes:
    """Control-point write starting the ACC stream.

    Defaults: 52 Hz (the Verity Sense default ACC rate, no SDK mode needed), +/-8 g and 16 bit.
    Layout: ``[0x02][0x02]`` then for each setting ``[type u8][count=1][value u16 LE]``.
    """
    if sample_rate_hz not in PMD_ACC_RATES_HZ:
        raise ParameterError("sample_rate_hz", f"one of {PMD_ACC_RATES_HZ}", sample_rate_hz)
    if range_g not in PMD_ACC_RANGES_G:
        raise ParameterError("range_g", f"one of {PMD_ACC_RANGES_G}", range_g)
    if resolution_bits not in PMD_ACC_RESOLUTIONS_BITS:
        raise ParameterError(
            "resolution_bits", f"one of {PMD_ACC_RESOLUTIONS_BITS}", resolution_bits
        )
    return bytes([PmdOpcode.START, PmdMeasurementType.ACC]) + struct.pack(
        "<BBHBBHBBH",
        PmdSetting.SAMPLE_RATE, 1, sample_rate_hz,
        PmdSetting.RESOLUTION, 1, resolution_bits,
        PmdSetting.RANGE, 1, range_g,
    )  # fmt: skip


def build_stop(measurement: PmdMeasurementType = PmdMeasurementType.ACC) -> bytes:
    """Control-point write stopping ``measurement``. Always send it before disconnecting."""
    return bytes([PmdOpcode.STOP, PmdMeasurementType(measurement)])


@dataclass(frozen=True)
class PmdControlResponse:
    """A PMD control-point answer ``[0xF0][opcode][type][error][more][parameters...]``.

    ``settings`` maps each setting type of a GET_SETTINGS answer to the values offered.
    """

    opcode: int
    measurement_type: int
    error_code: int
    more_frames: bool
    settings: dict[int, tuple[float, ...]]

    @property
    def ok(self) -> bool:
        return self.error_code == 0

    @property
    def error(self) -> str:
        return PMD_ERRORS.get(self.error_code, f"unknown error {self.error_code}")


def decode_pmd_control_response(data: bytes | bytearray | memoryview) -> PmdControlResponse:
    """Parse a PMD control-point indication."""
    data = bytes(data)
    where = f"PMD control response {len(data)} bytes"
    if len(data) < 4:
        raise PacketDecodeError(f"{where}: too short, expected at least 4 bytes")
    if data[0] != 0xF0:
        raise PacketDecodeError(f"{where}: byte 0 is 0x{data[0]:02X}, expected 0xF0")
    opcode, mtype, error = data[1], data[2], data[3]
    more = len(data) > 4 and data[4] != 0
    settings: dict[int, tuple[float, ...]] = {}
    if opcode == PmdOpcode.GET_SETTINGS and error == 0 and len(data) > 5:
        offset = 5
        while offset < len(data):
            if offset + 2 > len(data):
                raise PacketDecodeError(f"{where}: truncated setting header at offset {offset}")
            kind, count = data[offset], data[offset + 1]
            if kind not in _SETTING_SIZE:
                raise PacketDecodeError(f"{where}: unknown setting type {kind} at offset {offset}")
            size = _SETTING_SIZE[kind]
            start = offset + 2
            if start + size * count > len(data):
                raise PacketDecodeError(
                    f"{where}: setting {kind} at offset {offset} lists {count} values of {size} "
                    f"bytes, only {len(data) - start} bytes follow"
                )
            values: list[float] = []
            for i in range(count):
                chunk = data[start + i * size : start + (i + 1) * size]
                if kind == PmdSetting.FACTOR:
                    values.append(struct.unpack("<f", chunk)[0])
                else:
                    values.append(int.from_bytes(chunk, "little"))
            settings[kind] = tuple(values)
            offset = start + size * count
    return PmdControlResponse(
        opcode=opcode,
        measurement_type=mtype,
        error_code=error,
        more_frames=more,
        settings=settings,
    )
