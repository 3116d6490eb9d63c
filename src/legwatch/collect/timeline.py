"""Sample placement and clock fits for replaying a band's packets: pure numpy, no I/O.

The band numbers every sample (``first_sample_index + k``), so the sample grid comes from the
index, not from arrival times: duplicates (retransmits, BACKFILL) collapse onto one index, holes
in the index are gaps of exactly that many samples. Only the mapping of index to time needs the
clocks:

* host receive times: ``rx >= t(last sample of the packet) + link latency``. The latency has a
  floor (connection interval, scheduling) and a long tail (retries, a busy host, BACKFILL), so the
  line that matters is the *lower envelope* of receive time against index. We take the earliest
  packet in each window of the index (the one that waited least), then a Theil-Sen line through
  those window minima (median of pairwise slopes, breakdown point 29 %: a window made only of
  late packets, after a reconnect, does not tilt it). Its slope is the sensor's true period in
  host seconds; its intercept places the night in wall time, late by the floor latency
  (typically under one connection interval, 30-50 ms).
* device time (``device_time_us``): the band's RTC, low jitter but its own crystal error, and it
  jumps at SYNC_TIME. A least-squares slope pooled over the segments between jumps gives the
  sensor period in device microseconds; against the host slope it is the band clock's drift, a
  cross-check reported in ppm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats


@dataclass(frozen=True)
class PlacedSamples:
    """Samples on their index grid, one per index, in increasing index order.

    Attributes
    ----------
    index : (k,) int64
    counts : (k, 3) int16
        Raw sensor counts.
    range_code : (k,) int8
        Range code of the packet each kept sample came from.
    duplicates : int
        Repeats with identical values (dropped).
    conflicts : int
        Repeats whose values differ from the first received (dropped, the first kept).
    conflict_indices : tuple of int
        The first few conflicting indices, for the log.
    """

    index: NDArray[np.int64]
    counts: NDArray[np.int16]
    range_code: NDArray[np.int8]
    duplicates: int
    conflicts: int
    conflict_indices: tuple[int, ...]


def place_samples(
    index: NDArray[np.int64], counts: NDArray[np.int16], range_code: NDArray[np.int8]
) -> PlacedSamples:
    """Put samples given in receive order onto their indices, keeping the first of repeats.

    Parameters
    ----------
    index : (m,) int array
        Sample index of each received sample, in receive order.
    counts : (m, 3) int16 array
        Its x, y, z counts.
    range_code : (m,) int array
        Its packet's range code (a repeat in another range is a conflict).
    """
    if index.size and np.all(index[1:] > index[:-1]):  # in order, no repeats: nothing to do
        return PlacedSamples(index.astype(np.int64), counts, range_code.astype(np.int8), 0, 0, ())
    order = np.argsort(index, kind="stable")  # stable: the first received comes first
    idx = index[order]
    val = counts[order]
    rng = range_code[order]
    del order
    if idx.size == 0:
        return PlacedSamples(idx.astype(np.int64), val, rng.astype(np.int8), 0, 0, ())
    repeat = np.zeros(idx.size, dtype=bool)
    repeat[1:] = idx[1:] == idx[:-1]
    # Position of the kept (first) sample of each run of equal indices.
    head = np.where(repeat, 0, np.arange(idx.size))
    np.maximum.accumulate(head, out=head)
    rep = np.flatnonzero(repeat)
    differs = np.any(val[rep] != val[head[rep]], axis=1) | (rng[rep] != rng[head[rep]])
    keep = ~repeat
    return PlacedSamples(
        index=idx[keep].astype(np.int64),
        counts=val[keep],
        range_code=rng[keep].astype(np.int8),
        duplicates=int(rep.size - np.count_nonzero(differs)),
        conflicts=int(np.count_nonzero(differs)),
        conflict_indices=tuple(int(i) for i in np.unique(idx[rep[differs]])[:10]),
    )


def index_holes(index: NDArray[np.int64]) -> NDArray[np.intp]:
    """Positions i where ``index[i + 1] - index[i] > 1``: a gap follows sample i."""
    return np.flatnonzero(np.diff(index) > 1)


@dataclass(frozen=True)
class HostClockFit:
    """Sample index -> host Unix time, from the lower envelope of receive times.

    Attributes
    ----------
    period_s : float
        Sensor sample period in host seconds.
    t0_unix_s : float
        Host Unix time of sample index 0 (extrapolated), seconds.
    envelope_points : int
        Window minima the line went through (0 when it fell back to the nominal rate).
    latency_p50_ms, latency_p95_ms : float
        Receive time above the envelope line for the packets fitted, milliseconds.
    """

    period_s: float
    t0_unix_s: float
    envelope_points: int
    latency_p50_ms: float
    latency_p95_ms: float

    @property
    def fs_hz(self) -> float:
        return 1.0 / self.period_s

    def time_unix_s(self, index: NDArray[np.int64] | int) -> NDArray[np.float64]:
        """Host Unix time of sample ``index``, seconds."""
        return self.t0_unix_s + np.asarray(index, dtype=np.float64) * self.period_s


def fit_host_clock(
    last_index: NDArray[np.int64],
    rx_unix_ns: NDArray[np.int64],
    fs_nominal_hz: float,
    *,
    max_windows: int = 400,
    min_window_s: float = 2.0,
) -> HostClockFit:
    """Fit the lower envelope of receive time against the index of each packet's last sample.

    Parameters
    ----------
    last_index : (p,) int array
        Index of the last sample of each packet (received no earlier than that sample).
    rx_unix_ns : (p,) int array
        Host receive time of each packet, Unix nanoseconds.
    fs_nominal_hz : float
        Configured rate, Hz: the starting model and the fallback when there are too few windows.
    max_windows : int
        At most this many index windows (bounds Theil-Sen's O(n^2) pairs: 400 -> 80 000).
    min_window_s : float
        Windows span at least this many nominal seconds (8 packets of 26 samples at 104 Hz), so
        each holds a packet that was not delayed.
    """
    x = np.asarray(last_index, dtype=np.int64)
    y_ns = np.asarray(rx_unix_ns, dtype=np.int64)
    y_base_ns = int(y_ns.min())
    x_base = int(x.min())
    nominal = 1.0 / fs_nominal_hz
    # Work relative to the nominal line so float64 keeps sub-microsecond precision all night.
    xr = (x - x_base).astype(np.float64)
    r = (y_ns - y_base_ns).astype(np.float64) / 1e9 - xr * nominal
    span = float(xr.max())
    window = max(min_window_s * fs_nominal_hz, span / max_windows, 1.0)
    win = np.floor(xr / window).astype(np.int64)
    order = np.lexsort((r, win))
    first_of_win = np.ones(order.size, dtype=bool)
    first_of_win[1:] = win[order][1:] != win[order][:-1]
    env = order[first_of_win]
    if env.size >= 3:
        slope, intercept, _, _ = stats.theilslopes(r[env], xr[env])
        slope = float(slope)
        intercept = float(np.median(r[env] - slope * xr[env]))
        points = int(env.size)
    else:
        slope, intercept, points = 0.0, float(r.min()), 0
    latency_s = r - (intercept + slope * xr)
    period = nominal + slope
    t0 = y_base_ns / 1e9 + intercept - x_base * period
    return HostClockFit(
        period_s=period,
        t0_unix_s=t0,
        envelope_points=points,
        latency_p50_ms=float(np.percentile(latency_s, 50) * 1e3),
        latency_p95_ms=float(np.percentile(latency_s, 95) * 1e3),
    )


@dataclass(frozen=True)
class DeviceClockFit:
    """Sample period in the band's own clock.

    Attributes
    ----------
    period_us : float
        Sensor sample period in device microseconds.
    segments : int
        Stretches of continuous device time (split at SYNC_TIME jumps and clock-flag changes).
    packets : int
        Packets used.
    """

    period_us: float
    segments: int
    packets: int

    @property
    def fs_hz(self) -> float:
        return 1e6 / self.period_us


def fit_device_clock(
    first_index: NDArray[np.int64],
    device_time_us: NDArray[np.uint64],
    clock_synced: NDArray[np.bool_],
    fs_nominal_hz: float,
    *,
    jump_tolerance_us: float = 20_000.0,
) -> DeviceClockFit | None:
    """Pooled least-squares period of device time against the packets' first sample index.

    Parameters
    ----------
    first_index, device_time_us, clock_synced : (p,) arrays
        Per packet: first sample index, device time of that sample (us), CLOCK_SYNCED flag.
    fs_nominal_hz : float
        Configured rate, Hz; steps off the nominal line by more than ``jump_tolerance_us``
        (plus 2 % of the step, beyond any crystal or ODR error) start a new segment.
    jump_tolerance_us : float
        Default 20 ms: far above the RTC's 30.5 us tick and the interrupt latency, far below
        the seconds a SYNC_TIME moves the clock.

    Returns
    -------
    DeviceClockFit or None
        None when no segment holds two packets with distinct indices.
    """
    idx, uniq = np.unique(np.asarray(first_index, dtype=np.int64), return_index=True)
    t = np.asarray(device_time_us, dtype=np.uint64)[uniq].astype(np.int64)
    synced = np.asarray(clock_synced, dtype=bool)[uniq]
    if idx.size < 2:
        return None
    d_idx = np.diff(idx).astype(np.float64)
    d_t = np.diff(t).astype(np.float64)
    expected = d_idx * 1e6 / fs_nominal_hz
    jump = (np.abs(d_t - expected) > jump_tolerance_us + 0.02 * expected) | (
        synced[1:] != synced[:-1]
    )
    seg = np.concatenate([[0], np.cumsum(jump)])
    sxx = sxy = 0.0
    packets = 0
    segments = 0
    for s in range(int(seg[-1]) + 1):
        mask = seg == s
        if np.count_nonzero(mask) < 2:
            continue
        xs = idx[mask].astype(np.float64)
        ys = (t[mask] - t[mask][0]).astype(np.float64)
        xs -= xs.mean()
        ys -= ys.mean()
        sxx += float(xs @ xs)
        sxy += float(xs @ ys)
        packets += int(np.count_nonzero(mask))
        segments += 1
    if sxx <= 0:
        return None
    return DeviceClockFit(period_us=sxy / sxx, segments=segments, packets=packets)
