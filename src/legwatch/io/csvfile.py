"""The legwatch CSV format: ``# key=value`` metadata lines, a fixed header, one row per sample.

::

    # start_utc=2026-03-01T22:00:00+00:00
    # band_id=left-band
    # site=left_ankle
    # fs_nominal_hz=50.0
    t_s,x_g,y_g,z_g
    0.0000,0.01234,-0.02000,0.99870
    ...

Times are seconds from ``start_utc``; acceleration is in g with gravity included. The simulator and
the other readers rely on this exact layout, so it changes only with a new header.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from legwatch.errors import InputFileError, LegwatchError, ParameterError, RecordingError
from legwatch.io import _checks
from legwatch.recording import BodySite, Recording

logger = logging.getLogger(__name__)

HEADER = "t_s,x_g,y_g,z_g"
METADATA_KEYS = ("start_utc", "band_id", "site", "fs_nominal_hz")
_ROW_FORMAT = "%.4f,%.5f,%.5f,%.5f\n"
#: Rows formatted per string operation; large enough to amortise Python overhead, small enough
#: to keep one chunk's text around 4 MB.
_CHUNK_ROWS = 100_000
#: Resolution of the written times (4 decimals): consecutive samples must stay distinct at it.
_TIME_RESOLUTION_S = 1e-4


def write_csv(recording: Recording, path: str | Path) -> Path:
    """Write a recording in the legwatch CSV format, readable only by its owner (mode 0600).

    The same Recording always gives a byte-identical file: metadata lines for start_utc, band_id,
    site and fs_nominal_hz, the header ``t_s,x_g,y_g,z_g``, then rows with t_s to 4 decimals
    (0.1 ms) and x/y/z to 5 decimals (10 ug), '\\n' line endings. The file is written to a
    temporary name beside the target and renamed, so a reader never sees half a file.

    Parameters
    ----------
    recording : Recording
        The night to write. Its gaps are not stored: read_csv finds them again from t_s.
    path : str or Path
        Destination file; an existing file is replaced.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ParameterError
        If band_id cannot be stored on one metadata line or two sample times are closer than the
        0.1 ms the format keeps.
    OSError
        If the file cannot be written.
    """
    path = Path(path)
    _check_band_id_storable(recording.band_id)
    _check_times_storable(recording.t_s)
    preamble = "".join(
        f"# {key}={value}\n"
        for key, value in (
            ("start_utc", recording.start_utc.isoformat()),
            ("band_id", recording.band_id),
            ("site", recording.site.value),
            ("fs_nominal_hz", repr(recording.fs_nominal_hz)),
        )
    )
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file with mode 0600 already; fchmod states the intent and survives
        # a change of implementation.
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(preamble.encode("utf-8"))
            out.write(HEADER.encode("ascii") + b"\n")
            for chunk in _format_rows(recording.t_s, recording.accel_g):
                out.write(chunk.encode("ascii"))
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    logger.debug("wrote %d samples to %s", recording.n_samples, path)
    return path


def _format_rows(t_s: NDArray[np.float64], accel_g: NDArray[np.float64]) -> list[str]:
    # One %-format over a whole chunk runs in C; np.savetxt formats row by row in Python and is
    # several times slower for a 1.44 M-row night.
    chunks = []
    for start in range(0, t_s.size, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, t_s.size)
        block = np.column_stack((t_s[start:stop], accel_g[start:stop]))
        chunks.append((_ROW_FORMAT * (stop - start)) % tuple(block.ravel().tolist()))
    return chunks


def _check_band_id_storable(band_id: str) -> None:
    if not band_id or band_id != band_id.strip() or any(ord(c) < 32 for c in band_id):
        raise ParameterError(
            "band_id",
            "a non-empty name without line breaks, control characters or surrounding spaces "
            "(it is stored on one '# band_id=' line)",
            band_id,
        )


def _check_times_storable(t_s: NDArray[np.float64]) -> None:
    ticks = np.round(t_s / _TIME_RESOLUTION_S)
    same = np.flatnonzero(np.diff(ticks) <= 0)
    if same.size:
        i = int(same[0]) + 1
        raise ParameterError(
            "recording.t_s",
            "samples at least 0.1 ms apart (the CSV keeps 4 decimals)",
            f"samples {i - 1} and {i} at {t_s[i - 1]!r} and {t_s[i]!r} s",
        )


def read_csv(
    path: str | Path,
    *,
    start_utc: datetime | None = None,
    band_id: str | None = None,
    site: BodySite | str | None = None,
    fs_nominal_hz: float | None = None,
) -> Recording:
    """Read a legwatch CSV file into a validated Recording.

    Any rate from 10 to 400 Hz is accepted, with jitter and gaps (Recording finds gaps from t_s).
    Keyword arguments override the file's metadata lines. Without either, start_utc is
    1970-01-01T00:00Z (with a logged warning), site is left_ankle, band_id is the file's stem and
    fs_nominal_hz is the rate estimated from the median time step, snapped to a common device rate
    when within 1.5 %.

    Parameters
    ----------
    path : str or Path
        The CSV file (UTF-8; '\\n' or '\\r\\n' line endings).
    start_utc : datetime, optional
        Timezone-aware wall-clock time of t_s = 0.
    band_id : str, optional
        Identifier of the band.
    site : BodySite or str, optional
        Where the band was worn.
    fs_nominal_hz : float, optional
        The rate the band was configured for, in Hz (10-400).

    Returns
    -------
    Recording

    Raises
    ------
    InputFileError
        Naming the file, the line (1-based, counting metadata and header lines) and the sample
        (0-based) of: a missing or wrong header, a malformed metadata line, a wrong column count,
        a non-numeric, NaN or infinite value, a time that repeats or goes backwards, a clock jump
        of more than 1 h, an empty file, less than 10 s of data, or a rate outside 10-400 Hz.
    UnitsError
        If the acceleration looks like m/s^2, milli-g or raw counts rather than g.
    ParameterError
        If a keyword argument is invalid.
    """
    path = Path(path)
    text = _read_text(path)
    metadata, first_data_line, body = _split_preamble(text, path)
    samples = _parse_samples(body, path, first_data_line)
    t_s = np.ascontiguousarray(samples[:, 0])
    accel_g = np.ascontiguousarray(samples[:, 1:])
    estimated_hz = _checks.check_samples(t_s, accel_g, path=path, first_line=first_data_line)

    if start_utc is not None:
        start = _checks.check_start_utc(start_utc)
    else:
        start = metadata.start_utc or _checks.default_start(path)
    if band_id is None:
        band_id = metadata.band_id or path.stem
    body_site = _checks.resolve_site(site) if site is not None else metadata.site
    if fs_nominal_hz is not None:
        nominal_hz = _checks.check_rate_hz(fs_nominal_hz, name="fs_nominal_hz")
    else:
        nominal_hz = metadata.fs_nominal_hz or _checks.nominal_rate_hz(estimated_hz)
    if abs(nominal_hz - estimated_hz) > 0.1 * nominal_hz:
        logger.warning(
            "%s: nominal rate %g Hz differs by more than 10%% from the %.3f Hz measured in t_s.",
            path,
            nominal_hz,
            estimated_hz,
        )
    try:
        return Recording(
            accel_g=accel_g,
            t_s=t_s,
            start_utc=start,
            fs_nominal_hz=nominal_hz,
            band_id=band_id,
            site=body_site or BodySite.LEFT_ANKLE,
        )
    except RecordingError as err:
        raise InputFileError(str(err), path=path) from err


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError("file not found.", path=path) from None
    except OSError as err:
        raise InputFileError(f"cannot read the file: {err.strerror or err}.", path=path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise InputFileError(
            f"not UTF-8 text (byte {raw[err.start : err.start + 1]!r}); is this really a CSV file?",
            path=path,
            line=line,
        ) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            line = text.count("\n", 0, text.index("\r")) + 1
            raise InputFileError(
                "a lone carriage return ('\\r'); lines must end in '\\n' or '\\r\\n'.",
                path=path,
                line=line,
            )
    if not text.strip():
        raise InputFileError(
            f"the file is empty; expected metadata lines, the header {HEADER!r} and samples.",
            path=path,
        )
    return text


@dataclass
class _Metadata:
    """Values from the '# key=value' lines, and the line each came from."""

    start_utc: datetime | None = None
    band_id: str | None = None
    site: BodySite | None = None
    fs_nominal_hz: float | None = None
    lines: dict[str, int] = field(default_factory=dict)


def _split_preamble(text: str, path: Path) -> tuple[_Metadata, int, str]:
    """The metadata, the 1-based line number of the first sample, and the text of the samples."""
    metadata = _Metadata()
    pos = 0
    line_no = 0
    while True:
        line_no += 1
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        pos = len(text) if end < 0 else end + 1
        if line.startswith("#"):
            _parse_metadata_line(line, line_no, metadata, path)
            if end < 0:
                raise InputFileError(
                    f"no header line; expected {HEADER!r} after the metadata lines.",
                    path=path,
                    line=line_no + 1,
                )
            continue
        if line.strip() != HEADER:
            looks_numeric = line.strip()[:1] in set("0123456789+-.")
            hint = " (the header is missing)" if looks_numeric else ""
            raise InputFileError(
                f"expected the header line {HEADER!r}, got {_shorten(line)!r}{hint}.",
                path=path,
                line=line_no,
            )
        return metadata, line_no + 1, text[pos:]


def _parse_metadata_line(line: str, line_no: int, metadata: _Metadata, path: Path) -> None:
    key, sep, raw_value = line[1:].partition("=")
    key = key.strip()
    value = raw_value.strip()
    if not sep:
        logger.debug("%s line %d: comment without '=' ignored: %r", path, line_no, line)
        return
    if key not in METADATA_KEYS:
        logger.warning("%s line %d: unknown metadata key %r ignored.", path, line_no, key)
        return
    if key in metadata.lines:
        raise InputFileError(
            f"metadata key {key!r} appears twice (first on line {metadata.lines[key]}).",
            path=path,
            line=line_no,
        )
    try:
        if key == "start_utc":
            metadata.start_utc = _checks.check_start_utc(datetime.fromisoformat(value))
        elif key == "site":
            metadata.site = _checks.resolve_site(value)
        elif key == "fs_nominal_hz":
            metadata.fs_nominal_hz = _checks.check_rate_hz(value, name="fs_nominal_hz")
        elif value:
            metadata.band_id = value
        else:
            raise ValueError("empty band_id")
    except (ValueError, LegwatchError) as err:
        expected = {
            "start_utc": "an ISO 8601 time with an offset or Z (2026-03-01T22:00:00Z)",
            "site": "one of " + ", ".join(s.value for s in BodySite),
            "fs_nominal_hz": "a rate between 10 and 400 Hz",
            "band_id": "a non-empty name",
        }[key]
        raise InputFileError(
            f"metadata {key}={_shorten(value)!r} is not valid: expected {expected}.",
            path=path,
            line=line_no,
        ) from err
    metadata.lines[key] = line_no


def _parse_samples(body: str, path: Path, first_line: int) -> NDArray[np.float64]:
    body = body.rstrip()
    if not body:
        raise InputFileError(
            f"no samples after the header; expected rows of {HEADER}.", path=path, line=first_line
        )
    n_lines = body.count("\n") + 1
    try:
        # Bytes parse faster than a StringIO, which holds the text as 4-byte code points.
        samples = np.loadtxt(
            io.BytesIO(body.encode("utf-8")),
            encoding="utf-8",
            delimiter=",",
            dtype=np.float64,
            comments=None,
            ndmin=2,
            quotechar=None,
        )
    except (ValueError, TypeError, OverflowError) as err:
        _locate_error(body, path, first_line)
        raise InputFileError(f"cannot parse the samples: {err}", path=path) from None
    if samples.shape != (n_lines, 4):
        _locate_error(body, path, first_line)
        raise InputFileError(
            f"expected {n_lines} rows of 4 values, parsed shape {samples.shape}.", path=path
        )
    return samples


def _locate_error(body: str, path: Path, first_line: int) -> None:
    """Raise an InputFileError at the first line that is not four numbers, if there is one.

    Runs only after the fast parser failed, so its per-line cost is paid only for broken files.
    """
    for i, line in enumerate(body.split("\n")):
        fields = line.split(",")
        if len(fields) != 4:
            raise InputFileError(
                f"expected 4 comma-separated values ({HEADER}), got {len(fields)}: "
                f"{_shorten(line)!r}.",
                path=path,
                line=first_line + i,
                sample=i,
            )
        for name, value in zip(HEADER.split(","), fields, strict=True):
            try:
                float(value)
                ok = "_" not in value  # Python accepts '1_000'; the fast parser does not
            except ValueError:
                ok = False
            if not ok:
                raise InputFileError(
                    f"value {_shorten(value)!r} in column {name} is not a number.",
                    path=path,
                    line=first_line + i,
                    sample=i,
                )


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
