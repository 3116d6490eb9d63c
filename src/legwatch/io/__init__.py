"""Reading and writing recordings: the legwatch CSV format, EDF/EDF+C/BDF, and one dispatcher.

Every reader returns one validated :class:`~legwatch.recording.Recording` and refuses input that is
not a plausible accelerometer night with an :class:`~legwatch.errors.InputFileError` (or
:class:`~legwatch.errors.UnitsError`) naming the file, line and sample.
"""

from legwatch.io.csvfile import read_csv, write_csv
from legwatch.io.dispatch import SUPPORTED_SUFFIXES, read_recording
from legwatch.io.edf import read_edf

__all__ = ["SUPPORTED_SUFFIXES", "read_csv", "read_edf", "read_recording", "write_csv"]
