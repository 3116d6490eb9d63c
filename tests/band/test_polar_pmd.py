"""Polar PMD ACC decoding: delta frames against an independent encoder, fuzzing, builders."""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legwatch.band import (
    build_get_settings,
    build_start_acc,
    build_stop,
    decode_pmd_acc_frame,
)
from legwatch.band.polar_pmd import POLAR_EPOCH_UNIX_NS
from legwatch.errors import PacketDecodeError, ParameterError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _pack_lsb_first(values: list[int], width: int) -> bytes:
    acc = 0
    for i, v in enumerate(values):
        acc |= (v & ((1 << width) - 1)) << (i * width)
    return acc.to_bytes((len(values) * width + 7) // 8, "little")


def _delta_frame(samples: np.ndarray, block: int, timestamp_ns: int) -> bytes:
    """Encode samples (n, 3) like a Polar sensor: smallest width per block of deltas."""
    out = bytes([2]) + struct.pack("<Q", timestamp_ns) + bytes([0x81])
    out += struct.pack("<hhh", *samples[0])
    deltas = np.diff(samples.astype(np.int64), axis=0)
    for start in range(0, len(deltas), block):
        chunk = deltas[start : start + block]
        peak = int(np.max(np.abs(chunk))) if chunk.size else 0
        width = max(1, (peak).bit_length() + 1)
        out += bytes([width, len(chunk)]) + _pack_lsb_first(chunk.ravel().tolist(), width)
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 60).flatmap(
        lambda n: st.lists(st.tuples(*[st.integers(-16000, 16000)] * 3), min_size=n, max_size=n)
    ),
    st.integers(1, 40),
    st.integers(0, 2**64 - 1),
)
def test_delta_frames_decode_to_the_encoded_samples(
    rows: list[tuple[int, int, int]], block: int, timestamp_ns: int
) -> None:
    samples = np.array(rows, dtype=np.int64)
    frame = decode_pmd_acc_frame(_delta_frame(samples, block, timestamp_ns))
    np.testing.assert_array_equal(frame.samples_mg, samples)
    assert frame.timestamp_ns == timestamp_ns
    assert frame.compressed and frame.frame_type == 1


@FUZZ
@given(st.binary(max_size=120))
def test_any_bytes_decode_or_raise(data: bytes) -> None:
    with contextlib.suppress(PacketDecodeError):
        decode_pmd_acc_frame(data)


@FUZZ
@given(st.sampled_from([0x00, 0x01, 0x02, 0x80, 0x81]), st.binary(max_size=80))
def test_acc_headers_with_random_payloads_decode_or_raise(type_byte: int, payload: bytes) -> None:
    data = bytes([2]) + bytes(8) + bytes([type_byte]) + payload
    try:
        frame = decode_pmd_acc_frame(data)
    except PacketDecodeError:
        return
    assert frame.samples_mg.shape[1] == 3 and frame.n_samples >= 1


def test_sample_times_end_at_the_frame_timestamp() -> None:
    data = bytes([2]) + struct.pack("<Q", 10_000_000_000) + bytes([1]) + bytes(6 * 4)
    frame = decode_pmd_acc_frame(data)
    times = frame.sample_times_ns(52.0)
    assert times[-1] == 10_000_000_000
    np.testing.assert_allclose(np.diff(times), 1e9 / 52.0, atol=1)
    assert frame.unix_time_ns_last == 10_000_000_000 + POLAR_EPOCH_UNIX_NS
    with pytest.raises(ParameterError, match="fs_hz"):
        frame.sample_times_ns(0.0)


def test_clipped_marks_values_at_full_scale() -> None:
    rows = struct.pack("<hhh", 7999, -8000, 100) + struct.pack("<hhh", 0, 0, 0)
    frame = decode_pmd_acc_frame(bytes([2]) + bytes(8) + bytes([1]) + rows, range_g=8)
    np.testing.assert_array_equal(frame.clipped(), [[True, True, False], [False, False, False]])


def test_builders_and_their_checks() -> None:
    assert build_get_settings() == b"\x01\x02"
    assert build_stop() == b"\x03\x02"
    assert build_start_acc(sample_rate_hz=208, range_g=2).hex() == "0202" + "0001d000" + (
        "01011000" + "02010200"
    )
    with pytest.raises(ParameterError, match="sample_rate_hz"):
        build_start_acc(sample_rate_hz=60)
    with pytest.raises(ParameterError, match="range_g"):
        build_start_acc(range_g=3)
    with pytest.raises(ParameterError, match="range_g"):
        decode_pmd_acc_frame(b"", range_g=5)
