"""Nightly indices built from scored movements: rates, periodicity, IMI histograms, half nights."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from legwatch.errors import ParameterError

US_PER_S = 1_000_000

#: Ferri 2006 periodicity index bounds, seconds (fixed by the method, whatever the rule set).
PI_IMI_MIN_US = 10 * US_PER_S
PI_IMI_MAX_US = 90 * US_PER_S
#: A run of this many consecutive 10-90 s IMIs (i.e. >= 4 movements) counts as periodic.
PI_MIN_RUN = 3

#: SOMAS IMI histogram convention: CLM-to-CLM IMIs strictly below 90 s, 2 s linear bins over
#: 0-90 s, 0.1 wide bins of ln(IMI / 1 s) over 0-4.5.
HIST_MAX_US = 90 * US_PER_S
HIST_LINEAR_EDGES_S = np.arange(0.0, 92.0, 2.0)
HIST_LOG_EDGES = np.linspace(0.0, 4.5, 46)


def rate_per_h(count: float, exposure_h: float) -> float:
    """Events per hour.

    Parameters
    ----------
    count : float
        Number of events.
    exposure_h : float
        Time the events could have been seen in, hours; must be finite and > 0.

    Raises
    ------
    ParameterError
        When ``exposure_h`` is zero, negative or not finite (no rate can be formed).
    """
    if not (math.isfinite(exposure_h) and exposure_h > 0):
        raise ParameterError("exposure_h", "a finite time > 0 hours", exposure_h)
    return float(count) / exposure_h


def periodicity_index(imi_us: Sequence[int | None]) -> float:
    """Ferri's periodicity index (PI), as implemented in informaton/sev.

    PI = (number of IMIs that are 10-90 s inclusive *and* sit in a run of >= 3 consecutive such
    IMIs, i.e. >= 4 movements) / (number of all IMIs). Range 0-1; NaN when there is no IMI.
    Undefined IMIs (None, across a break in analysable time) end a run and are not counted.

    Source: Ferri R et al., Sleep 2006;29:759-769. Not SOMAS's PLM/CLM ratio (``plm_over_clm``).

    Parameters
    ----------
    imi_us : sequence of int or None
        Successive IMIs in microseconds, in movement order.
    """
    n_imis = sum(1 for imi in imi_us if imi is not None)
    if n_imis == 0:
        return math.nan
    periodic = 0
    run = 0
    for imi in [*imi_us, None]:
        if imi is not None and PI_IMI_MIN_US <= imi <= PI_IMI_MAX_US:
            run += 1
            continue
        if run >= PI_MIN_RUN:
            periodic += run
        run = 0
    return periodic / n_imis


def imi_histogram(clm_imi_us: Sequence[int]) -> dict[str, Any]:
    """IMI histograms in the SOMAS convention.

    Parameters
    ----------
    clm_imi_us : sequence of int
        Onset-to-onset intervals (microseconds) between consecutive CLMs with no other movement
        between them. Only those strictly below 90 s are used (SOMAS).

    Returns
    -------
    dict
        ``n`` (IMIs used), ``linear_edges_s`` / ``linear_counts`` (2 s bins, 0-90 s),
        ``log_edges`` / ``log_counts`` (ln(IMI / 1 s) in 0.1 bins, 0-4.5; IMIs under 1 s fall
        outside), ``ln_imi_mean`` and ``ln_imi_sd`` (sample SD, ddof=1, as MATLAB's std) of
        ln(IMI) for IMIs >= 10 s and < 90 s (NaN when there are too few).
    """
    imis_s = np.array([v for v in clm_imi_us if 0 < v < HIST_MAX_US], dtype=np.float64) / US_PER_S
    linear_counts, _ = np.histogram(imis_s, bins=HIST_LINEAR_EDGES_S)
    log_counts, _ = np.histogram(np.log(imis_s), bins=HIST_LOG_EDGES)
    ln_periodic = np.log(imis_s[imis_s >= PI_IMI_MIN_US / US_PER_S])
    return {
        "n": int(imis_s.size),
        "linear_edges_s": HIST_LINEAR_EDGES_S.tolist(),
        "linear_counts": linear_counts.tolist(),
        "log_edges": np.round(HIST_LOG_EDGES, 10).tolist(),
        "log_counts": log_counts.tolist(),
        "ln_imi_mean": float(np.mean(ln_periodic)) if ln_periodic.size else math.nan,
        "ln_imi_sd": float(np.std(ln_periodic, ddof=1)) if ln_periodic.size > 1 else math.nan,
    }


def half_split_us(intervals_us: Sequence[tuple[int, int]]) -> int:
    """The time (microseconds) where half of the analysable time has passed."""
    half = sum(end - start for start, end in intervals_us) / 2
    elapsed = 0
    for start, end in intervals_us:
        if elapsed + (end - start) >= half:
            return round(start + (half - elapsed))
        elapsed += end - start
    raise ParameterError("analysable", "at least one interval", list(intervals_us))


def clipped_hours(intervals_us: Sequence[tuple[int, int]], lo_us: float, hi_us: float) -> float:
    """Analysable hours inside [lo_us, hi_us)."""
    total = sum(max(0.0, min(end, hi_us) - max(start, lo_us)) for start, end in intervals_us)
    return total / US_PER_S / 3600.0
