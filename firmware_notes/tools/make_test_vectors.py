"""Regenerate firmware_notes/test_vectors.json from the byte layouts in PROFILE.md.

Deliberately independent of legwatch.band: bytes are packed here with ``struct``, the CRC is a
bit-by-bit CRC-16/CCITT-FALSE and the Polar delta frames are bit-packed by hand, so the vectors
check the library instead of echoing it. Run: ``python firmware_notes/tools/make_test_vectors.py``.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "test_vectors.json"
RATE_HZ = {1: 12.5, 2: 26.0, 3: 52.0, 4: 104.0, 5: 208.0, 6: 416.0}
MG_PER_LSB = {0: 0.061, 1: 0.122, 2: 0.244, 3: 0.488}
RANGE_G = {0: 2, 1: 4, 2: 8, 3: 16}
FLAG_NAMES = [
    "FIFO_OVERFLOW",
    "BACKFILL",
    "CLOCK_SYNCED",
    "LOW_BATTERY",
    "CHARGING",
    "BACKFILL_END",
]
T0_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in us since 1970


def crc16(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


assert crc16(b"123456789") == 0x29B1


def packet(
    *,
    flags=0,
    seq=0,
    first=0,
    t_us=0,
    rate=4,
    rng=2,
    battery=80,
    samples,
    count=None,
    magic=0x4C,
    version=1,
    crc_fix=None,
) -> bytes:
    n = len(samples) if count is None else count
    body = struct.pack(
        "<BBBBBBHIQB", magic, version, flags, rate, rng, battery, seq, first, t_us, n
    )
    for s in samples:
        body += struct.pack("<hhh", *s)
    crc = crc16(body) if crc_fix is None else crc_fix
    return body + struct.pack("<H", crc)


def gravity_samples(n: int, phase: int = 0) -> list[list[int]]:
    """Slightly moving ankle at rest: ~1 g on z at +/-8 g (4098 counts), small wobble on x/y."""
    return [
        [
            round(120 * math.sin(0.3 * (i + phase))),
            round(-80 + 40 * math.cos(0.2 * i)),
            4098 + (i % 5) - 2,
        ]
        for i in range(n)
    ]


def fields(
    *, flags=0, seq=0, first=0, t_us=0, rate=4, rng=2, battery=80, samples
) -> dict[str, Any]:
    return {
        "version": 1,
        "flags": flags,
        "flag_names": [name for bit, name in enumerate(FLAG_NAMES) if flags >> bit & 1],
        "sequence": seq,
        "first_sample_index": first,
        "device_time_us": t_us,
        "rate_code": rate,
        "rate_hz": RATE_HZ[rate],
        "range_code": rng,
        "range_g": RANGE_G[rng],
        "battery_pct": None if battery == 0xFF else battery,
        "n_samples": len(samples),
        "samples": samples,
        "first_sample_g": [round(v * MG_PER_LSB[rng] / 1000.0, 9) for v in samples[0]],
    }


def valid(name: str, description: str, **kw: Any) -> dict[str, Any]:
    data = packet(**kw)
    return {
        "name": name,
        "description": description,
        "size": len(data),
        "hex": data.hex(),
        "fields": fields(**kw),
    }


def fragments(data: bytes, att_mtu: int) -> list[str]:
    room = att_mtu - 3
    if len(data) <= room:
        return [data.hex()]
    chunk = room - 1
    parts = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    return [
        bytes([0xC0 | i | (0x20 if i == len(parts) - 1 else 0)]).hex() + p.hex()
        for i, p in enumerate(parts)
    ]


def band_vectors() -> dict[str, Any]:
    live = dict(
        flags=0x04,
        seq=1234,
        first=32_240,
        t_us=T0_US + 310_000_000,
        battery=87,
        samples=gravity_samples(26),
    )
    vs = [
        valid(
            "live_26_samples_mtu247",
            "A normal notification: 26 samples (one FIFO watermark, "
            "250 ms at 104 Hz), +/-8 g, clock synced, 179 bytes.",
            **live,
        ),
        valid(
            "max_36_samples",
            "The largest packet, 239 bytes <= 244 (ATT_MTU 247).",
            flags=0x04,
            seq=7,
            first=252,
            t_us=T0_US,
            samples=gravity_samples(36, 3),
        ),
        valid(
            "single_sample",
            "The smallest packet: one sample, 29 bytes, clock not synced "
            "(device time = us since boot).",
            seq=0,
            first=0,
            t_us=1_500_000,
            samples=[[0, 0, 4098]],
        ),
    ]
    for bit, name in enumerate(FLAG_NAMES):
        flags = 1 << bit
        if name == "BACKFILL_END":
            flags |= 0x02
        vs.append(
            valid(
                f"flag_{name.lower()}",
                f"Flag {name} set (bit {bit}).",
                flags=flags,
                seq=100 + bit,
                first=26 * (100 + bit),
                t_us=T0_US + bit,
                battery=12 if name == "LOW_BATTERY" else 60,
                samples=gravity_samples(4, bit),
            )
        )
    vs += [
        valid(
            "backfill_packet",
            "A retransmitted packet answering BACKFILL(31200, 26): "
            "BACKFILL set, the original sample index and device time.",
            flags=0x06,
            seq=1240,
            first=31_200,
            t_us=T0_US + 300_000_000,
            battery=87,
            samples=gravity_samples(26, 9),
        ),
        valid(
            "all_flags",
            "Every defined flag bit set (0x3F).",
            flags=0x3F,
            seq=5,
            first=5,
            t_us=T0_US,
            samples=gravity_samples(2),
        ),
        valid(
            "int16_extremes",
            "Samples at the int16 extremes (clipped at +/-16 g).",
            rng=3,
            seq=9,
            first=9,
            t_us=T0_US,
            samples=[[-32768, 32767, 0], [32767, -32768, -1], [-1, 1, -32768]],
        ),
        valid(
            "sequence_65535",
            "Sequence number at its maximum.",
            seq=65535,
            first=1_703_910,
            t_us=T0_US,
            samples=gravity_samples(3),
        ),
        valid(
            "sequence_wrapped_0",
            "The packet after sequence 65535: sequence 0, sample index keeps counting.",
            seq=0,
            first=1_703_913,
            t_us=T0_US + 28_846,
            samples=gravity_samples(3, 3),
        ),
        valid(
            "u32_u64_maxima",
            "first_sample_index 0xFFFFFFFF and device time 2^64-1 (limits, "
            "not values a night reaches).",
            seq=1,
            first=0xFFFFFFFF,
            t_us=0xFFFFFFFFFFFFFFFF,
            samples=[[1, 2, 3]],
        ),
        valid(
            "battery_unknown",
            "Battery 0xFF = unknown (decoded as null).",
            battery=0xFF,
            seq=2,
            first=26,
            t_us=T0_US,
            samples=gravity_samples(1),
        ),
        valid(
            "battery_zero",
            "Battery 0 %.",
            battery=0,
            seq=3,
            first=52,
            t_us=T0_US,
            samples=gravity_samples(1),
        ),
    ]
    for rate in RATE_HZ:
        vs.append(
            valid(
                f"rate_code_{rate}",
                f"Rate code {rate} = {RATE_HZ[rate]} Hz.",
                rate=rate,
                seq=rate,
                first=rate,
                t_us=T0_US,
                samples=gravity_samples(2),
            )
        )
    for rng in RANGE_G:
        one_g = round(1000 / MG_PER_LSB[rng])
        vs.append(
            valid(
                f"range_code_{rng}",
                f"Range code {rng} = +/-{RANGE_G[rng]} g, "
                f"{MG_PER_LSB[rng]} mg/LSB: z = {one_g} counts ~ 1 g.",
                rng=rng,
                seq=rng,
                first=rng,
                t_us=T0_US,
                samples=[[one_g, -one_g, one_g // 2]],
            )
        )

    live_bytes = packet(**live)
    big = packet(flags=0x04, seq=7, first=252, t_us=T0_US, samples=gravity_samples(36, 3))
    frag = [
        {
            "name": "live_26_samples_att_mtu_23",
            "att_mtu": 23,
            "packet": "live_26_samples_mtu247",
            "description": "179-byte packet over 20-byte notifications: 10 fragments of <= 19 "
            "packet bytes behind a 1-byte header 0b11LIIIII (L = last, I = index).",
            "notifications": fragments(live_bytes, 23),
        },
        {
            "name": "max_36_samples_att_mtu_23",
            "att_mtu": 23,
            "packet": "max_36_samples",
            "description": "239 bytes -> 13 fragments.",
            "notifications": fragments(big, 23),
        },
        {
            "name": "live_26_samples_att_mtu_100",
            "att_mtu": 100,
            "packet": "live_26_samples_mtu247",
            "description": "Any MTU below the packet size "
            "fragments the same way: 97-byte notifications, 96 packet bytes each.",
            "notifications": fragments(live_bytes, 100),
        },
        {
            "name": "live_26_samples_att_mtu_247",
            "att_mtu": 247,
            "packet": "live_26_samples_mtu247",
            "description": "Fits: sent whole, no fragment header.",
            "notifications": fragments(live_bytes, 247),
        },
    ]

    ok = packet(seq=1, first=0, t_us=T0_US, samples=gravity_samples(6))
    flipped = bytearray(ok)
    flipped[30] ^= 0x01
    short20 = packet(seq=1, first=0, t_us=T0_US, samples=gravity_samples(6), count=20)
    inv = [
        ("empty", b"", "too short"),
        ("header_only", ok[:21], "too short"),
        ("bad_magic", packet(magic=0x4D, samples=[[0, 0, 1]]), "bad magic at offset 0"),
        ("version_2", packet(version=2, samples=[[0, 0, 1]]), "unsupported version at offset 1"),
        ("count_zero", packet(samples=[], count=0) + bytes(6), "sample count at offset 20 is 0"),
        ("count_37", packet(samples=gravity_samples(37)), "sample count at offset 20 is 37"),
        (
            "count_says_more_than_payload",
            short20,
            "header says 20 samples (120 bytes of samples), payload has 36 bytes",
        ),
        (
            "truncated_last_byte",
            ok[:-1],
            "header says 6 samples (36 bytes of samples), payload has 35 bytes",
        ),
        ("extra_trailing_byte", ok + b"\x00", "payload has 37 bytes"),
        ("crc_mismatch_bit_flip", bytes(flipped), "CRC-16 mismatch at offset 57"),
        ("crc_zeroed", ok[:-2] + b"\x00\x00", "CRC-16 mismatch"),
        (
            "reserved_flag_bit6",
            packet(flags=0x40, samples=[[0, 0, 1]]),
            "reserved flag bits set at offset 2",
        ),
        ("rate_code_0", packet(rate=0, samples=[[0, 0, 1]]), "unknown rate code 0 at offset 3"),
        ("rate_code_7", packet(rate=7, samples=[[0, 0, 1]]), "unknown rate code 7 at offset 3"),
        ("range_code_4", packet(rng=4, samples=[[0, 0, 1]]), "unknown range code 4 at offset 4"),
        ("battery_101", packet(battery=101, samples=[[0, 0, 1]]), "battery 101 % at offset 5"),
    ]
    invalid = [{"name": n, "hex": d.hex(), "reason": r} for n, d, r in inv]

    frag_live = fragments(live_bytes, 23)
    frag_invalid = [
        {
            "name": "fragment_skipped",
            "notifications": [frag_live[0], frag_live[2]],
            "reason": "index 2 at offset 0, expected 1",
        },
        {
            "name": "fragment_starts_mid_packet",
            "notifications": [frag_live[1]],
            "reason": "index 1 at offset 0, expected 0",
        },
        {
            "name": "neither_packet_nor_fragment",
            "notifications": ["00" + frag_live[0][2:]],
            "reason": "neither the packet magic",
        },
        {
            "name": "fragments_reassemble_to_bad_crc",
            "notifications": [frag_live[0][:-2] + "00", *frag_live[1:]],
            "reason": "CRC-16 mismatch",
        },
    ]
    return {"valid": vs, "fragmented": frag, "invalid": invalid, "invalid_fragments": frag_invalid}


def control_vectors() -> dict[str, Any]:
    status_typical = struct.pack("<BHBBBBIIH", 87, 3987, 1, 0, 0, 0x03, 32_265, 19_786, 2)
    status_idle = struct.pack("<BHBBBBIIH", 0xFF, 0, 1, 0, 0, 0x00, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    commands = [
        {
            "name": "start_104hz_8g",
            "hex": "010402",
            "command": "START",
            "fields": {"rate_code": 4, "range_code": 2},
        },
        {"name": "stop", "hex": "02", "command": "STOP", "fields": {}},
        {
            "name": "sync_time",
            "hex": struct.pack("<BQ", 3, T0_US + 123_456).hex(),
            "command": "SYNC_TIME",
            "fields": {"host_unix_time_us": T0_US + 123_456},
        },
        {
            "name": "backfill",
            "hex": struct.pack("<BIH", 4, 31_200, 1040).hex(),
            "command": "BACKFILL",
            "fields": {"from_sample_index": 31_200, "count": 1040},
        },
        {"name": "status", "hex": "05", "command": "STATUS", "fields": {}},
    ]
    commands_invalid = [
        {"name": "empty", "hex": "", "reason": "empty"},
        {"name": "unknown_opcode", "hex": "09", "reason": "unknown opcode 0x09 at offset 0"},
        {"name": "start_missing_range", "hex": "0104", "reason": "START takes 3 bytes"},
        {"name": "start_bad_rate", "hex": "010902", "reason": "rate_code at offset 1"},
        {"name": "start_bad_range", "hex": "010404", "reason": "range_code at offset 2"},
        {
            "name": "backfill_count_zero",
            "hex": struct.pack("<BIH", 4, 5, 0).hex(),
            "reason": "count at offset 5",
        },
        {"name": "stop_with_payload", "hex": "0200", "reason": "STOP takes 1 bytes"},
    ]
    status = [
        {
            "name": "streaming_synced",
            "hex": status_typical.hex(),
            "fields": {
                "battery_pct": 87,
                "battery_mv": 3987,
                "firmware_version": [1, 0, 0],
                "state": 3,
                "last_sample_index": 32_265,
                "ring_oldest_index": 19_786,
                "fifo_overflows": 2,
                "ring_span_samples": 12_480,
            },
        },
        {
            "name": "idle_nothing_recorded",
            "hex": status_idle.hex(),
            "fields": {
                "battery_pct": None,
                "battery_mv": 0,
                "firmware_version": [1, 0, 0],
                "state": 0,
                "last_sample_index": None,
                "ring_oldest_index": None,
                "fifo_overflows": 0,
                "ring_span_samples": 0,
            },
        },
    ]
    status_invalid = [
        {"name": "short", "hex": status_typical[:16].hex(), "reason": "expected 17 bytes"},
        {
            "name": "battery_200",
            "hex": (b"\xc8" + status_typical[1:]).hex(),
            "reason": "battery 200 % at offset 0",
        },
        {
            "name": "reserved_state_bits",
            "hex": (status_typical[:6] + b"\x80" + status_typical[7:]).hex(),
            "reason": "reserved state bits set at offset 6",
        },
    ]
    responses = [
        {"name": "start_ok", "hex": "a00100", "fields": {"opcode": 1, "result": 0}},
        {
            "name": "sync_time_ok",
            "hex": ("a00300" + struct.pack("<Q", 1_234_567_890).hex()),
            "fields": {"opcode": 3, "result": 0, "device_time_us": 1_234_567_890},
        },
        {
            "name": "backfill_ok",
            "hex": "a00400" + struct.pack("<IH", 31_200, 1040).hex(),
            "fields": {
                "opcode": 4,
                "result": 0,
                "backfill_first_index": 31_200,
                "backfill_count": 1040,
            },
        },
        {"name": "backfill_not_available", "hex": "a00404", "fields": {"opcode": 4, "result": 4}},
        {
            "name": "status_ok_20_bytes",
            "hex": "a00500" + status_typical.hex(),
            "fields": {"opcode": 5, "result": 0, "status": "streaming_synced"},
        },
        {"name": "start_invalid_parameter", "hex": "a00102", "fields": {"opcode": 1, "result": 2}},
    ]
    responses_invalid = [
        {"name": "bad_code", "hex": "a10100", "reason": "bad response code at offset 0"},
        {"name": "sync_ok_without_body", "hex": "a00300", "reason": "carries 8 body bytes"},
        {"name": "error_with_body", "hex": "a0040400", "reason": "carries 0 body bytes"},
        {"name": "unknown_result", "hex": "a00177", "reason": "unknown result code 0x77"},
    ]
    return {
        "commands": commands,
        "commands_invalid": commands_invalid,
        "status": status,
        "status_invalid": status_invalid,
        "responses": responses,
        "responses_invalid": responses_invalid,
    }


def pack_bits_lsb_first(values: list[int], width: int) -> bytes:
    bits: list[int] = []
    for v in values:
        assert -(1 << (width - 1)) <= v < (1 << (width - 1))
        v &= (1 << width) - 1
        bits += [(v >> b) & 1 for b in range(width)]
    bits += [0] * (-len(bits) % 8)
    return bytes(sum(bits[i + b] << b for b in range(8)) for i in range(0, len(bits), 8))


def pmd_header(ts: int, frame_type: int, mtype: int = 2) -> bytes:
    return bytes([mtype]) + struct.pack("<Q", ts) + bytes([frame_type])


def pmd_vectors() -> dict[str, Any]:
    ts = 820_454_400_000_000_000  # 2026-01-01T00:00:00Z in ns since 2000-01-01
    raw1 = [[-12, 980, 150], [-15, 1002, 148], [32767, -32768, -1]]
    raw0 = [[-128, 127, 0], [5, -6, 7]]
    raw2 = [[-8_388_608, 8_388_607, -1], [1000, -1000, 0]]
    ref = [-20, 990, 140]
    block1 = [[2, -1, 3], [1, 0, -8], [-3, 7, 0]]  # 4-bit deltas
    block2 = [[100, -100, 127], [-128, 5, -1]]  # 8-bit deltas
    delta_bytes = struct.pack("<hhh", *ref)
    delta_bytes += bytes([4, 3]) + pack_bits_lsb_first([d for s in block1 for d in s], 4)
    delta_bytes += bytes([8, 2]) + pack_bits_lsb_first([d for s in block2 for d in s], 8)
    expected = [ref]
    for d in block1 + block2:
        expected.append([a + b for a, b in zip(expected[-1], d, strict=True)])
    odd_ref = [0, 0, 1000]
    odd_block = [[1, -1, 0], [0, 1, -2], [-2, 0, 1], [1, 1, 1], [-1, -2, 0]]  # 3-bit, 45 bits
    odd_bytes = (
        struct.pack("<hhh", *odd_ref)
        + bytes([3, 5])
        + pack_bits_lsb_first([d for s in odd_block for d in s], 3)
    )
    odd_expected = [odd_ref]
    for d in odd_block:
        odd_expected.append([a + b for a, b in zip(odd_expected[-1], d, strict=True)])

    def enc(rows: list[list[int]], width: int) -> bytes:
        return b"".join(v.to_bytes(width, "little", signed=True) for r in rows for v in r)

    valid = [
        {
            "name": "raw_type1_int16",
            "description": "Raw frame type 1: int16 x/y/z in mG.",
            "hex": (pmd_header(ts, 0x01) + enc(raw1, 2)).hex(),
            "timestamp_ns": ts,
            "frame_type": 1,
            "compressed": False,
            "samples_mg": raw1,
        },
        {
            "name": "raw_type0_int8",
            "description": "Raw frame type 0: int8 x/y/z.",
            "hex": (pmd_header(ts, 0x00) + enc(raw0, 1)).hex(),
            "timestamp_ns": ts,
            "frame_type": 0,
            "compressed": False,
            "samples_mg": raw0,
        },
        {
            "name": "raw_type2_int24",
            "description": "Raw frame type 2: int24 x/y/z.",
            "hex": (pmd_header(ts, 0x02) + enc(raw2, 3)).hex(),
            "timestamp_ns": ts,
            "frame_type": 2,
            "compressed": False,
            "samples_mg": raw2,
        },
        {
            "name": "delta_type0x81_two_blocks",
            "description": "Delta frame 0x81: int16 reference, "
            "a block of 3 samples x 4-bit deltas, a block of 2 samples x 8-bit deltas.",
            "hex": (pmd_header(ts, 0x81) + delta_bytes).hex(),
            "timestamp_ns": ts,
            "frame_type": 1,
            "compressed": True,
            "samples_mg": expected,
        },
        {
            "name": "delta_type0x80_odd_bits",
            "description": "Delta frame 0x80: 5 samples x 3-bit "
            "deltas = 45 bits, padded to 6 bytes.",
            "hex": (pmd_header(ts + 1, 0x80) + odd_bytes).hex(),
            "timestamp_ns": ts + 1,
            "frame_type": 0,
            "compressed": True,
            "samples_mg": odd_expected,
        },
        {
            "name": "delta_reference_only",
            "description": "Delta frame with only the reference.",
            "hex": (pmd_header(ts, 0x81) + struct.pack("<hhh", 1, 2, 3)).hex(),
            "timestamp_ns": ts,
            "frame_type": 1,
            "compressed": True,
            "samples_mg": [[1, 2, 3]],
        },
    ]
    good_delta = pmd_header(ts, 0x81) + delta_bytes
    invalid = [
        {"name": "too_short", "hex": pmd_header(ts, 0x01)[:9].hex(), "reason": "too short"},
        {
            "name": "ecg_not_acc",
            "hex": (pmd_header(ts, 0x00, mtype=0) + bytes(3)).hex(),
            "reason": "measurement type 0 at offset 0",
        },
        {
            "name": "unknown_raw_type",
            "hex": (pmd_header(ts, 0x03) + bytes(6)).hex(),
            "reason": "unsupported ACC frame type 0x03 at offset 9",
        },
        {
            "name": "unknown_delta_type",
            "hex": (pmd_header(ts, 0x82) + bytes(6)).hex(),
            "reason": "unsupported ACC frame type 0x82 at offset 9",
        },
        {
            "name": "raw_partial_sample",
            "hex": (pmd_header(ts, 0x01) + enc(raw1, 2)[:-1]).hex(),
            "reason": "payload from offset 10 has 17 bytes",
        },
        {
            "name": "delta_short_reference",
            "hex": (pmd_header(ts, 0x81) + bytes(4)).hex(),
            "reason": "reference sample at offset 10",
        },
        {
            "name": "delta_truncated_block",
            "hex": good_delta[:-1].hex(),
            "reason": "needs 6 bytes from offset 25, found 5",
        },
        {
            "name": "delta_trailing_byte",
            "hex": (good_delta + b"\x04").hex(),
            "reason": "1 trailing byte at offset 31",
        },
        {
            "name": "delta_width_zero",
            "hex": (pmd_header(ts, 0x81) + bytes(6) + b"\x00\x01").hex(),
            "reason": "delta bit width 0 at offset 16",
        },
        {
            "name": "delta_count_zero",
            "hex": (pmd_header(ts, 0x81) + bytes(6) + b"\x04\x00").hex(),
            "reason": "delta sample count 0 at offset 17",
        },
    ]
    commands = [
        {"name": "get_acc_settings", "hex": "0102", "builder": "build_get_settings", "args": {}},
        {
            "name": "start_acc_52hz_8g_16bit",
            "hex": "020200013400010110000201" + "0800",
            "builder": "build_start_acc",
            "args": {"sample_rate_hz": 52, "range_g": 8, "resolution_bits": 16},
        },
        {
            "name": "start_acc_104hz_16g",
            "hex": "020200016800010110000201" + "1000",
            "builder": "build_start_acc",
            "args": {"sample_rate_hz": 104, "range_g": 16, "resolution_bits": 16},
        },
        {"name": "stop_acc", "hex": "0302", "builder": "build_stop", "args": {}},
    ]
    responses = [
        {
            "name": "get_settings_verity_like",
            "hex": "f001020000" + "00013400" + "01011000" + "0204" + "0200040008001000",
            "ok": True,
            "settings": {"0": [52], "1": [16], "2": [2, 4, 8, 16]},
            "description": "Constructed, not captured: rate 52 Hz, resolution 16, ranges 2/4/8/16.",
        },
        {"name": "start_ok", "hex": "f002020000", "ok": True, "settings": {}},
        {
            "name": "start_already_in_state",
            "hex": "f002020600",
            "ok": False,
            "settings": {},
            "error": "already in state",
        },
    ]
    return {
        "valid": valid,
        "invalid": invalid,
        "commands": commands,
        "control_responses": responses,
    }


def main() -> None:
    vectors = {
        "about": (
            "Byte-level test vectors for the legwatch band profile v1 (firmware_notes/PROFILE.md) "
            "and for Polar PMD ACC frames. All constructed by firmware_notes/tools/"
            "make_test_vectors.py from the documented layouts (independent of legwatch.band); "
            "the Polar vectors are built from Polar's public PMD documentation, NOT captured "
            "from a device. hex is lowercase; multi-byte fields are little-endian; 'reason' is a "
            "substring the PacketDecodeError message must contain."
        ),
        "profile_version": 1,
        "crc": {
            "name": "CRC-16/CCITT-FALSE",
            "poly": "0x1021",
            "init": "0xFFFF",
            "check_123456789": "0x29B1",
        },
        "band_v1": band_vectors(),
        "control": control_vectors(),
        "polar_pmd_acc": pmd_vectors(),
    }
    OUT.write_text(json.dumps(vectors, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
