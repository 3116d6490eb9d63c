"""One orchestrator: detected leg movements -> combined LMs -> PLM series -> nightly indices."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from legwatch.errors import ParameterError
from legwatch.events import EventTable
from legwatch.scoring.combine import (
    US_PER_S,
    Movement,
    check_sides,
    combine_movements,
    intervals_to_us,
    is_candidate,
    to_us,
)
from legwatch.scoring.indices import (
    clipped_hours,
    half_split_us,
    imi_histogram,
    periodicity_index,
    rate_per_h,
)
from legwatch.scoring.rules import RuleSet, get_rules
from legwatch.scoring.series import find_series, imis_us

logger = logging.getLogger(__name__)

#: Dropouts shorter than this (s) do not break a PLM series in legwatch's analysis (see
#: ``bridge_gap_s`` of :func:`score_leg_movements`).
BRIDGE_GAP_S = 5.0


@dataclass(frozen=True, eq=False)
class Scoring:
    """The scored night.

    Attributes
    ----------
    rules : str
        Name of the rule set ("wasm2016" or "aasm").
    denominator : str
        What the per-hour indices are per hour of (default "analysable time in bed").
    exposure_h : float
        Sum of the analysable intervals, hours.
    half_split_s : float
        Time (s) at which half of the analysable time has passed; movements with onsets before
        it belong to the first half.
    movements : EventTable
        Combined movements, kind "lm", side left/right/bilateral/unknown; props ``n_parts``
        (int), ``is_lm`` (bool: scored as an LM by the rule set), ``is_clm`` (bool; under AASM
        the same as is_lm), ``imi_s`` (float s, NaN where undefined), ``in_series`` (bool),
        ``series_id`` (int, -1 if none), ``short_imi`` (bool: IMI below the rule set's minimum),
        ``respiratory`` (bool: overlaps a respiratory window), ``segment`` (int: analysable
        interval index).
    series : EventTable
        PLM series, kind "plm_series": onset of the first member, duration to the offset of the
        last; side the members' common side or "unknown" if mixed; props ``n`` and
        ``series_id``.
    indices : dict of str to float
        Counts and rates; see :func:`score_leg_movements`.
    imi_histogram : dict
        SOMAS-convention histograms; see :func:`legwatch.scoring.indices.imi_histogram`.
    parameters : RuleSet
        The full rule set used.
    """

    rules: str
    denominator: str
    exposure_h: float
    half_split_s: float
    movements: EventTable
    series: EventTable
    indices: dict[str, float]
    imi_histogram: dict[str, Any]
    parameters: RuleSet = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-ready values (NaN as None), in a stable key order."""
        from legwatch import __version__

        return _jsonable(
            {
                "legwatch_version": __version__,
                "rules": self.rules,
                "rule_parameters": asdict(self.parameters),
                "denominator": self.denominator,
                "exposure_h": self.exposure_h,
                "half_split_s": self.half_split_s,
                "indices": self.indices,
                "imi_histogram": self.imi_histogram,
                "movements": list(self.movements.records()),
                "series": list(self.series.records()),
            }
        )


def _bridged_segments(intervals_us: list[tuple[int, int]], bridge_gap_s: float) -> list[int]:
    """Series segment of each analysable interval: intervals closer than the bridge share one."""
    if not np.isfinite(bridge_gap_s) or bridge_gap_s < 0:
        raise ParameterError("bridge_gap_s", "a finite number of seconds >= 0", bridge_gap_s)
    bridge_us = round(bridge_gap_s * US_PER_S)
    out: list[int] = []
    for k, (start, _) in enumerate(intervals_us):
        joined = k > 0 and start - intervals_us[k - 1][1] < bridge_us
        out.append(out[-1] if joined else (out[-1] + 1 if out else 0))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _respiratory_flags(
    movements: list[Movement], respiratory: EventTable, rules: RuleSet
) -> list[bool]:
    """Whether each movement overlaps (closed intervals) a respiratory window of the rule set."""
    before_us, after_us = to_us(rules.respiratory_before_s), to_us(rules.respiratory_after_s)
    on_us = np.round(respiratory.onset_s * US_PER_S).astype(np.int64)
    off_us = on_us + np.round(respiratory.duration_s * US_PER_S).astype(np.int64)
    anchor_us = off_us if rules.respiratory_anchor == "end" else on_us
    win_start, win_end = anchor_us - before_us, off_us + after_us
    return [bool(np.any((m.onset_us <= win_end) & (m.offset_us >= win_start))) for m in movements]


def score_leg_movements(
    lms: EventTable,
    analysable: Sequence[tuple[float, float]],
    *,
    rules: str | RuleSet = "wasm2016",
    respiratory: EventTable | None = None,
    denominator: str = "analysable time in bed",
    bridge_gap_s: float = 0.0,
) -> Scoring:
    """Score leg movements into CLMs, PLM series and nightly indices.

    Parameters
    ----------
    lms : EventTable
        Monolateral leg movements (onset_s, duration_s in seconds); side "left"/"right" (two
        bands) or "unknown" (one band), or a single side; kind is ignored.
    analysable : sequence of (start_s, end_s)
        Sorted, disjoint intervals (s) where detection ran. Movements with onsets outside them
        are ignored; each boundary between intervals ends any running series and the IMI across
        it is undefined (NaN, not a short IMI).
    rules : str or RuleSet
        "wasm2016" (default) or "aasm", or a custom :class:`RuleSet`.
    respiratory : EventTable or None
        Respiratory events (s). WASM: CLMs overlapping 2.0 s before to 10.25 s after an event's
        end are CLMr; they stay in the PLM index and ``plm_nr_per_h`` is reported beside it,
        computed with CLMr treated as non-candidates (they end a series and are not counted).
        AASM: movements overlapping 0.5 s before to 0.5 s after an event are not scored.
        None: no respiratory information; ``plm_nr_per_h`` is NaN.
    denominator : str
        Label of the time the per-hour rates divide by; stated in every output.
    bridge_gap_s : float
        Boundaries between analysable intervals less than this apart (s) do not break a series
        and the IMI across them is kept; the time between them still leaves the denominator.
        Default 0 (every boundary breaks, the rules read literally). legwatch's analysis bridges
        short link dropouts with 5 s: shorter than half the smallest WASM IMI, so a dropout
        cannot hide a whole interval, while a 0.1-5 s BLE gap (20-60 a night, sensing.md) no
        longer cuts every series it falls into.

    Returns
    -------
    Scoring
        ``indices`` holds: n_lm, n_clm, n_plm, n_series, lm_per_h, clm_per_h, plm_per_h,
        short_imi_per_h, isolated_lm_per_h (LMs neither in a series nor after a short IMI),
        n_respiratory, n_clm_r, plm_nr_per_h, periodicity_index (Ferri 2006, as in sev),
        plm_over_clm (SOMAS's simpler "periodicity index" #PLM / #CLM),
        lm_per_h_first_half, lm_per_h_second_half, plm_per_h_first_half,
        plm_per_h_second_half (each over its own analysable hours), and, when both legs are
        present, n_lm_left, n_lm_right, n_lm_bilateral, n_plm_left, n_plm_right,
        n_plm_bilateral.

    Raises
    ------
    ParameterError
        For an unknown rule set, malformed or empty analysable time (no rate can be formed),
        or inconsistent sides.
    """
    rule_set = get_rules(rules)
    intervals = intervals_to_us(analysable)
    if not intervals:
        raise ParameterError(
            "analysable",
            "at least one (start_s, end_s) interval: with no analysable time no rate exists",
            list(analysable),
        )
    exposure_h = sum(end - start for start, end in intervals) / US_PER_S / 3600.0
    sides = check_sides(lms)
    movements = combine_movements(lms, intervals, rule_set)
    n = len(movements)

    resp = (
        _respiratory_flags(movements, respiratory, rule_set)
        if respiratory is not None
        else [False] * n
    )
    candidate = [is_candidate(m, rule_set) for m in movements]
    if rule_set.respiratory_action == "exclude":
        is_lm = [c and not r for c, r in zip(candidate, resp, strict=True)]
        is_clm = list(is_lm)
    else:
        is_lm = [True] * n
        is_clm = candidate

    # Movements that take part in IMIs. WASM: every LM (a non-CLM ends a series). AASM: only
    # LMs; an over-long or respiratory-excluded movement is not an LM, so it is skipped, and
    # the IMI of the next LM is measured from the LM before it
    # (see RuleSet.long_movement_breaks_series).
    seq = [k for k in range(n) if rule_set.long_movement_breaks_series or is_lm[k]]
    bridged = _bridged_segments(intervals, bridge_gap_s)
    seq_imi = imis_us(
        [movements[k].onset_us for k in seq], [bridged[movements[k].segment] for k in seq]
    )
    imi_min_us, imi_max_us = to_us(rule_set.imi_min_s), to_us(rule_set.imi_max_s)

    def series_of(eligible: list[bool]) -> list[list[int]]:
        found = find_series(
            seq_imi,
            [eligible[k] for k in seq],
            imi_min_us=imi_min_us,
            imi_max_us=imi_max_us,
            min_length=rule_set.min_series_length,
        )
        return [[seq[p] for p in members] for members in found]

    series = series_of(is_clm)
    imi_s = np.full(n, np.nan)
    short_imi = np.zeros(n, dtype=bool)
    clm_imis: list[int] = []
    for p, k in enumerate(seq):
        imi = seq_imi[p]
        if imi is None:
            continue
        imi_s[k] = imi / US_PER_S
        short_imi[k] = is_lm[k] and imi < imi_min_us
        # Histogram: consecutive CLMs with no movement of any kind between them (SOMAS).
        if is_clm[k] and is_clm[seq[p - 1]] and seq[p - 1] == k - 1:
            clm_imis.append(imi)
    series_id = np.full(n, -1, dtype=np.int64)
    for sid, members in enumerate(series):
        series_id[members] = sid
    in_series = series_id >= 0

    movement_table = EventTable(
        onset_s=np.array([m.onset_us for m in movements], dtype=np.float64) / US_PER_S,
        duration_s=np.array([m.offset_us - m.onset_us for m in movements], dtype=np.float64)
        / US_PER_S,
        kind=np.full(n, "lm"),
        side=np.array([m.side for m in movements], dtype=np.str_),
        props={
            "n_parts": np.array([m.n_parts for m in movements], dtype=np.int64),
            "is_lm": np.array(is_lm, dtype=bool),
            "is_clm": np.array(is_clm, dtype=bool),
            "imi_s": imi_s,
            "in_series": in_series,
            "series_id": series_id,
            "short_imi": short_imi,
            "respiratory": np.array(resp, dtype=bool),
            "segment": np.array([m.segment for m in movements], dtype=np.int64),
        },
    )
    series_table = _series_table(movements, series)

    lm_mask = np.array(is_lm, dtype=bool)
    clm_mask = np.array(is_clm, dtype=bool)
    resp_mask = np.array(resp, dtype=bool)
    onset_us = np.array([m.onset_us for m in movements], dtype=np.int64)
    split_us = half_split_us(intervals)
    first = onset_us < split_us
    first_h = clipped_hours(intervals, -math.inf, split_us)
    second_h = clipped_hours(intervals, split_us, math.inf)
    n_lm, n_clm, n_plm = int(lm_mask.sum()), int(clm_mask.sum()), int(in_series.sum())

    if respiratory is None:
        n_plm_nr: float = math.nan
    elif rule_set.respiratory_action == "exclude":
        n_plm_nr = n_plm  # respiratory LMs were never scored
    else:
        not_clm_r = [c and not r for c, r in zip(is_clm, resp, strict=True)]
        n_plm_nr = sum(len(s) for s in series_of(not_clm_r))

    indices: dict[str, float] = {
        "n_lm": n_lm,
        "n_clm": n_clm,
        "n_plm": n_plm,
        "n_series": len(series),
        "lm_per_h": rate_per_h(n_lm, exposure_h),
        "clm_per_h": rate_per_h(n_clm, exposure_h),
        "plm_per_h": rate_per_h(n_plm, exposure_h),
        "short_imi_per_h": rate_per_h(int(short_imi.sum()), exposure_h),
        "isolated_lm_per_h": rate_per_h(
            int(np.count_nonzero(lm_mask & ~in_series & ~short_imi)), exposure_h
        ),
        "n_respiratory": int(resp_mask.sum()) if respiratory is not None else math.nan,
        "n_clm_r": int((clm_mask & resp_mask).sum()) if respiratory is not None else math.nan,
        "plm_nr_per_h": rate_per_h(n_plm_nr, exposure_h),
        "periodicity_index": periodicity_index(seq_imi),
        "plm_over_clm": n_plm / n_clm if n_clm else math.nan,
        "lm_per_h_first_half": rate_per_h(int((lm_mask & first).sum()), first_h),
        "lm_per_h_second_half": rate_per_h(int((lm_mask & ~first).sum()), second_h),
        "plm_per_h_first_half": rate_per_h(int((in_series & first).sum()), first_h),
        "plm_per_h_second_half": rate_per_h(int((in_series & ~first).sum()), second_h),
    }
    if "left" in sides and "right" in sides:
        side = movement_table.side
        for name in ("left", "right", "bilateral"):
            indices[f"n_lm_{name}"] = int((lm_mask & (side == name)).sum())
        for name in ("left", "right", "bilateral"):
            indices[f"n_plm_{name}"] = int((in_series & (side == name)).sum())

    logger.debug(
        "scored %d movements (%s): %d CLM, %d PLM in %d series over %.3f h",
        n,
        rule_set.name,
        n_clm,
        n_plm,
        len(series),
        exposure_h,
    )
    return Scoring(
        rules=rule_set.name,
        denominator=denominator,
        exposure_h=exposure_h,
        half_split_s=split_us / US_PER_S,
        movements=movement_table,
        series=series_table,
        indices=indices,
        imi_histogram=imi_histogram(clm_imis),
        parameters=rule_set,
    )


def _series_table(movements: list[Movement], series: list[list[int]]) -> EventTable:
    if not series:
        return EventTable.empty(("n", "series_id"))
    onset_us = [movements[s[0]].onset_us for s in series]
    offset_us = [movements[s[-1]].offset_us for s in series]
    sides = []
    for members in series:
        member_sides = {movements[k].side for k in members}
        sides.append(member_sides.pop() if len(member_sides) == 1 else "unknown")
    return EventTable(
        onset_s=np.array(onset_us, dtype=np.float64) / US_PER_S,
        duration_s=(np.array(offset_us, dtype=np.float64) - np.array(onset_us)) / US_PER_S,
        kind=np.full(len(series), "plm_series"),
        side=np.array(sides, dtype=np.str_),
        props={
            "n": np.array([len(s) for s in series], dtype=np.int64),
            "series_id": np.arange(len(series), dtype=np.int64),
        },
    )
