"""Speed and memory of the night store: appending packets and replaying a simulated night.

Run ``python -m legwatch.bench.store_speed [hours]`` (default 8 h, one band). A 104 Hz band in
26-sample packets sends 4 packets/s (14 400 per hour), so appending needs only that; replay speed
says how long opening a recorded night takes. Peak memory is measured with tracemalloc in a
second replay (tracemalloc slows Python code, so it is not timed).
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from legwatch.band import BandPacket, PacketFlags, encode_packet
from legwatch.collect import StoreParams, open_or_resume, replay_night

FS_HZ = 104.0
PER_PACKET = 26
PACKETS_PER_HOUR = int(3600 * FS_HZ / PER_PACKET)


def _packets(n: int, seed: int = 0) -> tuple[list[bytes], list[int]]:
    """n packets of a 104 Hz band with 5 % lost, and receive times with 10-60 ms latency."""
    rng = np.random.default_rng(seed)
    base = rng.integers(-3000, 5000, size=(64, PER_PACKET, 3), dtype=np.int16)
    payloads = []
    rx = []
    for i in range(n):
        if rng.random() < 0.05:
            continue
        payloads.append(
            encode_packet(
                BandPacket(
                    flags=PacketFlags.CLOCK_SYNCED,
                    sequence=i % 65536,
                    first_sample_index=i * PER_PACKET,
                    device_time_us=1_767_225_600_000_000 + round(i * PER_PACKET / FS_HZ * 1e6),
                    rate_code=4,
                    range_code=2,
                    battery_pct=80,
                    samples=base[i % 64],
                )
            )
        )
        rx.append(10**12 + round((i + 1) * PER_PACKET / FS_HZ * 1e9 + rng.uniform(10e6, 60e6)))
    return payloads, rx


def main(hours: float = 8.0) -> dict[str, float]:
    """Measure and print append and replay rates (packets/s) and replay peak memory (MB)."""
    payloads, rx = _packets(int(hours * PACKETS_PER_HOUR))
    out: dict[str, float] = {"packets": float(len(payloads))}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with open_or_resume(tmp, "bench", StoreParams()) as store:
            store.register_band("L", "left_ankle")
            for rx_ns, payload in zip(rx, payloads, strict=True):
                store.append_packet("L", rx_ns, payload)
        out["append_packets_per_s"] = len(payloads) / (time.perf_counter() - start)
        night = Path(tmp) / "bench"
        out["db_mb"] = (night / "night.sqlite").stat().st_size / 1e6
        start = time.perf_counter()  # resuming checks the file (PRAGMA quick_check)
        open_or_resume(tmp, "bench").close()
        out["resume_s"] = time.perf_counter() - start
        start = time.perf_counter()
        result = replay_night(night)
        out["replay_packets_per_s"] = len(payloads) / (time.perf_counter() - start)
        out["replay_s"] = len(payloads) / out["replay_packets_per_s"]
        out["samples"] = float(result.reports["L"].samples)
        del result
        tracemalloc.start()
        replay_night(night)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["replay_peak_mb"] = peak / 1e6
    sys.stdout.write(
        f"simulated night: {hours:g} h at {FS_HZ:g} Hz, {len(payloads)} packets of "
        f"{PER_PACKET} samples (5 % lost), store {out['db_mb']:.1f} MB\n"
        f"  append : {out['append_packets_per_s']:10.0f} packets/s (real time needs 4/s/band)\n"
        f"  replay : {out['replay_packets_per_s']:10.0f} packets/s ({out['replay_s']:.1f} s)\n"
        f"  resume (open after a crash, integrity check): {out['resume_s']:.2f} s\n"
        f"  replay peak memory (tracemalloc): {out['replay_peak_mb']:.0f} MB for "
        f"{out['samples']:.0f} samples\n"
    )
    return out


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 8.0)
