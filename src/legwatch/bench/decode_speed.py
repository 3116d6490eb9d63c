"""Decoding throughput of the band decoders on one core.

Run ``python -m legwatch.bench.decode_speed``. A night at 104 Hz in 26-sample packets is about
14 400 packets per hour per band, so anything above a few thousand packets per second leaves the
collector idle; the number matters for replaying journals of many nights.
"""

from __future__ import annotations

import struct
import sys
import time
from collections.abc import Callable

import numpy as np

from legwatch.band import (
    BandPacket,
    PacketFlags,
    decode_packet,
    decode_pmd_acc_frame,
    encode_packet,
)


def _rate(decode: Callable[[bytes], object], items: list[bytes], min_time_s: float) -> float:
    """Items decoded per second, repeating the list until ``min_time_s`` has passed."""
    n = 0
    start = time.perf_counter()
    while True:
        for item in items:
            decode(item)
        n += len(items)
        elapsed = time.perf_counter() - start
        if elapsed >= min_time_s:
            return n / elapsed


def _band_packets(n_samples: int, count: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [
        encode_packet(
            BandPacket(
                flags=PacketFlags.CLOCK_SYNCED,
                sequence=i % 65536,
                first_sample_index=i * n_samples,
                device_time_us=1_767_225_600_000_000 + i * 250_000,
                rate_code=4,
                range_code=2,
                battery_pct=80,
                samples=rng.integers(-2000, 6000, size=(n_samples, 3), dtype=np.int16),
            )
        )
        for i in range(count)
    ]


def _pmd_delta_frames(count: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        head = bytes([2]) + struct.pack("<Q", 0) + bytes([0x81]) + struct.pack("<hhh", 0, 0, 1000)
        deltas = rng.integers(-100, 100, size=(36, 3))
        acc = 0
        for i, v in enumerate(deltas.ravel().tolist()):
            acc |= (v & 0xFF) << (8 * i)
        frames.append(head + bytes([8, 36]) + acc.to_bytes(36 * 3, "little"))
    return frames


def main(min_time_s: float = 1.0) -> dict[str, float]:
    """Measure and print packets/s; returns the rates by name."""
    rates = {
        "band_v1 26 samples": _rate(decode_packet, _band_packets(26, 500), min_time_s),
        "band_v1 36 samples": _rate(decode_packet, _band_packets(36, 500), min_time_s),
        "polar delta 37 samples": _rate(decode_pmd_acc_frame, _pmd_delta_frames(500), min_time_s),
    }
    for name, rate in rates.items():
        sys.stdout.write(f"{name:>24}: {rate:10.0f} packets/s\n")
    return rates


if __name__ == "__main__":
    main()
