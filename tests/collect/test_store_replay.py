"""Replay of real night.sqlite files built from packets of a known sample array."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from legwatch.band.legwatch_v1 import (
    SENSITIVITY_MG_PER_LSB,
    BandPacket,
    PacketFlags,
    encode_packet,
    split_for_mtu,
)
from legwatch.collect import (
    NightStore,
    StoreParams,
    open_or_resume,
    read_night,
    replay,
    replay_night,
)
from legwatch.errors import InputFileError, StoreError

FS_HZ = 104.0
PER_PACKET = 26
#: The sensor runs 80 ppm fast against the host clock (a plausible ODR error).
TRUE_FS_HZ = FS_HZ * (1 + 80e-6)
START_UNIX_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
FLOOR_LATENCY_NS = 8_000_000
UNIX = StoreParams(rx_clock="unix")


@dataclass
class Night:
    samples: NDArray[np.int16]
    packets: list[BandPacket]
    rx_ns: list[int]


def make_night(n_packets: int = 600, seed: int = 1, device_ppm: float = 30.0) -> Night:
    """Packets of a known (n, 3) int16 array; receive times lag the last sample of each packet
    by a floor latency plus an exponential tail (mean 25 ms, every tenth packet held ~0.4 s)."""
    rng = np.random.default_rng(seed)
    n = n_packets * PER_PACKET
    samples = rng.integers(-8000, 8000, size=(n, 3), dtype=np.int16)
    packets = []
    rx = []
    for p in range(n_packets):
        first = p * PER_PACKET
        t_last_ns = START_UNIX_NS + (first + PER_PACKET - 1) / TRUE_FS_HZ * 1e9
        delay = FLOOR_LATENCY_NS + rng.exponential(25e6) + (4e8 if p % 10 == 9 else 0)
        device_us = 5_000_000 + first / TRUE_FS_HZ * 1e6 * (1 + device_ppm * 1e-6)
        packets.append(
            BandPacket(
                flags=PacketFlags.NONE,
                sequence=p % 65536,
                first_sample_index=first,
                device_time_us=round(device_us),
                rate_code=4,
                range_code=2,
                battery_pct=90,
                samples=samples[first : first + PER_PACKET],
            )
        )
        rx.append(round(t_last_ns + delay))
    return Night(samples, packets, rx)


def write(root: Path, items: list[tuple[int, bytes]], band: str = "L") -> Path:
    with open_or_resume(root, "n1", UNIX) as store:
        store.register_band(band, "left_ankle")
        for rx_ns, payload in items:
            store.append_packet(band, rx_ns, payload)
        return store.night_dir


def whole(night: Night, keep: list[int] | None = None) -> list[tuple[int, bytes]]:
    chosen = range(len(night.packets)) if keep is None else keep
    return [(night.rx_ns[i], encode_packet(night.packets[i])) for i in chosen]


def assert_samples_exact(
    rec_counts_g: NDArray[np.float64],
    t_s: NDArray[np.float64],
    night: Night,
    index: NDArray[np.int64],
) -> None:
    """Every sample at its index with its value (g -> counts exactly at +/-8 g)."""
    counts = np.rint(rec_counts_g / (SENSITIVITY_MG_PER_LSB[2] / 1000.0)).astype(np.int64)
    np.testing.assert_array_equal(counts, night.samples[index].astype(np.int64))
    np.testing.assert_allclose(t_s, (index - index[0]) / TRUE_FS_HZ, atol=2e-3)


def test_in_order_replay_is_exact_and_timed_from_the_envelope(tmp_path: Path) -> None:
    night = make_night()
    night_dir = write(tmp_path, whole(night))
    result = replay_night(night_dir)
    rec = result.recordings["L"]
    rep = result.reports["L"]
    n = len(night.samples)
    assert rec.n_samples == n and rep.samples == n
    assert rep.missing_samples == 0 and rep.gaps == 0 and rec.gaps == ()
    assert_samples_exact(rec.accel_g, rec.t_s, night, np.arange(n))
    # The fitted rate is the sensor's true rate in host seconds: over 150 s of 25 ms latency
    # jitter the envelope slope is good to ~6 ppm (1 sigma); over a night to ~0.02 ppm
    # (test_timeline_fits.py).
    assert rep.rate_error_ppm == pytest.approx(80.0, abs=12.0)
    assert rep.fs_estimated_hz == pytest.approx(TRUE_FS_HZ, rel=12e-6)
    # The start is the true start, late by about the floor latency, not the mean one.
    true_start = datetime.fromtimestamp(START_UNIX_NS / 1e9, UTC)
    late_s = (rec.start_utc - true_start).total_seconds()
    assert FLOOR_LATENCY_NS / 1e9 - 0.002 < late_s < FLOOR_LATENCY_NS / 1e9 + 0.010
    # Band clock runs 30 ppm fast against the host: reported as drift. Over 150 s the
    # envelope's slope is good to a few ppm; the device fit itself is exact.
    assert rep.device_drift_ppm == pytest.approx(30.0, abs=12.0)
    assert rep.device_drift_ppm - rep.rate_error_ppm == pytest.approx(30.0 - 80.0, abs=0.1)
    assert rep.fs_device_hz == pytest.approx(TRUE_FS_HZ / (1 + 30e-6), rel=2e-6)
    assert rep.corrupt_packets == 0 and rep.duplicate_samples == 0
    assert rep.sessions == 1 and rep.unclean_sessions == 0


def test_shuffled_within_a_window_gives_the_same_recording(tmp_path: Path) -> None:
    night = make_night(seed=2)
    rng = np.random.default_rng(3)
    order = np.arange(len(night.packets))
    for start in range(0, order.size, 8):  # reordered within 8 packets (2 s)
        rng.shuffle(order[start : start + 8])
    items = whole(night, [int(i) for i in order])
    ref = replay(write(tmp_path / "a", whole(night)))["L"]
    got = replay(write(tmp_path / "b", items))["L"]
    np.testing.assert_array_equal(got.accel_g, ref.accel_g)
    np.testing.assert_array_equal(got.t_s, ref.t_s)


def test_backfill_duplicates_collapse_and_conflicts_keep_the_first(tmp_path: Path) -> None:
    night = make_night(seed=4)
    items = whole(night)
    resent = list(range(100, 140))
    for i in resent:  # backfill answers: same index and samples, BACKFILL flag, late
        p = night.packets[i]
        again = BandPacket(
            flags=PacketFlags.BACKFILL | (PacketFlags.BACKFILL_END if i == resent[-1] else 0),
            sequence=(1000 + i) % 65536,
            first_sample_index=p.first_sample_index,
            device_time_us=p.device_time_us,
            rate_code=4,
            range_code=2,
            battery_pct=90,
            samples=p.samples,
        )
        items.append((night.rx_ns[-1] + 1_000_000 * i, encode_packet(again)))
    bad = night.packets[200]
    altered = np.array(bad.samples, dtype=np.int16)
    altered[5] += 1
    items.append(
        (
            night.rx_ns[-1] + 10**9,
            encode_packet(
                BandPacket(
                    flags=PacketFlags.BACKFILL,
                    sequence=9,
                    first_sample_index=bad.first_sample_index,
                    device_time_us=bad.device_time_us,
                    rate_code=4,
                    range_code=2,
                    battery_pct=90,
                    samples=altered,
                )
            ),
        )
    )
    result = replay_night(write(tmp_path, items))
    rep = result.reports["L"]
    rec = result.recordings["L"]
    assert rep.backfill_packets == len(resent) + 1
    assert rep.duplicate_samples == len(resent) * PER_PACKET + PER_PACKET - 1
    assert rep.conflicting_samples == 1
    assert_samples_exact(rec.accel_g, rec.t_s, night, np.arange(len(night.samples)))
    # The late backfill packets do not bend the time axis.
    assert rep.rate_error_ppm == pytest.approx(80.0, abs=12.0)


def test_five_percent_missing_packets_are_gaps_of_exactly_those_samples(tmp_path: Path) -> None:
    night = make_night(n_packets=800, seed=5)
    rng = np.random.default_rng(6)
    lost = set(rng.choice(np.arange(1, 799), size=40, replace=False).tolist())
    keep = [i for i in range(800) if i not in lost]
    result = replay_night(write(tmp_path, whole(night, keep)))
    rec = result.recordings["L"]
    rep = result.reports["L"]
    index = np.concatenate([np.arange(i * PER_PACKET, (i + 1) * PER_PACKET) for i in keep])
    assert rep.missing_samples == len(lost) * PER_PACKET
    runs = sum(1 for i in sorted(lost) if i - 1 not in lost)
    assert rep.gaps == len(rec.gaps) == runs
    assert_samples_exact(rec.accel_g, rec.t_s, night, index)
    # Each gap spans exactly the missing samples plus one period, in fitted seconds.
    period = 1 / rep.fs_estimated_hz
    missing_per_gap = np.diff(index)[np.diff(index) > 1] - 1
    np.testing.assert_allclose(
        [g.duration_s for g in rec.gaps], (missing_per_gap + 1) * period, rtol=1e-9
    )
    assert rep.gap_s == pytest.approx(float(np.sum((missing_per_gap + 1) * period)))


def test_small_mtu_fragments_reassemble_into_the_same_recording(tmp_path: Path) -> None:
    night = make_night(n_packets=200, seed=7)
    items = []
    for rx_ns, payload in whole(night):
        parts = split_for_mtu(payload, 23)
        assert len(parts) == 10
        items.extend((rx_ns - 1000 * (len(parts) - k), part) for k, part in enumerate(parts))
    # One fragment lost mid-packet: that packet is dropped and becomes a gap.
    del items[10 * 50 + 4]
    result = replay_night(write(tmp_path, items))
    rep = result.reports["L"]
    rec = result.recordings["L"]
    assert rep.notifications == 200 * 10 - 1
    assert rep.packets == 199
    assert rep.missing_samples == PER_PACKET and rep.gaps == 1
    index = np.concatenate([np.arange(i * 26, (i + 1) * 26) for i in range(200) if i != 50])
    assert_samples_exact(rec.accel_g, rec.t_s, night, index)
    # The five fragments after the hole are refused one by one (each out of order).
    assert rep.corrupt_packets == 5
    assert list(rep.corrupt_reasons.values()) == [5]
    assert "fragment" in next(iter(rep.corrupt_reasons))


def test_wrong_rate_code_is_refused_with_the_file(tmp_path: Path) -> None:
    night = make_night(n_packets=100, seed=8)
    items = whole(night)
    # Receive times of a 104 Hz band that claims 52 Hz: replay refuses to mis-time the night.
    relabelled = [
        (rx, encode_packet(BandPacket(**{**p.__dict__, "rate_code": 3})))
        for (rx, _), p in zip(items, night.packets, strict=True)
    ]
    night_dir = write(tmp_path, relabelled)
    with pytest.raises(StoreError, match=r"night\.sqlite.*52 Hz"):
        replay(night_dir)


def test_read_night_picks_a_band_and_applies_overrides(tmp_path: Path) -> None:
    night = make_night(n_packets=60, seed=9)
    with open_or_resume(tmp_path, "n1", UNIX) as store:
        store.register_band("L", "left_ankle")
        store.register_band("R", "right_ankle")
        for rx, payload in whole(night):
            store.append_packet("L", rx, payload)
            store.append_packet("R", rx + 5, payload)
        night_dir = store.night_dir
    with pytest.raises(InputFileError, match="several bands"):
        read_night(night_dir)
    rec = read_night(night_dir / "night.sqlite", band_id="R")
    assert rec.band_id == "R" and rec.site.value == "right_ankle"
    start = datetime(2026, 1, 2, tzinfo=UTC)
    rec = read_night(night_dir, band_id="L", start_utc=start, site="other")
    assert rec.start_utc == start and rec.site.value == "other"
    with pytest.raises(InputFileError, match="no band 'X'"):
        read_night(night_dir, band_id="X")


def test_store_is_readable_while_it_is_being_written(tmp_path: Path) -> None:
    night = make_night(n_packets=40, seed=10)
    store: NightStore = open_or_resume(tmp_path, "n1", UNIX)
    try:
        for rx, payload in whole(night):
            store.append_packet("L", rx, payload)
        store.flush()
        rec = replay(store.night_dir)["L"]
        assert rec.n_samples == 40 * PER_PACKET
        assert rec.site.value == "other"  # never registered
    finally:
        store.close()


def test_backfill_in_36_sample_packets_fills_a_hole_across_packet_boundaries(
    tmp_path: Path,
) -> None:
    """Live packets 40-59 (samples 1040-1559) are lost; BACKFILL(1000, 400) resends samples
    1000-1399 in packets of 36, which straddle the live packets' boundaries; 1400-1559 stay a
    gap (older than the band's ring buffer, say)."""
    night = make_night(n_packets=120, seed=11)
    keep = [i for i in range(120) if not 40 <= i < 60]
    items = whole(night, keep)
    late_ns = night.rx_ns[-1]
    for k, first in enumerate(range(1000, 1400, 36)):
        n = min(36, 1400 - first)
        items.append(
            (
                late_ns + k * 1_000_000,
                encode_packet(
                    BandPacket(
                        flags=PacketFlags.BACKFILL,
                        sequence=(500 + k) % 65536,
                        first_sample_index=first,
                        device_time_us=round(5_000_000 + first / TRUE_FS_HZ * 1e6),
                        rate_code=4,
                        range_code=2,
                        battery_pct=90,
                        samples=night.samples[first : first + n],
                    )
                ),
            )
        )
    result = replay_night(write(tmp_path, items))
    rep = result.reports["L"]
    rec = result.recordings["L"]
    index = np.array([i for i in range(120 * 26) if not 1400 <= i < 1560])
    assert rep.missing_samples == 160 and rep.gaps == 1
    # Samples 1000-1039 came twice (live and backfill), identical.
    assert rep.duplicate_samples == 40 and rep.conflicting_samples == 0
    assert_samples_exact(rec.accel_g, rec.t_s, night, index)
