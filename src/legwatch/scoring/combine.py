"""From monolateral leg-movement pieces to combined movements (LMs), each a CLM or not.

Steps, in this order (scoring-rules.md):

1. keep pieces whose onset lies in an analysable interval; each interval is scored on its own;
2. join pieces on the same leg less than ``join_gap_s`` apart (offset to next onset);
3. drop joined LMs shorter than ``min_duration_s``;
4. combine the two legs (WASM: overlap or < 0.5 s offset-to-onset; AASM: onsets < 5 s apart);
5. classify each combined movement (CLM or not; for AASM, LM or not).

All times here are integer microseconds so that inclusive bounds are exact: in floating point
35.559 - 25.559 is 9.999999999999996, which would wrongly fall below a 10 s bound.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from legwatch.errors import ParameterError
from legwatch.events import EventTable
from legwatch.scoring.rules import RuleSet

logger = logging.getLogger(__name__)

US_PER_S = 1_000_000


def to_us(t_s: float) -> int:
    """Seconds to the nearest integer microsecond."""
    return round(t_s * US_PER_S)


@dataclass(frozen=True)
class Movement:
    """One combined movement in integer microseconds.

    ``parts`` are the monolateral LMs (after same-leg joining) it is made of, as
    (onset_us, offset_us, side). ``segment`` is the index of its analysable interval.
    """

    onset_us: int
    offset_us: int
    side: str
    parts: tuple[tuple[int, int, str], ...]
    segment: int

    @property
    def n_parts(self) -> int:
        return len(self.parts)

    @property
    def longest_part_us(self) -> int:
        return max(off - on for on, off, _ in self.parts)


def intervals_to_us(analysable: Sequence[tuple[float, float]]) -> list[tuple[int, int]]:
    """Check ``analysable`` (sorted, disjoint, each start < end, seconds) and convert to us.

    Intervals may touch (end == next start); the boundary still breaks a series.
    """
    out: list[tuple[int, int]] = []
    for k, interval in enumerate(analysable):
        try:
            start_s, end_s = (float(v) for v in interval)
        except (TypeError, ValueError):
            raise ParameterError(
                f"analysable[{k}]", "a (start_s, end_s) pair of numbers", interval
            ) from None
        if not (np.isfinite(start_s) and np.isfinite(end_s)) or not start_s < end_s:
            raise ParameterError(f"analysable[{k}]", "finite start_s < end_s (seconds)", interval)
        start_us, end_us = to_us(start_s), to_us(end_s)
        if out and start_us < out[-1][1]:
            raise ParameterError(
                f"analysable[{k}]",
                f"sorted, disjoint intervals starting at or after {out[-1][1] / US_PER_S} s",
                interval,
            )
        out.append((start_us, end_us))
    return out


def segment_of(
    onset_us: NDArray[np.int64], intervals_us: list[tuple[int, int]]
) -> NDArray[np.intp]:
    """Index of the half-open interval [start, end) holding each onset, or -1 for none."""
    if not intervals_us:
        return np.full(onset_us.size, -1, dtype=np.intp)
    starts = np.array([s for s, _ in intervals_us], dtype=np.int64)
    ends = np.array([e for _, e in intervals_us], dtype=np.int64)
    k = np.searchsorted(starts, onset_us, side="right") - 1
    inside = (k >= 0) & (onset_us < ends[np.clip(k, 0, None)])
    return np.where(inside, k, -1).astype(np.intp)


def _join_same_side(pieces: list[tuple[int, int]], gap_us: int) -> list[tuple[int, int]]:
    """Join pieces (sorted by onset) whose offset-to-next-onset gap is < ``gap_us``."""
    joined: list[tuple[int, int]] = []
    for on, off in pieces:
        if joined and on - joined[-1][1] < gap_us:
            joined[-1] = (joined[-1][0], max(joined[-1][1], off))
        else:
            joined.append((on, off))
    return joined


def _merge_overlap(
    parts: list[tuple[int, int, str]], window_us: int
) -> list[list[tuple[int, int, str]]]:
    """WASM: chain parts while the next onset is < ``window_us`` after the running offset.

    Same-leg parts are already >= join_gap_s apart, so only the other leg can bridge them.
    """
    groups: list[list[tuple[int, int, str]]] = []
    running_off = 0
    for part in parts:
        if groups and part[0] - running_off < window_us:
            groups[-1].append(part)
            running_off = max(running_off, part[1])
        else:
            groups.append([part])
            running_off = part[1]
    return groups


def _merge_onsets(
    parts: list[tuple[int, int, str]], window_us: int
) -> list[list[tuple[int, int, str]]]:
    """AASM: LMs on different legs with onsets < ``window_us`` apart count as one.

    The pairs are linked transitively (connected components), which makes the result independent
    of which leg is called left and of the order of parts with equal onsets.
    """
    parent = list(range(len(parts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    onsets = [p[0] for p in parts]  # parts are sorted by onset
    for i, (on_i, _, side_i) in enumerate(parts):
        j = bisect.bisect_right(onsets, on_i - window_us)  # first onset > on_i - window
        for k in range(j, i):
            if parts[k][2] != side_i:
                parent[root(k)] = root(i)
    groups: dict[int, list[tuple[int, int, str]]] = {}
    for i, part in enumerate(parts):
        groups.setdefault(root(i), []).append(part)
    return sorted(groups.values(), key=lambda g: g[0][0])


def check_sides(lms: EventTable) -> tuple[str, ...]:
    """The sides present; the input must be monolateral and not mix 'unknown' with a leg."""
    sides = tuple(sorted(set(lms.side.tolist())))
    if "bilateral" in sides:
        raise ParameterError(
            "lms.side", "monolateral leg movements ('left', 'right' or 'unknown')", "bilateral"
        )
    if "unknown" in sides and len(sides) > 1:
        raise ParameterError(
            "lms.side",
            "either 'unknown' alone (one band) or 'left'/'right' (two bands), not a mix",
            sides,
        )
    return sides


def combine_movements(
    lms: EventTable, intervals_us: list[tuple[int, int]], rules: RuleSet
) -> list[Movement]:
    """Join, filter and combine monolateral pieces into movements, sorted by onset.

    Parameters
    ----------
    lms : EventTable
        Monolateral pieces; onset_s and duration_s in seconds; side left/right/unknown.
    intervals_us : list of (int, int)
        Analysable intervals in microseconds, from :func:`intervals_to_us`.
    rules : RuleSet
        Thresholds (seconds).

    Returns
    -------
    list of Movement
        Sorted by (segment, onset). Under AASM, monolateral LMs longer than
        ``max_monolateral_s`` are not combined with the other leg (they are not LMs).
    """
    check_sides(lms)
    onset_us = np.round(lms.onset_s * US_PER_S).astype(np.int64)
    offset_us = onset_us + np.round(lms.duration_s * US_PER_S).astype(np.int64)
    segment = segment_of(onset_us, intervals_us)
    n_outside = int(np.count_nonzero(segment < 0))
    if n_outside:
        logger.debug("ignored %d leg movements with onsets outside analysable time", n_outside)

    gap_us = to_us(rules.join_gap_s)
    min_us = to_us(rules.min_duration_s)
    max_mono_us = to_us(rules.max_monolateral_s)
    window_us = to_us(rules.bilateral_window_s)
    movements: list[Movement] = []
    for seg in range(len(intervals_us)):
        in_seg = segment == seg
        parts: list[tuple[int, int, str]] = []
        for side in sorted(set(lms.side[in_seg].tolist())):
            mask = in_seg & (lms.side == side)
            pieces = sorted(zip(onset_us[mask].tolist(), offset_us[mask].tolist(), strict=True))
            for on, off in _join_same_side(pieces, gap_us):
                if off - on >= min_us:
                    parts.append((on, off, side))
        parts.sort()
        if rules.bilateral_mode == "overlap":
            groups = _merge_overlap(parts, window_us)
        else:
            # AASM: a movement longer than max_monolateral_s is not an LM, so it is not counted
            # as one with the other leg's LM; it is kept aside as a lone non-LM movement.
            lm_parts = [p for p in parts if p[1] - p[0] <= max_mono_us]
            long_parts = [p for p in parts if p[1] - p[0] > max_mono_us]
            groups = _merge_onsets(lm_parts, window_us) + [[p] for p in long_parts]
        for group in groups:
            sides = {p[2] for p in group}
            movements.append(
                Movement(
                    onset_us=min(p[0] for p in group),
                    offset_us=max(p[1] for p in group),
                    side=group[0][2] if len(sides) == 1 else "bilateral",
                    parts=tuple(group),
                    segment=seg,
                )
            )
    movements.sort(key=lambda m: (m.segment, m.onset_us, m.offset_us))
    return movements


def is_candidate(movement: Movement, rules: RuleSet) -> bool:
    """Whether a movement's durations and parts make it a CLM (WASM) or an LM (AASM).

    WASM 2016: a monolateral movement of 0.5-10 s; a bilateral one of at most 4 parts, none
    longer than 10 s, lasting at most 15 s in total. All bounds inclusive, in microseconds.
    AASM: every part 0.5-10 s (the 0.5 s minimum was applied when combining).
    """
    if movement.longest_part_us > to_us(rules.max_monolateral_s):
        return False
    if movement.n_parts == 1:
        return True
    if rules.max_bilateral_parts is not None and movement.n_parts > rules.max_bilateral_parts:
        return False
    return not (
        rules.max_bilateral_s is not None
        and movement.offset_us - movement.onset_us > to_us(rules.max_bilateral_s)
    )
