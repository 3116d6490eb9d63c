"""Ground truth of a simulated night: every event, what the band could see, and the true scoring.

Definitions
-----------
dynamic signal
    An event's own contribution at the band: the noise-free acceleration (g, band axes, gain
    included, sensor offsets/sensitivity/noise/quantisation excluded) with the event minus the
    acceleration without it, everything else in the night unchanged. Events add linearly in this
    simulator, so it is the event's rendered delta. It is evaluated on a fixed 100 Hz grid of true
    time (``TRUTH_RATE_HZ``), so the truth does not depend on the band's sampling rate.
rms_peak_g
    Peak over time of the 0.5 s moving RMS of the dynamic signal's magnitude:
    max_t sqrt(mean over the 50 grid samples of the window of |d|^2).
visible (LMs)
    ``not ankle_only and rms_peak_g >= VISIBLE_THRESHOLD_G`` (10 mg).
analysable
    Time with the band worn and samples present: the night minus off-body stretches minus gaps.
    An event is counted where its onset lies in analysable time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from legwatch.events import EventTable
from legwatch.intervals import complement
from legwatch.scoring import BRIDGE_GAP_S, Scoring, score_leg_movements
from legwatch.synth.config import NightConfig
from legwatch.synth.kinematics import UP_WORLD, FloatArray
from legwatch.synth.render import event_delta
from legwatch.synth.schedule import Schedule, SimEvent

TRUTH_RATE_HZ = 100.0
RMS_WINDOW_S = 0.5
#: An LM is sensor-visible when its dynamic signal's 0.5 s RMS peak reaches this (g): below the
#: ~15 mg detection floor of ankle actigraphs (Sicbaldi, sensing.md), above MEMS noise.
VISIBLE_THRESHOLD_G = 0.010
RULES = ("wasm2016", "aasm")


def dynamic_signal(
    sched: Schedule, cfg: NightConfig, ev: SimEvent, side: str, t_s: FloatArray
) -> FloatArray:
    """The event's dynamic signal (g, (n, 3), leg axes; its magnitude equals that in band axes)."""
    up = sched.posture.to_leg(side, t_s, UP_WORLD)
    gain = sched.gain(cfg.gain.overall, cfg.gain.jump_factor, t_s)
    return gain[:, None] * event_delta(ev, side, sched, t_s, up)


def peaks(sched: Schedule, cfg: NightConfig, ev: SimEvent, side: str) -> tuple[float, float]:
    """(peak |dynamic signal|, peak of its 0.5 s moving RMS), both g, on the 100 Hz truth grid."""
    n_win = round(RMS_WINDOW_S * TRUTH_RATE_HZ)
    t0 = ev.onset_s - RMS_WINDOW_S
    n = int(np.ceil((ev.duration_s + 2 * RMS_WINDOW_S) * TRUTH_RATE_HZ)) + 1
    t = t0 + np.arange(n) / TRUTH_RATE_HZ
    d = dynamic_signal(sched, cfg, ev, side, t)
    mag2 = np.einsum("ij,ij->i", d, d)
    c = np.concatenate(([0.0], np.cumsum(mag2)))
    ms = (c[n_win:] - c[:-n_win]) / n_win
    return float(np.sqrt(mag2.max())), float(np.sqrt(max(ms.max(), 0.0)))


def analysable_intervals(
    duration_s: float, excluded: Sequence[tuple[float, float]]
) -> tuple[tuple[float, float], ...]:
    """[0, duration_s] minus the excluded intervals (s), sorted and disjoint."""
    return tuple(complement(excluded, 0.0, duration_s))


def _inside(t: float, intervals: Sequence[tuple[float, float]]) -> bool:
    return any(a <= t < b for a, b in intervals)


@dataclass(frozen=True, eq=False)
class Truth:
    """What really happened in a simulated night.

    Attributes
    ----------
    movements : EventTable
        Every true event on the worn side(s), all kinds: lm, spasm, posture_change, gross_body,
        vibration, tremor, respiratory_event, technique_stroke, off_body, gap, strap_loosening.
        Props: peak_g and rms_peak_g (dynamic signal, g; NaN where not rendered), origin (LMs:
        plm_series / isolated / cluster / respiratory, else ""), ankle_only, visible, analysable
        (bool), series_id and pair_id (int, -1 if none; pair_id links the two legs of a
        bilateral movement), tilt_deg, angle_deg (posture turns), freq_hz (NaN where not
        applicable).
    analysable : tuple of (start_s, end_s)
        Analysable time of the left (first) band; ``analysable_by_side`` has each band's.
    scoring : dict of rules -> Scoring
        WASM 2016 and AASM scoring of the visible, analysable LMs (both legs when bilateral).
    indices : dict
        Headline truth numbers (counts, per-hour rates over analysable time, shares).
    emg_scale : dict
        WASM 2016 indices over ALL LMs (visible or not): what tibialis EMG would count.
    sessions : tuple of dict
        Technique sessions with their effect windows.
    bands : dict
        Per band: orientation matrix, real rate, offsets, sensitivities.
    """

    movements: EventTable
    analysable: tuple[tuple[float, float], ...]
    analysable_by_side: Mapping[str, tuple[tuple[float, float], ...]]
    scoring: Mapping[str, Scoring]
    indices: Mapping[str, float]
    emg_scale: Mapping[str, float]
    sessions: tuple[dict[str, Any], ...]
    bands: Mapping[str, dict[str, Any]]
    config: NightConfig = field(repr=False)

    def visible_lms(self) -> EventTable:
        """The LMs a detector is judged against: visible and with an analysable onset."""
        m = self.movements
        return m.subset((m.kind == "lm") & m.props["visible"] & m.props["analysable"])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (NaN as None) in a stable order."""
        from legwatch import __version__

        cfg = asdict(self.config)
        cfg["start_utc"] = self.config.start_utc.isoformat()
        return _jsonable(
            {
                "legwatch_version": __version__,
                "generator": "legwatch.synth",
                "definitions": {
                    "dynamic_signal": "event's own noise-free acceleration at the band (with minus"
                    " without), gain included, on a 100 Hz grid of true time",
                    "visible": "not ankle_only and peak 0.5 s moving RMS of the dynamic signal"
                    f" >= {VISIBLE_THRESHOLD_G * 1000:g} mg",
                    "analysable": "band worn and samples present; events counted by onset",
                },
                "config": cfg,
                "analysable": [list(iv) for iv in self.analysable],
                "analysable_by_side": {
                    k: [list(iv) for iv in v] for k, v in self.analysable_by_side.items()
                },
                "indices": dict(self.indices),
                "emg_scale": dict(self.emg_scale),
                "sessions": list(self.sessions),
                "bands": dict(self.bands),
                "scoring": {k: v.to_dict() for k, v in self.scoring.items()},
                "movements": list(self.movements.records()),
            }
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def build_truth(cfg: NightConfig, sched: Schedule, sides: Sequence[str]) -> Truth:
    """Measure every event's dynamic signal, flag visibility and score the visible LMs."""
    analysable_by_side = {
        s: analysable_intervals(
            sched.duration_s,
            [(o.onset_s, o.offset_s) for o in sched.off_body if o.side == s] + list(sched.gaps[s]),
        )
        for s in sides
    }
    rows: list[dict[str, Any]] = []
    for ev in sched.events:
        for side in sides if ev.side == "bilateral" else [ev.side]:
            if side not in sides and side != "unknown":
                continue
            own = side if side in sides else sides[0]
            peak, rms = peaks(sched, cfg, ev, own) if ev.parts else (np.nan, np.nan)
            ankle_only = bool(ev.info.get("ankle_only", False))
            rows.append(
                {
                    "onset_s": ev.onset_s,
                    "duration_s": ev.duration_s,
                    "kind": ev.kind,
                    "side": "bilateral" if ev.side == "bilateral" else side,
                    "peak_g": peak,
                    "rms_peak_g": rms,
                    "origin": str(ev.info.get("origin", "")),
                    "ankle_only": ankle_only,
                    "visible": ev.kind == "lm" and not ankle_only and rms >= VISIBLE_THRESHOLD_G,
                    "analysable": _inside(ev.onset_s, analysable_by_side[own]),
                    "series_id": int(ev.info.get("series_id", -1)),
                    "pair_id": int(ev.info.get("pair_id", -1)),
                    "tilt_deg": float(ev.info.get("tilt_deg", np.nan)),
                    "angle_deg": float(ev.info.get("angle_deg", np.nan)),
                    "freq_hz": float(ev.info.get("freq_hz", np.nan)),
                }
            )
            if ev.side == "bilateral":
                break  # one row for a whole-body event, measured on the first band
    for side in sides:
        for ob in sched.off_body:
            if ob.side == side:
                rows.append(_plain("off_body", side, ob.onset_s, ob.offset_s - ob.onset_s))
        for a, b in sched.gaps[side]:
            rows.append(_plain("gap", side, a, b - a))
    if sched.gain_jump_s is not None:
        rows.append(_plain("strap_loosening", sides[0], sched.gain_jump_s, 0.0))
    names = ["peak_g", "rms_peak_g", "origin", "ankle_only", "visible", "analysable", "series_id",
             "pair_id", "tilt_deg", "angle_deg", "freq_hz"]  # fmt: skip
    movements = EventTable.from_records(rows, prop_names=names)
    movements = movements.with_props(
        visible=movements.props["visible"].astype(bool),
        analysable=movements.props["analysable"].astype(bool),
        ankle_only=movements.props["ankle_only"].astype(bool),
        series_id=movements.props["series_id"].astype(np.int64),
        pair_id=movements.props["pair_id"].astype(np.int64),
        origin=movements.props["origin"].astype(np.str_),
    )
    analysable = analysable_by_side[sides[0]]
    lms = movements.of_kind("lm")
    counted = lms.subset(lms.props["analysable"])
    visible = counted.subset(counted.props["visible"])
    resp = movements.of_kind("respiratory_event")

    def as_lms(table: EventTable) -> EventTable:
        return EventTable(table.onset_s, table.duration_s, table.kind, table.side)

    scoring = {
        r: score_leg_movements(
            as_lms(visible), analysable, rules=r, respiratory=resp, bridge_gap_s=BRIDGE_GAP_S
        )
        for r in RULES
    }
    emg = score_leg_movements(
        as_lms(counted), analysable, rules="wasm2016", respiratory=resp, bridge_gap_s=BRIDGE_GAP_S
    )
    hours = sum(b - a for a, b in analysable) / 3600.0
    w = scoring["wasm2016"].indices
    n_all = len(counted)
    indices = {
        "analysable_h": hours,
        "n_lm_all": float(n_all),
        "n_lm_visible": float(len(visible)),
        "n_lm_ankle_only": float(np.sum(counted.props["ankle_only"])),
        "visible_share": float(len(visible) / n_all) if n_all else float("nan"),
        "lm_per_h": float(w["lm_per_h"]),
        "plm_per_h": float(w["plm_per_h"]),
        "periodicity_index": float(w["periodicity_index"]),
        "plm_per_h_aasm": float(scoring["aasm"].indices["plm_per_h"]),
        "spasm_per_h": _rate(movements, "spasm", hours),
        "posture_changes": float(len(movements.of_kind("posture_change"))),
        "gross_body_movements": float(len(movements.of_kind("gross_body"))),
        "vibrations": float(len(movements.of_kind("vibration"))),
        "tremor_bursts": float(len(movements.of_kind("tremor"))),
    }
    bands = {
        s: {
            "r_band_from_leg": sched.bands[s].r_band_from_leg,
            "rate_real_hz_start": cfg.rate_hz * (1 + sched.bands[s].rate_error_frac),
            "rate_drift_frac": sched.bands[s].rate_drift_frac,
            "offset_g": sched.bands[s].offset_g,
            "sensitivity": sched.bands[s].sensitivity,
        }
        for s in sides
    }
    return Truth(
        movements=movements,
        analysable=analysable,
        analysable_by_side=analysable_by_side,
        scoring=scoring,
        indices=indices,
        emg_scale=dict(emg.indices),
        sessions=sched.sessions,
        bands=bands,
        config=cfg,
    )


def _rate(table: EventTable, kind: str, hours: float) -> float:
    sel = table.of_kind(kind)
    n = int(np.sum(sel.props["analysable"])) if len(sel) else 0
    return n / hours if hours > 0 else float("nan")


def _plain(kind: str, side: str, onset: float, duration: float) -> dict[str, Any]:
    return {
        "onset_s": onset,
        "duration_s": duration,
        "kind": kind,
        "side": side,
        "peak_g": np.nan,
        "rms_peak_g": np.nan,
        "origin": "",
        "ankle_only": False,
        "visible": False,
        "analysable": False,
        "series_id": -1,
        "pair_id": -1,
        "tilt_deg": np.nan,
        "angle_deg": np.nan,
        "freq_hz": np.nan,
    }
