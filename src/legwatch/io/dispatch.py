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


def _read_native(path: Path, **kw: object) -> Recording:
    # imported here: the store pulls in sqlite3 and the band codecs, which CSV users never need
    from legwatch.collect import read_night

    return read_night(path, **kw)  # type: ignore[arg-type]


#: Suffix (lower case) -> reader. ``.sqlite`` is the collector's native night store (a night
#: folder holding ``night.sqlite`` is read the same way).
_READERS: dict[str, Reader] = {
    ".csv": read_csv,
    ".edf": read_edf,
    ".bdf": read_edf,
    ".sqlite": _read_native,
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
    """Read a recording with the reader its suffix calls for (.csv, .edf, .bdf, .sqlite; any case).

    A folder holding ``night.sqlite`` (a night recorded by ``legwatch record``) is read too.

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
    if path.is_dir() and (path / "night.sqlite").exists():
        path = path / "night.sqlite"
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise InputFileError(
            f"unsupported file type {path.suffix or '(no suffix)'!r}; legwatch reads "
            f"{', '.join(SUPPORTED_SUFFIXES)} (legwatch CSV, EDF/EDF+C, BDF, a recorded night's "
            "night.sqlite or its folder).",
            path=path,
        )
    return reader(
        path, start_utc=start_utc, band_id=band_id, site=site, fs_nominal_hz=fs_nominal_hz
    )
