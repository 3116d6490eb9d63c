"""Reading accelerometer nights from EDF, EDF+C and BDF files (what clinicians' software opens).

edfio reads EDF+D (discontinuous) files but lays their data records end to end, which would move
every sample after a gap to the wrong time. A discontinuous EDF+D file is therefore refused with a
message saying how to convert it; an EDF+D file whose records happen to be contiguous is read.
"""

from __future__ import annotations

import logging
import re
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import edfio
import numpy as np
from numpy.typing import NDArray

from legwatch.errors import InputFileError, RecordingError
from legwatch.io import _checks
from legwatch.recording import BodySite, Recording

logger = logging.getLogger(__name__)

#: Physical dimensions understood as acceleration, with the factor that converts them to g.
_TO_G = {
    "g": 1.0,
    "mg": 1e-3,
    "m/s^2": 1.0 / _checks.STANDARD_GRAVITY_M_S2,
    "m/s2": 1.0 / _checks.STANDARD_GRAVITY_M_S2,
    "m/s²": 1.0 / _checks.STANDARD_GRAVITY_M_S2,
    "ms^-2": 1.0 / _checks.STANDARD_GRAVITY_M_S2,
    "m*s^-2": 1.0 / _checks.STANDARD_GRAVITY_M_S2,
}

#: An axis label after lower-casing and dropping separators and a bracketed unit:
#: x, accx, accelx, accelerationx, accelerometerx, ax, xaxis, accxaxis, ...
_AXIS_LABEL = re.compile(r"(?:accelerometer|acceleration|accel|acc|a)?([xyz])(?:axis)?")


def read_edf(
    path: str | Path,
    *,
    start_utc: datetime | None = None,
    band_id: str | None = None,
    site: BodySite | str | None = None,
    fs_nominal_hz: float | None = None,
) -> Recording:
    """Read the three acceleration signals of an EDF, EDF+C or BDF file into a Recording.

    The signals are found by label (``accel_x``, ``ACC X``, ``x``, ``Accelerometer Z`` ...), or else
    as the only three signals whose physical dimension is g, mg or m/s^2. Values are converted to
    g (m/s^2 with 9.80665). The start comes from the header; EDF has no time zone, so the header
    time is taken as UTC unless ``start_utc`` is given. The rate is the signals' sampling frequency.

    Parameters
    ----------
    path : str or Path
        An .edf or .bdf file.
    start_utc : datetime, optional
        Timezone-aware start, overriding the header.
    band_id : str, optional
        Identifier of the band; default the file's stem.
    site : BodySite or str, optional
        Where the band was worn; default left_ankle.
    fs_nominal_hz : float, optional
        Configured rate in Hz (10-400); default the signals' sampling frequency.

    Returns
    -------
    Recording

    Raises
    ------
    InputFileError
        If the file cannot be read as EDF/BDF, is a discontinuous EDF+D, has no clear set of three
        acceleration signals, or fails the checks every reader applies (rate 10-400 Hz, at least
        10 s, finite values).
    UnitsError
        If the values in g do not have a median magnitude of about 1 g.
    """
    path = Path(path)
    edf = _open(path)
    signals = _acceleration_signals(edf, path)
    rates_hz = {float(s.sampling_frequency) for s in signals}
    if len(rates_hz) != 1:
        raise InputFileError(
            "the three acceleration signals have different sampling frequencies "
            f"({', '.join(f'{s.label}: {s.sampling_frequency:g} Hz' for s in signals)}); "
            "legwatch needs one rate for x, y and z.",
            path=path,
        )
    rate_hz = rates_hz.pop()
    columns = [np.asarray(s.data, dtype=np.float64) * _factor_to_g(s, path) for s in signals]
    accel_g: NDArray[np.float64] = np.column_stack(columns)
    t_s = np.arange(accel_g.shape[0], dtype=np.float64) / rate_hz
    _checks.check_samples(t_s, accel_g, path=path)

    if start_utc is not None:
        start = _checks.check_start_utc(start_utc)
    else:
        start = _header_start(edf, path)
    nominal_hz = (
        _checks.check_rate_hz(fs_nominal_hz, name="fs_nominal_hz")
        if fs_nominal_hz is not None
        else rate_hz
    )
    try:
        return Recording(
            accel_g=accel_g,
            t_s=t_s,
            start_utc=start,
            fs_nominal_hz=nominal_hz,
            band_id=band_id if band_id is not None else path.stem,
            site=_checks.resolve_site(site) if site is not None else BodySite.LEFT_ANKLE,
        )
    except RecordingError as err:
        raise InputFileError(str(err), path=path) from err


def _open(path: Path) -> Any:
    if not path.is_file():
        raise InputFileError("file not found.", path=path)
    is_bdf = path.suffix.lower() == ".bdf"
    try:
        # edfio warns about repairs it makes (an unfinished record count, for example); the library
        # stays silent and passes them on to the log instead.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            edf: Any = (
                edfio.read_bdf(path) if is_bdf else edfio.read_edf(path, lazy_load_data=False)
            )
            reserved = str(edf.reserved).strip()
            continuous = bool(edf.is_continuous)
    except InputFileError:
        raise
    except Exception as err:  # edfio raises ValueError, struct/Unicode errors... on broken files
        kind = "BDF" if is_bdf else "EDF"
        raise InputFileError(
            f"cannot be read as {kind}: {type(err).__name__}: {err}", path=path
        ) from err
    for w in caught:
        logger.warning("%s: edfio: %s", path, w.message)
    if reserved.endswith("+D") and not continuous:
        raise InputFileError(
            f"a discontinuous {reserved} file: its data records have gaps between them, and "
            "reading them back to back would put later samples at the wrong times. Export it "
            "as EDF+C (gaps filled and annotated, e.g. with EDFbrowser) or as legwatch CSV "
            "with real times.",
            path=path,
        )
    return edf


def _normalised_label(label: str) -> str:
    without_unit = re.sub(r"[\(\[].*?[\)\]]", "", label.lower())
    return re.sub(r"[^a-z]", "", without_unit)


def _dimension(signal: Any) -> str:
    return str(signal.physical_dimension).strip().lower().replace(" ", "")


def _acceleration_signals(edf: Any, path: Path) -> list[Any]:
    signals = list(edf.signals)
    by_axis: dict[str, list[Any]] = {"x": [], "y": [], "z": []}
    for s in signals:
        match = _AXIS_LABEL.fullmatch(_normalised_label(s.label))
        if match:
            by_axis[match.group(1)].append(s)
    if all(len(found) == 1 for found in by_axis.values()):
        return [by_axis[axis][0] for axis in "xyz"]
    accelerations = [s for s in signals if _dimension(s) in _TO_G]
    if len(accelerations) == 3:
        logger.info(
            "%s: axes taken from the signals with acceleration units, in file order: %s",
            path,
            ", ".join(s.label for s in accelerations),
        )
        return accelerations
    listing = "; ".join(f"{s.label!r} [{s.physical_dimension or 'no unit'}]" for s in signals)
    ambiguous = [axis for axis, found in by_axis.items() if len(found) > 1]
    why = (
        f"several signals are labelled as axis {', '.join(ambiguous)}"
        if ambiguous
        else "no signals labelled x/y/z (accel_x, ACC X, ...) for all three axes"
    )
    raise InputFileError(
        f"cannot tell which signals are the acceleration: {why}, and {len(accelerations)} signals "
        f"(not 3) have a unit of g, mg or m/s^2. Signals: {listing or 'none'}.",
        path=path,
    )


def _factor_to_g(signal: Any, path: Path) -> float:
    dimension = _dimension(signal)
    if dimension in _TO_G:
        return _TO_G[dimension]
    logger.warning(
        "%s: signal %r has physical dimension %r; assuming g (the units check still applies).",
        path,
        signal.label,
        signal.physical_dimension,
    )
    return 1.0


def _header_start(edf: Any, path: Path) -> datetime:
    try:
        naive = edf.startdatetime
    except edfio.AnonymizedDateError:
        return _checks.default_start(path)
    except ValueError as err:
        raise InputFileError(f"the header start date/time is not valid: {err}", path=path) from err
    # EDF headers carry local wall-clock time without a zone; UTC is the only neutral choice.
    logger.info("%s: header start %s has no time zone; taken as UTC.", path, naive)
    return naive.replace(tzinfo=UTC)
