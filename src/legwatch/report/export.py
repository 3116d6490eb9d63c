"""Exports of an analysed night for other tools: EDF+C (signals and events) and a CSV event table.

EDF+C needs every signal on a uniform grid without holes, so each band's samples are linearly
interpolated onto a grid at the band's nominal rate on the night's common time axis; time with no
data (gaps, before a band starts or after it ends, and the padding of the last data record) is
filled with zeros and annotated "gap <side>". The original, possibly jittered sample times are
not kept; the values at the grid times are the linear interpolation of the original samples.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import edfio
import numpy as np
from numpy.typing import NDArray

from legwatch.errors import ParameterError
from legwatch.nights.analysis import NightAnalysis
from legwatch.recording import Recording
from legwatch.report._night import Session, band_stretches, check_sessions

log = logging.getLogger(__name__)

#: Full scales of common MEMS accelerometers (ADXL345/362, LIS3DH, BMI160/270, LSM6: +/-2, 4, 8,
#: 16 g), mg. The EDF physical range is the smallest that holds the data, so a reader sees the
#: band's own range.
STANDARD_RANGES_MG = (2000.0, 4000.0, 8000.0, 16000.0)
#: EDF 16-bit digital range, symmetric so that 0 mg (the gap fill) is stored exactly.
DIGITAL_RANGE = (-32767, 32767)
#: Data record durations tried, shortest first, s (EDF needs whole samples per record).
RECORD_DURATIONS_S = (1.0, 2.0, 4.0, 5.0, 8.0, 10.0, 20.0, 25.0, 40.0, 50.0, 100.0)
AXES = ("X", "Y", "Z")


@dataclass(frozen=True)
class EdfExport:
    """What :func:`export_edf` wrote: file, physical range (mg), data record duration (s) and
    the number of annotations."""

    path: Path
    range_mg: float
    record_s: float
    n_annotations: int

    @property
    def step_mg(self) -> float:
        """One quantisation step of the written signals, mg."""
        return 2.0 * self.range_mg / (DIGITAL_RANGE[1] - DIGITAL_RANGE[0])


def _as_list(
    recordings: Recording | Sequence[Recording] | Mapping[str, Recording],
) -> list[Recording]:
    if isinstance(recordings, Recording):
        return [recordings]
    if isinstance(recordings, Mapping):
        return list(recordings.values())
    return list(recordings)


def _record_duration(rates_hz: Sequence[float]) -> float:
    for d in RECORD_DURATIONS_S:
        if all(abs(fs * d - round(fs * d)) < 1e-9 for fs in rates_hz):
            return d
    raise ParameterError(
        "recordings",
        "nominal rates that give a whole number of samples in a data record of at most "
        f"{RECORD_DURATIONS_S[-1]:g} s",
        list(rates_hz),
    )


def _choose_range_mg(recordings: Sequence[Recording], range_mg: float | None) -> float:
    peak_mg = max(float(np.abs(r.accel_g).max()) for r in recordings) * 1000.0
    if range_mg is not None:
        if not (math.isfinite(range_mg) and range_mg >= peak_mg and range_mg > 0):
            raise ParameterError(
                "range_mg",
                f"a full scale in mg at least the data's peak ({peak_mg:.1f} mg)",
                range_mg,
            )
        return float(range_mg)
    for r in STANDARD_RANGES_MG:
        if peak_mg <= r:
            return r
    return float(math.ceil(peak_mg / 1000.0) * 1000.0)


def _on_grid(
    rec: Recording, offset_s: float, fs_hz: float, n: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The recording's acceleration (mg, (3, n)) on the grid k / fs_hz of the night's axis, and
    which grid points had data (inside the recording and not inside a gap)."""
    tau = np.arange(n) / fs_hz - offset_s  # grid times in the band's own time
    t = rec.t_s
    valid = (tau >= t[0]) & (tau <= t[-1])
    if rec.gaps:
        g0 = np.array([g.start_s for g in rec.gaps])
        g1 = np.array([g.end_s for g in rec.gaps])
        k = np.searchsorted(g0, tau, side="right") - 1  # last gap starting at or before tau
        in_gap = (k >= 0) & (tau > g0[np.maximum(k, 0)]) & (tau < g1[np.maximum(k, 0)])
        valid &= ~in_gap
    out = np.zeros((3, n))
    for axis in range(3):
        out[axis, valid] = np.interp(tau[valid], t, rec.accel_g[:, axis]) * 1000.0
    return out, valid


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Index runs [i, j) where mask is True."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _event_annotations(
    night: NightAnalysis, sessions: Sequence[Session]
) -> list[edfio.EdfAnnotation]:
    out: list[edfio.EdfAnnotation] = []
    mv = night.leg_movements
    in_series = np.asarray(mv.props.get("in_series", np.zeros(len(mv), bool)), dtype=bool)
    for i in range(len(mv)):
        text = f"LM {mv.side[i]}" + (" in PLM series" if in_series[i] else "")
        out.append(edfio.EdfAnnotation(float(mv.onset_s[i]), float(mv.duration_s[i]), text))
    se = night.scoring.series
    for i in range(len(se)):
        text = f"PLM series {se.side[i]} n={int(se.props['n'][i])}"
        out.append(edfio.EdfAnnotation(float(se.onset_s[i]), float(se.duration_s[i]), text))
    sp = night.spasms
    for i in range(len(sp)):
        out.append(
            edfio.EdfAnnotation(
                float(sp.onset_s[i]), float(sp.duration_s[i]), f"spasm {sp.side[i]}"
            )
        )
    for start_s, duration_s, label in sessions:
        out.append(edfio.EdfAnnotation(start_s, duration_s, f"technique: {label}"))
    for st in band_stretches(night):
        for a, b in st.off_body:
            out.append(edfio.EdfAnnotation(a, b - a, f"off body {st.side}"))
        for a, b in st.detection_off:
            out.append(edfio.EdfAnnotation(a, b - a, f"detection off {st.side}"))
    return out


def export_edf(
    night: NightAnalysis,
    recordings: Recording | Sequence[Recording] | Mapping[str, Recording],
    path: str | Path,
    *,
    sessions: Sequence[Session] = (),
    range_mg: float | None = None,
) -> EdfExport:
    """Write the night as EDF+C: acceleration in mg plus an annotation for every event.

    Parameters
    ----------
    night : NightAnalysis
        The analysed night; its start is the file's start (EDF has no time zone: UTC is written).
    recordings : Recording, or several (list, or mapping side -> Recording)
        The recordings the night was analysed from (as read, before any gain correction). Each
        must be one of the night's bands (matched by band id).
    path : str or Path
        The .edf file to write.
    sessions : sequence of (start_s, duration_s, label)
        Technique sessions to annotate (s from the night's start).
    range_mg : float, optional
        Physical full scale, mg (the signals span -range_mg..+range_mg). Default: the smallest of
        +/-2, 4, 8, 16 g that holds the data.

    Returns
    -------
    EdfExport
        The path, the full scale (mg), the data record duration (s) and the annotation count.

    Notes
    -----
    Channels are "Accel X <side>" etc. in mg, sampled at each band's nominal rate on the night's
    axis (linear interpolation of the original samples). Annotations: "LM <side>" (with " in PLM
    series" when it belongs to one), "PLM series <side> n=<n>", "spasm <side>", "technique:
    <label>", "gap <side>", "off body <side>", "detection off <side>"; onsets in s from the start.
    """
    recs = _as_list(recordings)
    sess = check_sessions(sessions)
    by_id = {b.recording.band_id: b for b in night.bands}
    for rec in recs:
        if rec.band_id not in by_id:
            raise ParameterError("recordings", f"the night's bands {sorted(by_id)}", rec.band_id)
    if not recs:
        raise ParameterError("recordings", "at least one recording", "none")
    full_mg = _choose_range_mg(recs, range_mg)
    record_s = _record_duration([r.fs_nominal_hz for r in recs])
    n_records = max(1, math.ceil(night.duration_s / record_s - 1e-9))
    signals: list[edfio.EdfSignal] = []
    annotations: list[edfio.EdfAnnotation] = []
    for rec in recs:
        fs = rec.fs_nominal_hz
        n = round(n_records * record_s * fs)
        offset_s = (rec.start_utc - night.start_utc).total_seconds()
        data_mg, valid = _on_grid(rec, offset_s, fs, n)
        for axis in range(3):
            signals.append(
                edfio.EdfSignal(
                    data_mg[axis],
                    sampling_frequency=fs,
                    label=f"Accel {AXES[axis]} {rec.side}",
                    transducer_type="MEMS accelerometer",
                    physical_dimension="mg",
                    physical_range=(-full_mg, full_mg),
                    digital_range=DIGITAL_RANGE,
                    prefiltering=f"linear resampling to {fs:g} Hz",
                )
            )
        for i, j in _runs(~valid):
            annotations.append(edfio.EdfAnnotation(i / fs, (j - i) / fs, f"gap {rec.side}"))
    annotations += _event_annotations(night, sess)
    start = night.start_utc
    whole = start.replace(microsecond=0)
    if start != whole:  # EDF+ keeps the start to the second; shift onsets onto that second
        shift = (start - whole).total_seconds()
        annotations = [
            edfio.EdfAnnotation(a.onset + shift, a.duration, a.text) for a in annotations
        ]
        log.warning("the night starts at a fractional second; the EDF starts %.3f s earlier", shift)
    edf = edfio.Edf(
        signals,
        patient=edfio.Patient(),
        recording=edfio.Recording(
            startdate=start.date(),
            equipment_code="legwatch-" + "+".join(r.band_id for r in recs).replace(" ", "_"),
        ),
        starttime=whole.time().replace(tzinfo=None),
        data_record_duration=record_s,
        annotations=sorted(annotations, key=lambda a: (a.onset, a.text)),
    )
    out = Path(path)
    edf.write(out)
    log.info("wrote %s: %d signals, %d annotations", out, len(signals), len(annotations))
    return EdfExport(out, full_mg, record_s, len(annotations))


#: Columns of the CSV event table.
CSV_COLUMNS = (
    "kind",
    "onset_s",
    "duration_s",
    "end_s",
    "start_utc",
    "side",
    "peak_g",
    "in_plm_series",
    "is_clm",
    "n_in_series",
    "label",
)


def export_events_csv(
    night: NightAnalysis, path: str | Path, *, sessions: Sequence[Session] = ()
) -> Path:
    """Write every event of the night as one CSV table, sorted by onset.

    Kinds: ``lm`` (counted leg movement), ``plm_series``, ``spasm``, the movements detected but
    not counted (``posture_change``, ``gross_body``, ``tremor``, ``vibration``, ``short``) and
    ``technique_session``. Times in s from the night's start (``start_utc`` gives the clock time);
    ``peak_g`` in g; columns that do not apply to a kind are empty.

    Returns
    -------
    Path
        The file written.
    """
    sess = check_sessions(sessions)
    rows: list[dict[str, object]] = []

    def add(kind: str, onset: float, duration: float, side: str, **extra: object) -> None:
        rows.append(
            {
                "kind": kind,
                "onset_s": f"{onset:.3f}",
                "duration_s": f"{duration:.3f}",
                "end_s": f"{onset + duration:.3f}",
                "start_utc": (night.start_utc + timedelta(seconds=round(onset, 3))).isoformat(
                    timespec="milliseconds"
                ),
                "side": side,
                **{k: ("" if v is None else v) for k, v in extra.items()},
            }
        )

    mv = night.leg_movements
    for r in mv.records():
        add(
            "lm",
            r["onset_s"],
            r["duration_s"],
            r["side"],
            peak_g=f"{r.get('peak_g', math.nan):.4f}",
            in_plm_series=int(bool(r.get("in_series"))),
            is_clm=int(bool(r.get("is_clm"))),
        )
    for r in night.scoring.series.records():
        add("plm_series", r["onset_s"], r["duration_s"], r["side"], n_in_series=int(r["n"]))
    for r in night.spasms.records():
        add("spasm", r["onset_s"], r["duration_s"], r["side"], peak_g=f"{r['peak_mg'] / 1000:.4f}")
    for r in night.other_movements.records():
        add(
            r["kind"], r["onset_s"], r["duration_s"], r["side"], peak_g=f"{r['peak_mg'] / 1000:.4f}"
        )
    for start_s, duration_s, label in sess:
        add("technique_session", start_s, duration_s, "unknown", label=label)
    rows.sort(key=lambda row: (float(str(row["onset_s"])), str(row["kind"])))
    out = Path(path)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    log.info("wrote %d events to %s", len(rows), out)
    return out
