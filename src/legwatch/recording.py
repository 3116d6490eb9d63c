"""The validated, immutable Recording every stage downstream of the readers trusts."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from legwatch.errors import ParameterError, RecordingError

#: A step between two samples longer than this many nominal sample periods is a gap.
GAP_FACTOR = 2.5


class BodySite(StrEnum):
    """Where the band was worn."""

    LEFT_ANKLE = "left_ankle"
    RIGHT_ANKLE = "right_ankle"
    LEFT_WRIST = "left_wrist"
    RIGHT_WRIST = "right_wrist"
    OTHER = "other"

    @property
    def side(self) -> str:
        """'left', 'right' or 'unknown'."""
        return self.value.split("_")[0] if "_" in self.value else "unknown"

    @property
    def is_ankle(self) -> bool:
        return self.value.endswith("ankle")

    @classmethod
    def parse(cls, value: str | BodySite) -> BodySite:
        try:
            return cls(str(value).strip().lower().replace("-", "_").replace(" ", "_"))
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ParameterError("site", f"one of {allowed}", value) from None


@dataclass(frozen=True)
class Gap:
    """Missing data between the sample at ``start_s`` and the next one at ``end_s`` (seconds)."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def find_gaps(t_s: NDArray[np.float64], fs_hz: float) -> tuple[Gap, ...]:
    """Gaps where consecutive sample times differ by more than GAP_FACTOR nominal periods."""
    if t_s.size < 2:
        return ()
    dt = np.diff(t_s)
    idx = np.flatnonzero(dt > GAP_FACTOR / fs_hz)
    return tuple(Gap(float(t_s[i]), float(t_s[i + 1])) for i in idx)


def _frozen(a: ArrayLike, dtype: Any = np.float64) -> NDArray[Any]:
    arr = np.array(a, dtype=dtype, copy=True, order="C")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Recording:
    """One band's acceleration over a night.

    Attributes
    ----------
    accel_g : (n, 3) float array
        Acceleration in g (1 g = 9.80665 m/s^2), gravity included, in the band's own axes (which
        may point any way: nothing downstream assumes an axis).
    t_s : (n,) float array
        Sample times in seconds from ``start_utc``, strictly increasing.
    start_utc : datetime
        Timezone-aware start of the recording, normalised to UTC.
    fs_nominal_hz : float
        The rate the band was configured for. The effective rate is measured from ``t_s``.
    band_id : str
        Identifier of the band (name, address or serial).
    site : BodySite
        Where it was worn.
    gaps : tuple of Gap
        Stretches without samples; found from ``t_s`` when not given.
    """

    accel_g: NDArray[np.float64]
    t_s: NDArray[np.float64]
    start_utc: datetime
    fs_nominal_hz: float
    band_id: str = "band"
    site: BodySite = BodySite.LEFT_ANKLE
    gaps: tuple[Gap, ...] = field(default=())

    def __post_init__(self) -> None:
        accel = _frozen(self.accel_g)
        t = _frozen(self.t_s)
        if accel.ndim != 2 or accel.shape[1] != 3:
            raise RecordingError(f"accel_g must have shape (n, 3); got shape {accel.shape}.")
        if t.ndim != 1 or t.size != accel.shape[0]:
            raise RecordingError(
                f"t_s must have one time per sample ({accel.shape[0]}); got shape {t.shape}."
            )
        if t.size < 2:
            raise RecordingError(f"a recording needs at least 2 samples; got {t.size}.")
        if not np.isfinite(accel).all():
            bad = np.flatnonzero(~np.isfinite(accel).all(axis=1))
            raise RecordingError(f"accel_g sample {bad[0]} is NaN or infinite: {accel[bad[0]]}.")
        if not np.isfinite(t).all():
            bad = np.flatnonzero(~np.isfinite(t))
            raise RecordingError(f"t_s sample {bad[0]} is NaN or infinite.")
        steps = np.diff(t)
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            raise RecordingError(
                f"t_s must increase strictly; sample {i} at {float(t[i])!r} s follows "
                f"{float(t[i - 1])!r} s."
            )
        if t[0] < 0:
            raise RecordingError(f"t_s must start at or after 0 s; got {float(t[0])!r}.")
        fs = float(self.fs_nominal_hz)
        if not (1.0 <= fs <= 4000.0):
            raise ParameterError(
                "fs_nominal_hz", "a rate between 1 and 4000 Hz", self.fs_nominal_hz
            )
        start = self.start_utc
        if not isinstance(start, datetime) or start.tzinfo is None:
            raise ParameterError("start_utc", "a timezone-aware datetime", start)
        object.__setattr__(self, "accel_g", accel)
        object.__setattr__(self, "t_s", t)
        object.__setattr__(self, "fs_nominal_hz", fs)
        object.__setattr__(self, "start_utc", start.astimezone(UTC))
        object.__setattr__(self, "site", BodySite.parse(self.site))
        object.__setattr__(self, "band_id", str(self.band_id))
        gaps = tuple(self.gaps) if self.gaps else find_gaps(t, fs)
        for g in gaps:
            if not (t[0] <= g.start_s < g.end_s <= t[-1]):
                raise RecordingError(
                    f"gap {g.start_s}-{g.end_s} s lies outside the recording {t[0]}-{t[-1]} s."
                )
        object.__setattr__(self, "gaps", gaps)

    # -- derived facts ------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return int(self.t_s.size)

    @property
    def duration_s(self) -> float:
        """Time from the first to the last sample, gaps included."""
        return float(self.t_s[-1] - self.t_s[0])

    @property
    def gap_s(self) -> float:
        """Total time inside gaps."""
        return float(sum(g.duration_s for g in self.gaps))

    @property
    def fs_effective_hz(self) -> float:
        """Samples per second measured over the stretches without gaps."""
        covered = self.duration_s - self.gap_s
        steps = self.n_samples - 1 - len(self.gaps)
        return float(steps / covered) if covered > 0 and steps > 0 else self.fs_nominal_hz

    @property
    def side(self) -> str:
        """'left', 'right' or 'unknown', from the body site."""
        return self.site.side

    def time_utc(self, t_s: float) -> datetime:
        """The wall-clock time of a moment given in seconds from the start."""
        from datetime import timedelta

        return self.start_utc + timedelta(seconds=float(t_s))

    def between(self, start_s: float, end_s: float) -> Recording:
        """The samples with start_s <= t < end_s, times kept relative to the same start."""
        i0, i1 = np.searchsorted(self.t_s, [start_s, end_s])
        if i1 - i0 < 2:
            raise RecordingError(f"fewer than 2 samples between {start_s} s and {end_s} s.")
        t = self.t_s[i0:i1]
        return replace(
            self,
            accel_g=self.accel_g[i0:i1],
            t_s=t,
            gaps=tuple(g for g in self.gaps if g.start_s >= t[0] and g.end_s <= t[-1]),
        )

    def scaled(self, factor: float) -> Recording:
        """The same recording with every sample multiplied by ``factor`` (a gain correction).

        Times, gaps and the rest were checked when this recording was made and are kept as
        they are; only the new samples are checked (a whole night is not validated again).
        """
        if not (np.isfinite(factor) and factor > 0):
            raise ParameterError("factor", "a positive finite number", factor)
        with np.errstate(over="ignore"):  # said below, with the factor
            accel = self.accel_g * float(factor)
        if not np.isfinite(accel).all():
            raise RecordingError(f"scaling by {factor!r} overflows some samples.")
        accel.setflags(write=False)
        out = copy.copy(self)
        object.__setattr__(out, "accel_g", accel)
        return out

    def __repr__(self) -> str:
        return (
            f"Recording(band_id={self.band_id!r}, site={self.site.value}, n={self.n_samples}, "
            f"duration={self.duration_s / 3600:.2f} h, fs={self.fs_effective_hz:.2f} Hz "
            f"(nominal {self.fs_nominal_hz:g}), start={self.start_utc.isoformat()}, "
            f"gaps={len(self.gaps)})"
        )
