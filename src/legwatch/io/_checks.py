"""Checks every reader applies to samples before they become a Recording.

The readers share one set of limits so a CSV file and an EDF file holding the same night are
accepted or refused for the same reasons, with messages that name the file, line and sample.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from legwatch.errors import InputFileError, ParameterError, UnitsError
from legwatch.recording import BodySite

logger = logging.getLogger(__name__)

#: Standard gravity in m/s^2 (CGPM 1901; ISO 80000-3).
STANDARD_GRAVITY_M_S2 = 9.80665

#: The start used when neither the file nor the caller gives one.
UNKNOWN_START_UTC = datetime(1970, 1, 1, tzinfo=UTC)

#: Output data rates of common accelerometers (LSM6DS3 12.5/26/52/104/208 Hz, Polar Verity Sense
#: 26-208 Hz, Axivity/GENEActiv 12.5-400 Hz, ActiGraph 30-100 Hz, Movesense 13-416 Hz): an estimated
#: rate within NOMINAL_SNAP_FRACTION of one of these is taken to be that rate.
COMMON_RATES_HZ = (
    10.0, 12.5, 13.0, 20.0, 25.0, 26.0, 30.0, 32.0, 40.0, 50.0, 52.0, 60.0, 64.0, 70.0,
    80.0, 90.0, 100.0, 104.0, 125.0, 128.0, 200.0, 208.0, 250.0, 256.0, 400.0,
)  # fmt: skip


@dataclass(frozen=True)
class ReaderLimits:
    """What a reader accepts as an ankle-accelerometer night.

    Attributes
    ----------
    min_rate_hz, max_rate_hz : float
        Accepted sample rates in Hz. Default 10-400 Hz: sensing.md asks for >= 25 Hz for the 0.5 s
        scoring rules; 10 Hz is still accepted for older actigraphs, and 400 Hz covers the fastest
        common ODR (Axivity AX3) below the 416 Hz that no analysis here needs.
    min_duration_s : float
        Shortest accepted recording in seconds. Default 10 s (project brief): less than that cannot
        hold a single 0.5-10 s leg movement with context.
    clock_jump_s : float
        A forward step between two samples longer than this (seconds) is a clock jump, not a gap.
        Default 3600 s: the longest real gap expected is 30-120 s (sensing.md, distractor 6), while
        a 3-hour jump is format corruption to reject (sensing.md).
    gravity_min_g, gravity_max_g : float
        Accepted median vector magnitude in g. Default 0.5-2 g: a band mostly at rest reads
        about 1 g (gravity); these bounds leave room for strap tilt, offsets and movement.
    counts_integer_fraction : float
        Share of integer-valued samples above which large values are called raw counts. Default
        0.99: real g values in decimals are almost never whole numbers.
    nominal_snap_fraction : float
        Relative distance within which an estimated rate snaps to a COMMON_RATES_HZ entry. Default
        0.015: covers crystal tolerance and the 50.3 Hz drift of sensing.md (distractor 7).
    """

    min_rate_hz: float = 10.0
    max_rate_hz: float = 400.0
    min_duration_s: float = 10.0
    clock_jump_s: float = 3600.0
    gravity_min_g: float = 0.5
    gravity_max_g: float = 2.0
    counts_integer_fraction: float = 0.99
    nominal_snap_fraction: float = 0.015


DEFAULT_LIMITS = ReaderLimits()


def _line(first_line: int | None, sample: int) -> int | None:
    return None if first_line is None else first_line + sample


def check_samples(
    t_s: NDArray[np.float64],
    accel_g: NDArray[np.float64],
    *,
    path: Path,
    first_line: int | None = None,
    limits: ReaderLimits = DEFAULT_LIMITS,
) -> float:
    """Refuse samples that do not form a plausible night; return the estimated rate in Hz.

    Parameters
    ----------
    t_s : (n,) float array
        Sample times in seconds.
    accel_g : (n, 3) float array
        Acceleration, meant to be in g.
    path : Path
        The file the samples came from (for messages).
    first_line : int, optional
        1-based line number of sample 0 in a text file; line numbers are left out when None.
    limits : ReaderLimits
        What is accepted.

    Returns
    -------
    float
        Sample rate in Hz: the mean over time steps within 50 % of the median step.

    Raises
    ------
    InputFileError
        For NaN/inf, times that do not increase, clock jumps, too little data or a rate out of
        range.
    UnitsError
        For acceleration that does not look like g.
    """
    names = ("t_s", "x_g", "y_g", "z_g")
    with np.errstate(all="ignore"):
        columns = (t_s, accel_g[:, 0], accel_g[:, 1], accel_g[:, 2])
        bad_rows = [np.flatnonzero(~np.isfinite(c)) for c in columns]
        first_bad = min((int(b[0]) for b in bad_rows if b.size), default=-1)
        if first_bad >= 0:
            col = next(i for i, b in enumerate(bad_rows) if b.size and b[0] == first_bad)
            value = columns[col][first_bad]
            raise InputFileError(
                f"column {names[col]} is {float(value)!r}; every value must be a finite number.",
                path=path,
                line=_line(first_line, first_bad),
                sample=first_bad,
            )
        dt_s = np.diff(t_s)
        bad = np.flatnonzero(dt_s <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            prev = _line(first_line, i - 1)
            before = f"line {prev}" if prev is not None else f"sample {i - 1}"
            now_s, prev_s = float(t_s[i]), float(t_s[i - 1])
            if now_s == prev_s:
                what = f"duplicated time t_s={now_s!r} s (the same as {before})"
            else:
                what = f"time goes backwards: t_s={now_s!r} s follows t_s={prev_s!r} s ({before})"
            raise InputFileError(
                f"{what}; t_s must increase strictly from sample to sample.",
                path=path,
                line=_line(first_line, i),
                sample=i,
            )
        if t_s.size and t_s[0] < 0:
            raise InputFileError(
                f"t_s starts at {float(t_s[0])!r} s; times must be seconds from the start (>= 0).",
                path=path,
                line=_line(first_line, 0),
                sample=0,
            )
        jumps = np.flatnonzero(dt_s > limits.clock_jump_s)
        if jumps.size:
            i = int(jumps[0]) + 1
            jump_s = float(dt_s[i - 1])
            now_s, prev_s = float(t_s[i]), float(t_s[i - 1])
            raise InputFileError(
                f"clock jump of {jump_s / 3600:.2f} h ({jump_s:.1f} s) forward from "
                f"t_s={prev_s!r} s to {now_s!r} s; a step over {limits.clock_jump_s:g} s is a "
                "clock error, not a gap: fix the timestamps or split the file there.",
                path=path,
                line=_line(first_line, i),
                sample=i,
            )
        step_s = float(np.median(dt_s)) if dt_s.size else math.nan
        covered_s = float(t_s[-1] - t_s[0]) + step_s if dt_s.size else 0.0
        if not covered_s >= limits.min_duration_s:
            raise InputFileError(
                f"only {covered_s:.3g} s of data ({t_s.size} samples); at least "
                f"{limits.min_duration_s:g} s are needed.",
                path=path,
            )
        rate_hz = 1.0 / step_s
        if not limits.min_rate_hz <= rate_hz <= limits.max_rate_hz:
            hint = ""
            if limits.min_rate_hz <= rate_hz * 1000 <= limits.max_rate_hz:
                hint = " The times look like milliseconds: t_s must be in seconds."
            raise InputFileError(
                f"sample rate estimated from the median time step ({step_s:.6g} s) is "
                f"{rate_hz:.4g} Hz; legwatch reads "
                f"{limits.min_rate_hz:g}-{limits.max_rate_hz:g} Hz." + hint,
                path=path,
            )
        check_units(accel_g, path=path, limits=limits)
        # The median step is quantised by the file's time resolution (0.1 ms in legwatch CSV);
        # the mean over ordinary steps (gaps and outliers left out) resolves the rate finely.
        ordinary = dt_s[(dt_s > 0.5 * step_s) & (dt_s < 1.5 * step_s)]
        return float(ordinary.size / ordinary.sum()) if ordinary.size else rate_hz


def check_units(
    accel_g: NDArray[np.float64], *, path: Path, limits: ReaderLimits = DEFAULT_LIMITS
) -> None:
    """Refuse acceleration whose median magnitude is not about 1 g (gravity at rest).

    Parameters
    ----------
    accel_g : (n, 3) float array
        Acceleration, meant to be in g with gravity included.
    path : Path
        The file (for messages).
    limits : ReaderLimits
        Accepted median magnitude and the integer share that marks raw counts.

    Raises
    ------
    UnitsError
        Naming what the values look like (m/s^2, mg, raw counts, gravity removed) and the fix.
    """
    with np.errstate(all="ignore"):
        magnitude_g = np.sqrt(np.einsum("ij,ij->i", accel_g, accel_g))
        median_g = float(np.median(magnitude_g))
        if limits.gravity_min_g <= median_g <= limits.gravity_max_g:
            return
        integer_share = float(np.mean(accel_g == np.round(accel_g)))
    g = STANDARD_GRAVITY_M_S2
    if limits.gravity_min_g * g <= median_g <= limits.gravity_max_g * g:
        fix = f"the values look like m/s^2 (median |a| = {median_g:.3g}, near {g}): divide by {g}."
    elif median_g >= 20 and integer_share >= limits.counts_integer_fraction:
        fix = (
            "the values look like raw sensor counts (integer-valued, median |a| = "
            f"{median_g:.4g}): "
            "divide by the sensor's counts per g (e.g. 4096 for 16-bit at +/-8 g, 1000 for mg)."
        )
    elif limits.gravity_min_g * 1000 <= median_g <= limits.gravity_max_g * 1000:
        fix = f"the values look like milli-g (median |a| = {median_g:.4g}): divide by 1000."
    elif median_g < limits.gravity_min_g:
        fix = (
            f"the median |a| is {median_g:.3g} g, far below the 1 g of gravity: the gravity "
            "component seems removed or the scale is wrong; legwatch needs raw acceleration in g."
        )
    else:
        fix = f"the median |a| is {median_g:.4g}, which matches no known unit."
    raise UnitsError(
        "acceleration must be in g with gravity included (median |a| "
        f"{limits.gravity_min_g:g}-{limits.gravity_max_g:g} g at rest); " + fix,
        path=path,
    )


def nominal_rate_hz(estimated_hz: float, limits: ReaderLimits = DEFAULT_LIMITS) -> float:
    """The configured rate a band most likely had, from the rate measured in its data (Hz)."""
    nearest = min(COMMON_RATES_HZ, key=lambda r: abs(r - estimated_hz))
    if abs(nearest - estimated_hz) <= limits.nominal_snap_fraction * nearest:
        return nearest
    return round(estimated_hz, 1)


def check_rate_hz(value: float | str, *, name: str, limits: ReaderLimits = DEFAULT_LIMITS) -> float:
    """A declared nominal rate, checked against the accepted range (Hz)."""
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = math.nan
    if not limits.min_rate_hz <= rate <= limits.max_rate_hz:
        raise ParameterError(
            name, f"a rate between {limits.min_rate_hz:g} and {limits.max_rate_hz:g} Hz", value
        )
    return rate


def check_start_utc(value: datetime, *, name: str = "start_utc") -> datetime:
    """A timezone-aware start, converted to UTC."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ParameterError(name, "a timezone-aware datetime (e.g. with tzinfo=UTC)", value)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ParameterError(name, "a datetime representable in UTC", value) from None


def resolve_site(value: BodySite | str) -> BodySite:
    """A body site from its enum or text."""
    return BodySite.parse(value)


def default_start(path: Path) -> datetime:
    """The placeholder start, with a warning that times of day will be wrong."""
    logger.warning(
        "%s: no start time in the file or the arguments; using %s, so clock times will be wrong "
        "(add a first line '# start_utc=2026-03-01T22:00:00Z' to a CSV, or pass start_utc= "
        "from Python).",
        path,
        UNKNOWN_START_UTC.isoformat(),
    )
    return UNKNOWN_START_UTC
