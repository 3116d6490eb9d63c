"""Properties of the legwatch band v1 codec: round trips, fuzzing, and input checks."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from legwatch.band import (
    MAX_SAMPLES,
    RANGE_G,
    RATE_HZ,
    BackfillCommand,
    BandPacket,
    BandStatus,
    CommandResponse,
    Opcode,
    PacketFlags,
    PacketReassembler,
    ResultCode,
    StartCommand,
    StatusCommand,
    StatusFlags,
    StopCommand,
    SyncTimeCommand,
    decode_command,
    decode_packet,
    decode_response,
    decode_status,
    encode_command,
    encode_packet,
    encode_response,
    encode_status,
    split_for_mtu,
)
from legwatch.errors import PacketDecodeError, ParameterError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

samples_strategy = st.integers(1, MAX_SAMPLES).flatmap(
    lambda n: arrays(np.int16, (n, 3), elements=st.integers(-32768, 32767))
)

packets = st.builds(
    BandPacket,
    flags=st.integers(0, 0x3F).map(PacketFlags),
    sequence=st.integers(0, 0xFFFF),
    first_sample_index=st.integers(0, 0xFFFF_FFFF),
    device_time_us=st.integers(0, 2**64 - 1),
    rate_code=st.sampled_from(sorted(RATE_HZ)),
    range_code=st.sampled_from(sorted(RANGE_G)),
    battery_pct=st.none() | st.integers(0, 100),
    samples=samples_strategy,
)


@FUZZ
@given(packets)
def test_encode_decode_round_trip(packet: BandPacket) -> None:
    data = encode_packet(packet)
    assert len(data) == 23 + 6 * packet.n_samples <= 244
    assert decode_packet(data) == packet


@FUZZ
@given(packets, st.integers(23, 247))
def test_fragments_fit_the_mtu_and_reassemble(packet: BandPacket, att_mtu: int) -> None:
    notifications = split_for_mtu(encode_packet(packet), att_mtu)
    assert all(len(n) <= att_mtu - 3 for n in notifications)
    reassembler = PacketReassembler()
    decoded = [reassembler.feed(n) for n in notifications]
    assert decoded[-1] == packet
    assert all(d is None for d in decoded[:-1])


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_packet_decode_error(data: bytes) -> None:
    try:
        packet = decode_packet(data)
    except PacketDecodeError:
        return
    assert encode_packet(packet) == data


@FUZZ
@given(packets, st.data())
def test_mutated_valid_packets_decode_or_raise(packet: BandPacket, data: st.DataObject) -> None:
    raw = bytearray(encode_packet(packet))
    mutation = data.draw(st.sampled_from(["flip", "truncate", "extend", "byte"]))
    if mutation == "flip":
        bit = data.draw(st.integers(0, 8 * len(raw) - 1))
        raw[bit // 8] ^= 1 << (bit % 8)
    elif mutation == "truncate":
        del raw[data.draw(st.integers(0, len(raw) - 1)) :]
    elif mutation == "extend":
        raw += data.draw(st.binary(min_size=1, max_size=8))
    else:
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        decoded = decode_packet(bytes(raw))
    except PacketDecodeError:
        return
    # A mutation may only pass if it left the bytes unchanged (same value written back).
    assert encode_packet(decoded) == bytes(raw)


def test_single_bit_flips_are_all_caught() -> None:
    raw = encode_packet(
        BandPacket(PacketFlags.CLOCK_SYNCED, 1, 0, 10, 4, 2, 50, np.arange(78).reshape(26, 3))
    )
    for bit in range(8 * len(raw)):
        broken = bytearray(raw)
        broken[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(PacketDecodeError):
            decode_packet(bytes(broken))


@FUZZ
@given(st.lists(st.binary(min_size=1, max_size=30), max_size=20))
def test_reassembler_never_raises_anything_else(notifications: list[bytes]) -> None:
    reassembler = PacketReassembler()
    for n in notifications:
        with contextlib.suppress(PacketDecodeError):
            reassembler.feed(n)


def test_accel_g_uses_the_range_sensitivity() -> None:
    counts = np.array([[4098, -4098, 0]], dtype=np.int16)
    packet = BandPacket(PacketFlags.NONE, 0, 0, 0, 4, 2, None, counts)
    np.testing.assert_allclose(packet.accel_g(), [[0.999912, -0.999912, 0.0]], atol=1e-9)
    assert packet.rate_hz == 104.0 and packet.range_g == 8
    assert packet.next_sample_index == 1


def test_packet_samples_are_read_only_and_copied() -> None:
    counts = np.zeros((2, 3), dtype=np.int16)
    packet = BandPacket(PacketFlags.NONE, 0, 0, 0, 4, 2, None, counts)
    counts[0, 0] = 7
    assert packet.samples[0, 0] == 0
    with pytest.raises(ValueError, match="read-only"):
        packet.samples[0, 0] = 1


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"rate_code": 0}, "rate_code"),
        ({"range_code": 9}, "range_code"),
        ({"sequence": 65536}, "sequence"),
        ({"battery_pct": 101}, "battery_pct"),
        ({"flags": 0x40}, "flags"),
        ({"samples": np.zeros((37, 3), dtype=np.int16)}, "samples"),
        ({"samples": np.zeros((0, 3), dtype=np.int16)}, "samples"),
        ({"samples": np.full((1, 3), 40000)}, "samples"),
        ({"samples": np.zeros((2, 2), dtype=np.int16)}, "samples"),
    ],
)
def test_band_packet_rejects_bad_fields(kwargs: dict[str, object], name: str) -> None:
    base: dict[str, object] = {
        "flags": 0,
        "sequence": 0,
        "first_sample_index": 0,
        "device_time_us": 0,
        "rate_code": 4,
        "range_code": 2,
        "battery_pct": None,
        "samples": np.zeros((1, 3), dtype=np.int16),
    }
    base.update(kwargs)
    with pytest.raises(ParameterError, match=name):
        BandPacket(**base)  # type: ignore[arg-type]


def test_split_for_mtu_rejects_tiny_mtu() -> None:
    with pytest.raises(ParameterError, match="att_mtu"):
        split_for_mtu(b"L" * 40, 22)


commands = st.one_of(
    st.builds(StartCommand, st.sampled_from(sorted(RATE_HZ)), st.sampled_from(sorted(RANGE_G))),
    st.just(StopCommand()),
    st.builds(SyncTimeCommand, st.integers(0, 2**64 - 1)),
    st.builds(BackfillCommand, st.integers(0, 2**32 - 1), st.integers(1, 65535)),
    st.just(StatusCommand()),
)


@FUZZ
@given(commands)
def test_command_round_trip(command: object) -> None:
    data = encode_command(command)  # type: ignore[arg-type]
    assert len(data) <= 20
    assert decode_command(data) == command


statuses = st.builds(
    BandStatus,
    battery_pct=st.none() | st.integers(0, 100),
    battery_mv=st.integers(0, 65535),
    firmware_version=st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    state=st.integers(0, 0x1F).map(StatusFlags),
    last_sample_index=st.none() | st.integers(0, 0xFFFF_FFFE),
    ring_oldest_index=st.none() | st.integers(0, 0xFFFF_FFFE),
    fifo_overflows=st.integers(0, 65535),
)


@FUZZ
@given(statuses)
def test_status_and_status_response_round_trip(status: BandStatus) -> None:
    assert decode_status(encode_status(status)) == status
    response = CommandResponse(Opcode.STATUS, ResultCode.OK, status=status)
    data = encode_response(response)
    assert len(data) == 20
    assert decode_response(data) == response


@FUZZ
@given(st.binary(max_size=40))
def test_any_bytes_as_command_status_or_response(data: bytes) -> None:
    for decode in (decode_command, decode_status, decode_response):
        with contextlib.suppress(PacketDecodeError):
            decode(data)


def test_response_body_must_match_opcode() -> None:
    with pytest.raises(ParameterError, match="device_time_us"):
        CommandResponse(Opcode.SYNC_TIME, ResultCode.OK)
    with pytest.raises(ParameterError, match="no body"):
        CommandResponse(Opcode.START, ResultCode.OK, device_time_us=5)


def test_ring_span_counts_inclusive_samples() -> None:
    status = BandStatus(80, 3900, (1, 0, 0), StatusFlags.STREAMING, 12_479, 0, 0)
    assert status.ring_span_samples == 12_480
