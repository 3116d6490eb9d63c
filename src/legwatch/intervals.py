"""Time intervals in seconds, as (start_s, end_s) pairs, half-open [start, end).

The one place the analysis, the simulator's truth, the statistics and the report do interval
arithmetic. Results are sorted, disjoint lists; empty intervals are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

Interval = tuple[float, float]


def merge(intervals: Sequence[Interval]) -> list[Interval]:
    """Sorted union of the intervals (touching or overlapping ones joined)."""
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def subtract(base: Sequence[Interval], holes: Sequence[Interval]) -> list[Interval]:
    """``base`` minus every hole."""
    holes = merge(holes)
    out: list[Interval] = []
    for a, b in base:
        cur = a
        for h0, h1 in holes:
            if h1 <= cur or h0 >= b:
                continue
            if h0 > cur:
                out.append((cur, h0))
            cur = max(cur, h1)
        if cur < b:
            out.append((cur, b))
    return out


def complement(intervals: Sequence[Interval], lo: float, hi: float) -> list[Interval]:
    """[lo, hi) minus the intervals."""
    return subtract([(lo, hi)], intervals) if hi > lo else []


def intersect(x: Sequence[Interval], y: Sequence[Interval]) -> list[Interval]:
    """Sorted intersection of two interval lists."""
    out = []
    for a0, a1 in x:
        for b0, b1 in y:
            lo, hi = max(a0, b0), min(a1, b1)
            if hi > lo:
                out.append((lo, hi))
    return merge(out)


def total(intervals: Sequence[Interval]) -> float:
    """Summed length, s (of disjoint intervals)."""
    return float(sum(b - a for a, b in intervals))


def overlap_s(intervals: Sequence[Interval], lo_s: float, hi_s: float) -> float:
    """Length of the part of (disjoint) ``intervals`` inside [lo_s, hi_s), s."""
    return float(sum(max(0.0, min(b, hi_s) - max(a, lo_s)) for a, b in intervals))


def inside(t_s: NDArray[np.float64], intervals: Sequence[Interval]) -> NDArray[np.bool_]:
    """Whether each time lies in one of the intervals."""
    t = np.asarray(t_s, dtype=np.float64)
    out = np.zeros(t.shape, dtype=bool)
    for a, b in intervals:
        out |= (t >= a) & (t < b)
    return out
