"""One night's analysis: recordings -> checks -> calibration -> detection -> scoring -> indices.

:func:`analyze_night` is the one orchestrator; :class:`NightAnalysis` holds the result and writes
the ``legwatch.night/1`` JSON documented in the README. It runs in two stages that can be called
apart: :func:`detect_night` (checks, calibration, detection: the costly part, and independent
of the event model) and :func:`analyze_detected` (the event model, the rules and the indices).
A benchmark comparing several models detects a night once and analyses it once per model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from legwatch.errors import AnalysisError, ParameterError
from legwatch.events import EventTable
from legwatch.intervals import Interval, inside, intersect, subtract, total
from legwatch.recording import Recording
from legwatch.scoring import BRIDGE_GAP_S, Scoring, get_rules, rate_per_h, score_leg_movements
from legwatch.signal.detect import Detection, detect_movements
from legwatch.signal.params import DetectorParams

if TYPE_CHECKING:  # the model package loads only when a model is used, as before
    from legwatch.model.features import OtherBand

log = logging.getLogger(__name__)

SCHEMA = "legwatch.night/1"

#: Shortest night legwatch analyses, s: below this an hourly rate means nothing.
MIN_NIGHT_S = 600.0
#: A still stretch at least this long, with no breathing micro-motion, is the band off the body, s.
OFF_BODY_MIN_S = 180.0
#: Off-body test: standard deviation of the 1 s mean orientation over a minute, mg. On the body,
#: breathing alone (1-10 mg at the ankle, sensing.md) moves it by more than this; on a table only
#: sensor noise averaged over 1 s remains (~0.1 mg).
OFF_BODY_STD_MG = 0.3
#: Share of samples at one full-scale value above which a stretch is called saturated.
SATURATION_SHARE = 0.001

PERIODICITY_DEFINITION = (
    "Ferri 2006 (as in informaton/sev): share of inter-movement intervals that are 10-90 s and sit "
    "in a run of >= 3 consecutive such intervals, over all intervals"
)


# -- input checks ------------------------------------------------------------------------------
def _check_recording(rec: Recording) -> tuple[float, list[str]]:
    """Refuse what cannot be analysed; return the static gain correction and warnings."""
    warnings: list[str] = []
    where = f"band {rec.band_id!r} ({rec.site.value})"
    if rec.duration_s < MIN_NIGHT_S:
        raise AnalysisError(
            f"{where}: the recording lasts {rec.duration_s / 60:.1f} min; legwatch needs at least "
            f"{MIN_NIGHT_S / 60:.0f} min to give a rate per hour."
        )
    a = rec.accel_g
    if not np.any(a):
        raise AnalysisError(f"{where}: every sample is zero; the sensor recorded nothing.")
    if np.array_equal(a, np.broadcast_to(a[0], a.shape)):
        raise AnalysisError(
            f"{where}: the signal never changes (constant {a[0].tolist()} g); the band was not "
            "sensing. Check the band and re-record."
        )
    x, y, z = a[:, 0], a[:, 1], a[:, 2]
    mag = np.sqrt(x * x + y * y + z * z)  # the squares added x, y, z, as a row sum adds them
    med = float(np.median(mag))
    if not 0.5 <= med <= 2.0:
        raise AnalysisError(
            f"{where}: the median acceleration magnitude is {med:.3g}; a band at rest reads about "
            "1 g. The values are probably not in g (m/s^2 would read ~9.8, raw counts hundreds "
            "or thousands): convert them to g."
        )
    # saturation: many samples sitting exactly at the largest magnitude on an axis
    peak = max(float(a.max()), -float(a.min()))
    at_peak = np.zeros(0, dtype=bool)
    if peak > 1.5:
        top = peak * (1 - 1e-9)
        at_peak = (np.abs(x) >= top) | (np.abs(y) >= top) | (np.abs(z) >= top)
    if at_peak.size and at_peak.mean() > SATURATION_SHARE:
        idx = np.flatnonzero(at_peak)
        warnings.append(
            f"{where}: {idx.size} samples sit at full scale ({peak:.2f} g), first at "
            f"{rec.t_s[idx[0]]:.1f} s and last at {rec.t_s[idx[-1]]:.1f} s: movements there were "
            "clipped, their peaks are too low."
        )
    gain = 1.0 / med
    if abs(gain - 1.0) > 0.05:
        warnings.append(
            f"{where}: gravity reads {med:.3f} g; values were rescaled by {gain:.3f} so that rest "
            "reads 1 g (a band's sensitivity error)."
        )
    return gain, warnings


def _off_body(det: Detection) -> list[Interval]:
    """Stretches where the band lay still off the body (no breathing micro-motion)."""
    env = det.envelope
    if env.t_s.size == 0:
        return []
    sec = np.floor(env.t_s).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, np.diff(sec) != 0])
    counts = np.diff(np.r_[starts, sec.size])
    means = np.add.reduceat(env.lp_g.astype(np.float64), starts, axis=0) / counts[:, None]
    secs = sec[starts]
    win = 60
    if secs.size < win:
        return []
    # per minute-long window: std of the 1 s means, as a vector magnitude, mg
    view = np.lib.stride_tricks.sliding_window_view(means, win, axis=0)  # (m, 3, win)
    # Values spread over a range r have a std of at least r / sqrt(2 win) (two of them at the
    # ends, the rest at the mean): windows whose range on some axis rules out stillness are not
    # computed. The std of the others is numpy's, window by window.
    hi = ndimage.maximum_filter1d(means, win, axis=0, mode="nearest")
    lo = ndimage.minimum_filter1d(means, win, axis=0, mode="nearest")
    c = win // 2  # the filters centre a window of ``win`` on its element ``win // 2``
    span_mg = (hi - lo)[c : c + view.shape[0]] * 1000.0
    cand = np.flatnonzero((span_mg < 1.001 * OFF_BODY_STD_MG * np.sqrt(2 * win)).all(axis=1))
    std = np.full(view.shape[0], np.inf)
    std[cand] = np.sqrt((view[cand].std(axis=-1) ** 2).sum(axis=1)) * 1000.0
    contiguous = (secs[win - 1 :] - secs[: secs.size - win + 1]) == win - 1
    still = np.zeros(secs.size, dtype=bool)
    for i in np.flatnonzero((std < OFF_BODY_STD_MG) & contiguous):
        still[i : i + win] = True
    out: list[Interval] = []
    edges = np.flatnonzero(np.diff(np.r_[0, still.astype(np.int8), 0]))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        t0, t1 = float(secs[a]), float(secs[b - 1] + 1)
        if t1 - t0 >= OFF_BODY_MIN_S:
            out.append((t0, t1))
    return out


# -- the analysis ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BandResult:
    """What one band contributed."""

    recording: Recording
    detection: Detection
    gain_correction: float
    offset_s: float  # this band's t = 0 on the night's common time axis
    off_body: list[Interval]
    analysable: list[Interval]

    @property
    def side(self) -> str:
        return self.recording.side


@dataclass(frozen=True)
class DetectedNight:
    """One night after detection, before the event model and the rules (:func:`detect_night`).

    ``features(i)`` gives the event features of band ``i``, computed on first use and kept: they
    depend on the detections and the samples alone, so every model that classifies this night
    reads the same rows.
    """

    start_utc: datetime
    bands: list[BandResult]
    warnings: list[str]
    params: DetectorParams = field(repr=False)
    _features: dict[int, NDArray[np.float64]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def other_band(self, i: int) -> OtherBand | None:
        """The night's other band as band ``i``'s features see it (None with one band)."""
        from legwatch.model.features import OtherBand

        band = self.bands[i]
        others = [
            OtherBand(o.detection, o.offset_s - band.offset_s) for o in self.bands if o is not band
        ]
        return others[0] if others else None

    def features(self, i: int) -> NDArray[np.float64]:
        """The event features of band ``i`` (legwatch.model.features), computed once."""
        if i not in self._features:
            from legwatch.model.features import event_features

            band = self.bands[i]
            self._features[i] = event_features(band.detection, band.recording, self.other_band(i))
        return self._features[i]


@dataclass(frozen=True)
class NightAnalysis:
    """One analysed night (one or two ankle bands)."""

    start_utc: datetime
    duration_s: float
    rules: str
    denominator: str
    in_bed: list[Interval]
    analysable: list[Interval]
    bands: list[BandResult]
    scoring: Scoring
    leg_movements: EventTable
    spasms: EventTable
    other_movements: EventTable
    indices: dict[str, Any]
    warnings: list[str]
    params: DetectorParams = field(repr=False)
    #: name, version and file hash of the event classifier used (None: rules alone)
    event_model: dict[str, str] | None = None

    @property
    def analysable_s(self) -> float:
        return total(self.analysable)

    def to_dict(self) -> dict[str, Any]:
        """The ``legwatch.night/1`` document (see README)."""
        from legwatch import __version__

        def iv(x: Sequence[Interval]) -> list[list[float]]:
            return [[round(a, 3), round(b, 3)] for a, b in x]

        mv = self.scoring.movements
        lms = []
        for i in range(len(mv)):
            row = {
                "onset_s": round(float(mv.onset_s[i]), 3),
                "duration_s": round(float(mv.duration_s[i]), 3),
                "side": str(mv.side[i]),
                "peak_g": round(float(self.leg_movements.props["peak_g"][i]), 4),
                "in_series": bool(mv.props["in_series"][i]),
                "is_clm": bool(mv.props["is_clm"][i]),
            }
            if "p_lm" in self.leg_movements.props:
                row["p_lm"] = round(float(self.leg_movements.props["p_lm"][i]), 4)
            lms.append(row)

        def model_props(r: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            if "rule_kind" in r:
                out["rule_kind"] = str(r["rule_kind"])
            out.update({k: round(float(v), 4) for k, v in r.items() if k.startswith("p_")})
            return out

        other = [
            {
                "onset_s": round(float(r["onset_s"]), 3),
                "duration_s": round(float(r["duration_s"]), 3),
                "kind": r["kind"],
                "side": r["side"],
                "peak_g": round(float(r["peak_mg"]) / 1000.0, 4),
                **model_props(r),
            }
            for r in self.other_movements.records()
        ]
        spasms = [
            {
                "onset_s": round(float(r["onset_s"]), 3),
                "duration_s": round(float(r["duration_s"]), 3),
                "side": r["side"],
                "peak_g": round(float(r["peak_mg"]) / 1000.0, 4),
                **model_props(r),
            }
            for r in self.spasms.records()
        ]
        series = [
            {
                "onset_s": round(float(r["onset_s"]), 3),
                "end_s": round(float(r["onset_s"] + r["duration_s"]), 3),
                "n": int(r["n"]),
                "side": r["side"],
            }
            for r in self.scoring.series.records()
        ]
        bands = []
        gaps: list[dict[str, Any]] = []
        off_body: list[dict[str, Any]] = []
        detection_off: list[dict[str, Any]] = []
        floors: list[dict[str, Any]] = []
        gains: list[dict[str, Any]] = []
        for b in self.bands:
            rec = b.recording
            bands.append(
                {
                    "band_id": rec.band_id,
                    "site": rec.site.value,
                    "side": rec.side,
                    "start_utc": rec.start_utc.isoformat(),
                    "offset_s": round(b.offset_s, 3),
                    "n_samples": rec.n_samples,
                    "fs_nominal_hz": rec.fs_nominal_hz,
                    "fs_effective_hz": round(rec.fs_effective_hz, 4),
                    "gain_correction": round(b.gain_correction, 4),
                    "analysable_s": round(total(b.analysable), 3),
                }
            )
            gaps += [
                {
                    "band_id": rec.band_id,
                    "start_s": round(g.start_s + b.offset_s, 3),
                    "end_s": round(g.end_s + b.offset_s, 3),
                }
                for g in rec.gaps
            ]
            off_body += [
                {"band_id": rec.band_id, "start_s": round(a, 3), "end_s": round(c, 3)}
                for a, c in b.off_body
            ]
            detection_off += [
                {
                    "band_id": rec.band_id,
                    "start_s": round(a + b.offset_s, 3),
                    "end_s": round(c + b.offset_s, 3),
                    "reason": "noise floor too high",
                }
                for a, c in b.detection.detection_off
            ]
            fl = b.detection.envelope.floor_mg
            fl = fl[np.isfinite(fl)]
            floors.append(
                {
                    "band_id": rec.band_id,
                    "median_mg": round(float(np.median(fl)), 3) if fl.size else None,
                    "p95_mg": round(float(np.percentile(fl, 95)), 3) if fl.size else None,
                }
            )
            gains.append(
                {"band_id": rec.band_id, "end_of_night": round(b.detection.movement_gain, 3)}
            )
        return {
            "schema": SCHEMA,
            "legwatch_version": __version__,
            "rules": self.rules,
            "denominator": {"label": self.denominator, "hours": round(self.analysable_s / 3600, 4)},
            "start_utc": self.start_utc.isoformat(),
            "recording_s": round(self.duration_s, 3),
            "analysable_s": round(self.analysable_s, 3),
            "bands": bands,
            "in_bed": iv(self.in_bed),
            "analysable": iv(self.analysable),
            "leg_movements": lms,
            "other_movements": other,
            "spasms": spasms,
            "series": series,
            "indices": _round_floats(self.indices),
            "imi_histogram": _round_floats(self.scoring.to_dict()["imi_histogram"]),
            "quality": {
                "noise_floor": floors,
                "movement_gain": gains,
                "gaps": gaps,
                "gap_s": round(sum(g["end_s"] - g["start_s"] for g in gaps), 3),
                "off_body": off_body,
                "detection_off": detection_off,
                "warnings": list(self.warnings),
            },
            "parameters": {
                "event_model": self.event_model,
                "detector": self.params.to_dict(),
                "rules": self.scoring.to_dict()["rule_parameters"],
            },
        }

    def to_json(self) -> str:
        """Deterministic JSON text: the same input gives the same bytes."""
        return json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"

    def summary(self) -> str:
        """A few plain lines for a person."""
        ix = self.indices
        h = self.analysable_s / 3600
        sides = ", ".join(f"{b.recording.band_id} ({b.recording.site.value})" for b in self.bands)
        lines = [
            f"Night of {self.start_utc:%Y-%m-%d %H:%M} UTC, bands: {sides}",
            f"Analysable time in bed: {h:.2f} h of {self.duration_s / 3600:.2f} h recorded",
            f"Leg movements: {ix['n_lm']} ({ix['lm_per_h']:.1f}/h); "
            f"periodic (PLM): {ix['n_plm']} in {ix['n_series']} series ({ix['plm_per_h']:.1f}/h)",
            f"Spasms: {ix['n_spasms']} ({ix['spasms_per_h']:.1f}/h); periodicity index "
            f"{_fmt(ix['periodicity_index'])}",
            f"Rules: {self.rules}; rates are per hour of {self.denominator}.",
        ]
        if self.warnings:
            lines.append(f"Warnings ({len(self.warnings)}):")
            lines += [f"  - {w}" for w in self.warnings]
        return "\n".join(lines)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.2f}"


def _round_floats(obj: Any) -> Any:
    if isinstance(obj, float):
        return None if not np.isfinite(obj) else round(obj, 6)
    if isinstance(obj, dict):
        return {k: _round_floats(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_round_floats(v) for v in obj]
    if isinstance(obj, np.generic):
        return _round_floats(obj.item())
    return obj


def _peaks_for(
    scored: EventTable, lms: EventTable, column: str = "peak_mg", scale: float = 1e-3
) -> NDArray[np.float64]:
    """Largest ``column`` (times ``scale``) of the detected LMs overlapping each scored movement
    (the peak in g by default)."""
    peaks = np.zeros(len(scored))
    if not len(lms):
        return peaks
    on, off = lms.onset_s, lms.offset_s
    pk = lms.props[column].astype(np.float64) * scale
    for i in range(len(scored)):
        a, b = scored.onset_s[i], scored.onset_s[i] + scored.duration_s[i]
        hit = (on < b + 1e-6) & (off > a - 1e-6)
        peaks[i] = float(pk[hit].max()) if hit.any() else 0.0
    return peaks


def analyze_night(
    recordings: Recording | Sequence[Recording] | Mapping[str, Recording],
    *,
    rules: str = "wasm2016",
    sleep: tuple[datetime, datetime] | None = None,
    params: DetectorParams | None = None,
    model: Any = "default",
) -> NightAnalysis:
    """Analyse one night from one band or two (left and right ankle).

    Parameters
    ----------
    recordings : Recording, or several (a list, or a mapping side -> Recording)
        Ankle recordings of the same night. Two bands must overlap in time and sit on different
        sides.
    rules : str
        "wasm2016" (default) or "aasm".
    sleep : (datetime, datetime), optional
        Time in bed from a diary (timezone-aware). Without it, the whole recording minus off-body
        time is taken as in bed.
    params : DetectorParams, optional
        Detector parameters (defaults documented in legwatch.signal.params).
    model : EventModel, "default" or None
        The event classifier that relabels what the rules detected (legwatch.model): "default"
        is the shipped model (models/), None gives the rules alone.
    """
    get_rules(rules)  # fails early on an unknown rule set, before the costly detection
    return analyze_detected(
        detect_night(recordings, params=params), rules=rules, sleep=sleep, model=model
    )


def detect_night(
    recordings: Recording | Sequence[Recording] | Mapping[str, Recording],
    *,
    params: DetectorParams | None = None,
) -> DetectedNight:
    """The first stage of :func:`analyze_night`: check, calibrate and detect every band.

    Parameters
    ----------
    recordings : Recording, or several (a list, or a mapping side -> Recording)
        As for :func:`analyze_night`.
    params : DetectorParams, optional
        Detector parameters (defaults documented in legwatch.signal.params).
    """
    params = params or DetectorParams()
    if isinstance(recordings, Recording):
        recs = [recordings]
    elif isinstance(recordings, Mapping):
        recs = list(recordings.values())
    else:
        recs = list(recordings)
    if not 1 <= len(recs) <= 2:
        raise ParameterError("recordings", "one or two ankle recordings", f"{len(recs)} recordings")
    if len(recs) == 2 and recs[0].side == recs[1].side:
        raise ParameterError(
            "recordings", "two bands on different sides (left and right ankle)", recs[0].side
        )
    start = min(r.start_utc for r in recs)
    warnings: list[str] = []
    bands: list[BandResult] = []
    for rec in recs:
        gain, w = _check_recording(rec)
        warnings += w
        if abs(gain - 1.0) > 1e-3:
            rec = rec.scaled(gain)
        det = detect_movements(rec, params)
        offset = (rec.start_utc - start).total_seconds()
        off_body = [(a + offset, b + offset) for a, b in _off_body(det)]
        span = [(float(rec.t_s[0]) + offset, float(rec.t_s[-1]) + offset)]
        holes = [(g.start_s + offset, g.end_s + offset) for g in rec.gaps]
        holes += [(a + offset, b + offset) for a, b in det.detection_off]
        analysable = subtract(span, holes + off_body)
        for a, b in off_body:
            warnings.append(
                f"band {rec.band_id!r} looked off the body from {_clock(start, a)} to "
                f"{_clock(start, b)} ({(b - a) / 60:.0f} min): left out of the counts and hours."
            )
        long_off = [(a, b) for a, b in det.detection_off if b - a >= 60.0]
        short_off = [(a, b) for a, b in det.detection_off if b - a < 60.0]
        for a, b in long_off:
            warnings.append(
                f"band {rec.band_id!r}: too much motion to detect leg movements from "
                f"{_clock(start, a + offset)} to {_clock(start, b + offset)}."
            )
        if short_off:
            warnings.append(
                f"band {rec.band_id!r}: detection was off for {len(short_off)} short stretches "
                f"({total(short_off):.0f} s in all) right after large movements; that time is "
                "left out of the hours."
            )
        if det.movement_gain <= det.params.gain.min_gain:
            warnings.append(
                f"band {rec.band_id!r} picked up small leg movements tonight (movement "
                f"pick-up {det.movement_gain:.2f}, the lowest legwatch adjusts for): the "
                "movements were small, or the strap was loose. The smallest may have been "
                "missed."
            )
        bands.append(BandResult(rec, det, gain, offset, off_body, analysable))
    return DetectedNight(start, bands, warnings, params)


def analyze_detected(
    detected: DetectedNight,
    *,
    rules: str = "wasm2016",
    sleep: tuple[datetime, datetime] | None = None,
    model: Any = "default",
) -> NightAnalysis:
    """The second stage of :func:`analyze_night`: the event model, the rules and the indices of
    a night from :func:`detect_night` (which it does not change; arguments as for
    :func:`analyze_night`)."""
    rule_set = get_rules(rules)
    start, params = detected.start_utc, detected.params
    warnings = list(detected.warnings)
    bands = list(detected.bands)
    event_model = None
    if model is not None:
        from legwatch.model.classifier import default_model, relabel_detection

        if isinstance(model, str) and model != "default":
            raise ParameterError("model", "'default', None or a loaded EventModel", model)
        event_model = default_model() if isinstance(model, str) else model
        relabelled = []
        for i, band in enumerate(bands):
            det = relabel_detection(
                band.detection,
                band.recording,
                event_model,
                other=detected.other_band(i),
                features=detected.features(i),
            )
            relabelled.append(replace(band, detection=det))
        bands = relabelled
    analysable = bands[0].analysable
    for other_band in bands[1:]:
        analysable = intersect(analysable, other_band.analysable)
    if len(bands) == 2 and not analysable:
        raise AnalysisError(
            "the two recordings do not overlap in time: "
            + "; ".join(
                f"{b.recording.band_id} {_clock(start, b.offset_s)}-"
                f"{_clock(start, b.offset_s + b.recording.t_s[-1])}"
                for b in bands
            )
        )
    span_all = (0.0, max(b.offset_s + float(b.recording.t_s[-1]) for b in bands))
    if sleep is not None:
        s0, s1 = ((x - start).total_seconds() for x in sleep)
        if s1 <= s0:
            raise ParameterError("sleep", "an end after the start", f"{sleep[0]} - {sleep[1]}")
        in_bed = intersect([span_all], [(s0, s1)])
        if not in_bed:
            raise AnalysisError(
                f"the time in bed {sleep[0]:%H:%M}-{sleep[1]:%H:%M} does not overlap the recording."
            )
        denominator = "analysable time in bed (between the bed times given)"
    else:
        in_bed = [span_all]
        denominator = "analysable time in bed (the whole recording, band on)"
    in_bed = subtract(in_bed, [iv for b in bands for iv in b.off_body])
    analysable = intersect(analysable, in_bed)
    if total(analysable) <= 0:
        raise AnalysisError("no analysable time left (band off, gaps, or outside the time in bed).")

    def shifted(t: EventTable, offset: float) -> EventTable:
        return EventTable(t.onset_s + offset, t.duration_s, t.kind, t.side, t.props)

    events = EventTable.concat([shifted(b.detection.events, b.offset_s) for b in bands])
    in_time = inside(events.onset_s, analysable)
    lm_detected = events.subset((events.kind == "lm") & in_time)
    scoring = score_leg_movements(
        lm_detected, analysable, rules=rule_set, denominator=denominator, bridge_gap_s=BRIDGE_GAP_S
    )
    peaks = _peaks_for(scoring.movements, lm_detected)
    scored = scoring.movements.with_props(peak_g=peaks)
    if "p_lm" in lm_detected.props:
        scored = scored.with_props(
            p_lm=_peaks_for(scoring.movements, lm_detected, column="p_lm", scale=1.0)
        )
    spasms = events.subset((events.kind == "spasm") & in_time)
    other = events.subset(~np.isin(events.kind, ["lm", "spasm"]) & in_time)
    exposure_h = total(analysable) / 3600.0
    half = scoring.half_split_s
    first_h = total(intersect(analysable, [(-np.inf, half)])) / 3600.0
    second_h = exposure_h - first_h
    n_first = int((spasms.onset_s < half).sum())
    indices: dict[str, Any] = dict(scoring.indices)
    indices["n_spasms"] = len(spasms)
    indices["spasms_per_h"] = rate_per_h(len(spasms), exposure_h)
    indices["spasms_per_h_first_half"] = rate_per_h(n_first, first_h) if first_h > 0 else None
    indices["spasms_per_h_second_half"] = (
        rate_per_h(len(spasms) - n_first, second_h) if second_h > 0 else None
    )
    indices["periodicity_definition"] = PERIODICITY_DEFINITION
    indices["first_half"] = {
        k.removesuffix("_first_half"): indices[k]
        for k in list(indices)
        if k.endswith("_first_half")
    }
    indices["second_half"] = {
        k.removesuffix("_second_half"): indices[k]
        for k in list(indices)
        if k.endswith("_second_half")
    }
    if total(analysable) < 4 * 3600:
        warnings.append(
            f"only {total(analysable) / 3600:.1f} h analysable: "
            "rates from a short night vary a lot."
        )
    return NightAnalysis(
        start_utc=start,
        duration_s=span_all[1],
        rules=rule_set.name,
        denominator=denominator,
        in_bed=in_bed,
        analysable=analysable,
        bands=bands,
        scoring=scoring,
        leg_movements=scored,
        spasms=spasms,
        other_movements=other,
        indices=indices,
        warnings=warnings,
        params=params,
        event_model=None
        if event_model is None
        else {
            "name": str(event_model.sidecar.get("name", "")),
            "version": event_model.version,
            "file_sha256": str(event_model.sidecar.get("file_sha256", "")),
        },
    )


def _clock(start: datetime, t_s: float) -> str:
    return (start + timedelta(seconds=float(t_s))).strftime("%H:%M")
