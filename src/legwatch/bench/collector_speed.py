"""Benchmark: 104 Hz bands one core's collector ingests (decode + journal + live detection).

Encoded legwatch v1 packets of a simulated night (26 samples each, as the reference band sends
4 per second) are fed straight into :meth:`legwatch.collect.collector.BandIngest.feed`, without
BLE or asyncio: the collector's whole per-notification path (journal append with its own decode,
reassembly and decode, index placement, held-back live detection, event journaling, commits every
second). Several bands are interleaved round-robin into one store, as the collector does.

Run: ``python -m legwatch.bench.collector_speed [--minutes 30] [--bands 4]``.
Prints packets/s, the number of bands that makes at 4 packets/s each, CPU per band (percent of a
core), and peak memory (RSS high-water mark and traced Python heap of a short and a 4x longer
run: the peak must not grow with the night).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from legwatch.band.legwatch_v1 import BandPacket, PacketFlags, encode_packet
from legwatch.band.virtual_band import quantise_counts
from legwatch.collect.collector import BandIngest, BandSpec, CollectorParams
from legwatch.collect.store import open_or_resume

RATE_HZ = 104.0
SAMPLES_PER_PACKET = 26


def encoded_packets(accel_g: np.ndarray, rate_hz: float = RATE_HZ) -> list[bytes]:
    """The packets a reference band sends for ``accel_g`` (g), 26 samples each."""
    counts = quantise_counts(accel_g, 2)
    out = []
    for k, first in enumerate(
        range(0, counts.shape[0] - SAMPLES_PER_PACKET + 1, SAMPLES_PER_PACKET)
    ):
        out.append(
            encode_packet(
                BandPacket(
                    flags=PacketFlags.CLOCK_SYNCED,
                    sequence=k & 0xFFFF,
                    first_sample_index=first,
                    device_time_us=round(first / rate_hz * 1e6),
                    rate_code=4,
                    range_code=2,
                    battery_pct=80,
                    samples=counts[first : first + SAMPLES_PER_PACKET],
                )
            )
        )
    return out


def run(packets: list[bytes], n_bands: int, root: Path) -> tuple[float, int]:
    """Feed ``packets`` to ``n_bands`` ingests, interleaved; return (CPU seconds, packets)."""
    store = open_or_resume(root, f"bench-{n_bands}-{len(packets)}")
    params = CollectorParams()
    ingests = [BandIngest(BandSpec(f"b{i}", "left_ankle"), store, params) for i in range(n_bands)]
    for ingest in ingests:
        store.register_band(ingest.band_id, "left_ankle")
    period_ns = int(1e9 * SAMPLES_PER_PACKET / RATE_HZ)
    t0 = time.process_time()
    rx = time.monotonic_ns()
    for payload in packets:
        rx += period_ns
        for ingest in ingests:
            ingest.feed(rx, payload)
    for ingest in ingests:
        ingest.finish()
    store.close()
    return time.process_time() - t0, len(packets) * n_bands


def main() -> None:
    from legwatch.synth import scenario, simulate_night

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="night length per band")
    ap.add_argument("--bands", type=int, default=4, help="bands interleaved in one store")
    args = ap.parse_args()
    night = simulate_night(scenario("nominal", 1, hours=args.minutes / 60, rate_hz=RATE_HZ))
    packets = encoded_packets(night.recordings["left"].accel_g)
    with tempfile.TemporaryDirectory() as tmp:
        cpu_s, n = run(packets, args.bands, Path(tmp))
        rate = n / cpu_s
        print(f"packets ingested: {n} in {cpu_s:.2f} s CPU -> {rate:.0f} packets/s on one core")
        print(f"104 Hz bands per core (4 packets/s each): {rate / 4:.0f}")
        print(f"CPU per band: {100 * 4 / rate:.3f} % of one core")
        # Memory: the peak of a night 4x longer must stay the same (bounded state).
        short = packets[: len(packets) // 4]
        peaks = []
        for label, chunk in (("1/4 night", short), ("full night", packets)):
            tracemalloc.start()
            run(chunk, 1, Path(tmp))
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            peaks.append(peak)
            print(
                f"traced heap peak, one band, {label} ({len(chunk)} packets): {peak / 1e6:.1f} MB"
            )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process RSS high-water mark (includes the simulated night): {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
