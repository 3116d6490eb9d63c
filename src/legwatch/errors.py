"""The one exception hierarchy of legwatch.

Every error a user can meet derives from :class:`LegwatchError`. Messages say what was expected,
what was received and where (parameter, file, line, sample, packet), so a person can fix the input.
"""

from __future__ import annotations

from pathlib import Path


class LegwatchError(Exception):
    """Root of every error legwatch raises on purpose."""


class ParameterError(LegwatchError, ValueError):
    """A function or command got a parameter value it cannot use."""

    def __init__(self, name: str, expected: str, got: object) -> None:
        self.name = name
        self.expected = expected
        self.got = got
        super().__init__(
            f"Invalid value for the {name!r} parameter: expected {expected}, got {got!r}."
        )


class RecordingError(LegwatchError, ValueError):
    """Arrays or metadata that do not form a valid Recording."""


class InputFileError(LegwatchError):
    """A file that cannot be read as the format it claims to be.

    ``path``, ``line`` (1-based, counting the header) and ``sample`` (0-based) are kept as
    attributes and appear in the message when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        sample: int | None = None,
    ) -> None:
        self.path = None if path is None else Path(path)
        self.line = line
        self.sample = sample
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if sample is not None:
            where.append(f"sample {sample}")
        self.reason = message
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class UnitsError(InputFileError):
    """Acceleration values that are not in g (m/s^2 or raw sensor counts, for example)."""


class PacketDecodeError(LegwatchError, ValueError):
    """Bytes from a band that are not a valid packet of the expected format."""


class AnalysisError(LegwatchError):
    """A night that cannot be analysed (too short, no overlap between bands, no signal...)."""


class StoreError(LegwatchError):
    """A recording store that cannot be opened, written or replayed."""


class ModelError(LegwatchError):
    """A model file that is missing, tampered with, or does not match this legwatch."""


class BandLinkError(LegwatchError):
    """The band link could not do what was asked (not connected, no answer, refused)."""


class DiaryError(LegwatchError):
    """A diary entry that cannot be stored as given (nothing was written)."""


class SealedEntryError(DiaryError):
    """An attempt to change, or to contradict, an evening context that is already sealed."""
