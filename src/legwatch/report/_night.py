"""What the report needs from a NightAnalysis, on the night's common time axis (s from its start).

Intervals from the analysis come in two frames: gaps and detection-off stretches in each band's own
time, off-body stretches already on the night's axis. Everything here is on the night's axis, so
the figures, the HTML and the exports agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta, tzinfo

import numpy as np

from legwatch.errors import ParameterError
from legwatch.nights.analysis import NightAnalysis

Interval = tuple[float, float]

#: A technique session as the caller gives it: (start_s from the night's start, duration_s, label).
Session = tuple[float, float, str]

RULE_NAMES = {"wasm2016": "WASM 2016", "aasm": "AASM"}


def rule_name(rules: str) -> str:
    """The rule set as a person reads it ("WASM 2016" for "wasm2016")."""
    return RULE_NAMES.get(rules, rules)


def check_sessions(sessions: Sequence[Session]) -> list[Session]:
    """Validate technique sessions: (start_s, duration_s > 0, label)."""
    out: list[Session] = []
    for i, s in enumerate(sessions):
        try:
            start_s, duration_s, label = s
            start_s, duration_s = float(start_s), float(duration_s)
        except (TypeError, ValueError):
            raise ParameterError(
                f"sessions[{i}]", "a (start_s, duration_s, label) tuple", s
            ) from None
        if not (np.isfinite(start_s) and np.isfinite(duration_s) and duration_s > 0):
            raise ParameterError(
                f"sessions[{i}]", "a finite start_s and a duration_s > 0 seconds", s
            )
        out.append((start_s, duration_s, str(label)))
    return out


@dataclass(frozen=True)
class BandStretches:
    """One band's stretches on the night's axis, s."""

    band_id: str
    side: str
    gaps: list[Interval]
    off_body: list[Interval]
    detection_off: list[Interval]
    span: Interval


def band_stretches(night: NightAnalysis) -> list[BandStretches]:
    """Gaps, off-body and detection-off stretches of every band, on the night's axis."""
    out = []
    for b in night.bands:
        rec, off = b.recording, b.offset_s
        out.append(
            BandStretches(
                band_id=rec.band_id,
                side=rec.side,
                gaps=[(g.start_s + off, g.end_s + off) for g in rec.gaps],
                off_body=[(float(a), float(c)) for a, c in b.off_body],
                detection_off=[(a + off, c + off) for a, c in b.detection.detection_off],
                span=(float(rec.t_s[0]) + off, float(rec.t_s[-1]) + off),
            )
        )
    return out


def clock(night: NightAnalysis, t_s: float, tz: tzinfo = UTC, fmt: str = "%H:%M") -> str:
    """Wall-clock time of a moment on the night's axis."""
    return (night.start_utc + timedelta(seconds=float(t_s))).astimezone(tz).strftime(fmt)


def zone_name(night: NightAnalysis, tz: tzinfo = UTC) -> str:
    """Name of the time zone the clock times are shown in."""
    return night.start_utc.astimezone(tz).strftime("%Z") or "UTC"
