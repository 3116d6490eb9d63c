"""One entry point that picks the reader from a file's suffix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from legwatch.errors import InputFileError
from legwatch.io.csvfile import read_csv
from legwatch.io.edf import read_edf
from legwatch.recording import BodySite, Recording

Reader = Callable[..., Recording]

#: Suffix (lower case) -> reader. The native recording store (legwatch.collect's journal of raw
#: packets) joins here with its own suffix once it exists; its reader must take the same keywords.
_READERS: dict[str, Reader] = {
    ".csv": read_csv,
    ".edf": read_edf,
    ".bdf": read_edf,
}

SUPPORTED_SUFFIXES = tuple(_READERS)


def read_recording(
    path: str | Path,
    *,
    start_utc: datetime | None = None,
    band_id: str | None = None,
    site: BodySite | str | None = None,
    fs_nominal_hz: float | None = None,
) -> Recording:
    """Read a recording with the reader its suffix calls for (.csv, .edf, .bdf; any case).

    Parameters
    ----------
    path : str or Path
        The file.
    start_utc, band_id, site, fs_nominal_hz
        Passed on to the reader; they override what the file says (see read_csv, read_edf).

    Returns
    -------
    Recording

    Raises
    ------
    InputFileError
        For a suffix no reader handles (the message lists those supported), and for anything the
        chosen reader refuses.
    """
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise InputFileError(
            f"unsupported file type {path.suffix or '(no suffix)'!r}; legwatch reads "
            f"{', '.join(SUPPORTED_SUFFIXES)} (legwatch CSV, EDF/EDF+C, BDF).",
            path=path,
        )
    return reader(
        path, start_utc=start_utc, band_id=band_id, site=site, fs_nominal_hz=fs_nominal_hz
    )
