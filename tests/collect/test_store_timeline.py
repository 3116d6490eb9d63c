"""The pure parts of replay: sample placement and the two clock fits."""

from __future__ import annotations

import numpy as np
import pytest

from legwatch.collect.timeline import (
    fit_device_clock,
    fit_host_clock,
    index_holes,
    place_samples,
)

FS_HZ = 104.0


def night_rx(hours: float, ppm: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 * 4)
    last = np.arange(n, dtype=np.int64) * 26 + 25
    true_fs = FS_HZ * (1 + ppm * 1e-6)
    t0_ns = 1.7e18
    rx = t0_ns + last / true_fs * 1e9 + 8e6 + rng.exponential(25e6, n)
    return last, rx.astype(np.int64), true_fs


def test_host_fit_over_an_hour_finds_the_rate_to_a_fraction_of_a_ppm() -> None:
    last, rx, true_fs = night_rx(1.0, ppm=-120.0, seed=1)
    fit = fit_host_clock(last, rx, FS_HZ)
    assert (fit.fs_hz / true_fs - 1) * 1e6 == pytest.approx(0.0, abs=0.5)
    # Intercept: sample 0 at t0 plus the floor latency (8 ms), to within a millisecond.
    assert fit.t0_unix_s - 1.7e9 == pytest.approx(0.008, abs=0.001)
    assert 10 < fit.latency_p50_ms < 25 and fit.latency_p95_ms > 50


def test_host_fit_ignores_a_backlog_of_late_packets() -> None:
    """A reconnect delivers 10 min of packets 5-60 s late; the envelope does not move."""
    last, rx, true_fs = night_rx(2.0, ppm=40.0, seed=2)
    backlog = slice(4 * 3600, 4 * 4200)
    rx = rx.copy()
    rx[backlog] += np.linspace(60e9, 5e9, rx[backlog].size).astype(np.int64)
    fit = fit_host_clock(last, rx, FS_HZ)
    assert (fit.fs_hz / true_fs - 1) * 1e6 == pytest.approx(0.0, abs=0.5)
    # A mean fit would be pulled by tens of ppm: the backlog is what a robust fit must resist.
    slope = np.polyfit(last, rx / 1e9, 1)[0]
    assert abs((1 / slope) / true_fs - 1) * 1e6 > 20


def test_host_fit_with_few_packets_falls_back_to_the_nominal_rate() -> None:
    fit = fit_host_clock(np.array([25, 51]), np.array([10**9, 10**9 + 250_000_000]), FS_HZ)
    assert fit.envelope_points == 0 and fit.fs_hz == FS_HZ


def test_device_fit_pools_segments_across_a_sync_time_jump() -> None:
    first = np.arange(2000, dtype=np.int64) * 26
    period_us = 1e6 / FS_HZ * (1 + 25e-6)
    t = 3_000_000 + first * period_us
    t[1000:] += 1.7e15  # SYNC_TIME: from time since boot to Unix microseconds
    synced = np.arange(2000) >= 1000
    fit = fit_device_clock(first, t.astype(np.uint64), synced, FS_HZ)
    assert fit is not None and fit.segments == 2 and fit.packets == 2000
    assert fit.period_us == pytest.approx(period_us, rel=1e-9)
    assert fit_device_clock(first[:1], t[:1].astype(np.uint64), synced[:1], FS_HZ) is None


def test_place_samples_keeps_the_first_of_repeats_and_counts_conflicts() -> None:
    index = np.array([5, 3, 4, 3, 6, 4, 9], dtype=np.int64)
    counts = np.array(
        [[5, 5, 5], [3, 3, 3], [4, 4, 4], [3, 3, 3], [6, 6, 6], [7, 7, 7], [9, 9, 9]],
        dtype=np.int16,
    )
    ranges = np.full(7, 2, dtype=np.int8)
    placed = place_samples(index, counts, ranges)
    np.testing.assert_array_equal(placed.index, [3, 4, 5, 6, 9])
    np.testing.assert_array_equal(placed.counts[:, 0], [3, 4, 5, 6, 9])  # 4 keeps the first
    assert placed.duplicates == 1 and placed.conflicts == 1
    assert placed.conflict_indices == (4,)
    np.testing.assert_array_equal(index_holes(placed.index), [3])
    # Same counts in another range is a conflict too.
    other = place_samples(np.array([1, 1]), counts[:2].copy() * 0, np.array([2, 3], dtype=np.int8))
    assert other.conflicts == 1
