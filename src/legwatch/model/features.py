"""Features of each detected movement event, for the event classifier. All of them, in one place.

Every feature is computed from the detector's public outputs (the event table and the per-frame
envelope) and from the raw samples of the Recording around the event. Names carry units. A
feature that cannot be computed for an event (no second band, no samples in a window) is NaN;
the classifiers used here accept NaN.

The features, in order (:data:`FEATURE_NAMES`)
-----------------------------------------------
Detector properties (legwatch.signal.detect.PROPS, plus the rule's verdict):
    duration_s, log_peak_mg (log10 of peak activity, mg, gain-corrected), tilt_deg,
    log_jerk_g_per_s (gain-corrected),
    log_hf_ratio (log10 of high-frequency over movement-band energy), cycles, magnitude_ratio,
    morphology_ok, at_gap, rule_<kind> (one-hot of the rule kind, one per detect.KINDS).
Envelope inside the event (activity_mg of the 0.1 s frames):
    log_area_mg_s (log10 of activity integrated over the event, mg s, gain-corrected),
    peak_over_floor (peak activity over the noise floor at onset), log_floor_mg,
    time_to_peak_frac (0 = peak at onset, 1 = at offset), active_frac (share of frames above
    twice the floor), activity_cv (std over mean).
Orientation (low-passed acceleration lp_g, i.e. gravity in band axes):
    tilt_2s_deg (angle between the mean orientation over 2 s before onset and 2 s after
    offset), max_dev_mg (largest deviation of lp_g from the pre-onset orientation during the
    event), lp_mag_change_mg (largest change of |lp_g| during the event: translation, not
    rotation).
Spectral shape of the raw samples in the event (onset - 0.25 s to offset + 0.25 s, at most 20 s,
each axis demeaned, Hann window, powers summed over axes):
    log_energy_g2 (log10 of total power, gain-corrected), band_0_1hz, band_1_3hz, band_3_6hz,
    band_6_12hz, band_12plus_hz (shares of power in each band, sum 1), centroid_hz, dominant_hz,
    spectral_entropy (normalised 0-1), raw_mag_std_mg (std of |a| in the window: impacts and
    translations change the size of the vector, rotations do not; gain-corrected).
Context before and after (envelope):
    pre_active_frac, post_active_frac (share of frames above twice the floor in the 30 s before
    onset / after offset, the event itself excluded), pre_p90_over_floor, post_p90_over_floor
    (90th percentile of activity over the floor in those windows).
Neighbouring events (the detector's event table):
    log_dt_prev_s, log_dt_next_s (log10 of the onset-to-onset interval to the previous / next
    event, capped at 600 s: leg movements in a PLM series are 10-90 s apart), n_events_60s
    (events with an onset within 60 s either side).
Two bands, where a second band is present (NaN otherwise):
    xband_peak_ratio (other band's peak activity in the event window over this band's),
    xband_corr (correlation of the two activity envelopes over the event window +/- 1 s: a gross
    body movement moves both legs together).

Gain correction
---------------
How strongly a movement reaches the band depends on the strap and the leg (sensing.md: a
loosening strap gives x0.7; the simulator's plausible range is x0.6-1.8), and nothing in one event
tells that gain from the movement's own size. So the amplitude features marked "gain-corrected"
are divided by the night's movement gain (:func:`night_gain`: how large this band's leg
movements are against a typical night's), and a big leg movement on a loose band reads like one
on a tight band. The noise floor and the ratios to it are not corrected (sensor noise does not
scale with the strap), nor are the orientation features (a tilt is geometry).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from legwatch.errors import ParameterError
from legwatch.recording import Recording
from legwatch.signal.detect import KINDS, Detection, Envelope

F64 = NDArray[np.float64]

#: Bump when a feature's definition changes: cached features and shipped models are keyed on it.
FEATURES_VERSION = 2
#: Window of context before and after an event, s (30 s: an epoch of sleep scoring, shorter than
#: the shortest PLM interval of interest is not needed because neighbours are separate features).
CONTEXT_S = 30.0
#: Orientation read before and after an event, s (longer than the detector's 0.5 s so a posture
#: change is measured on settled gravity).
ORIENTATION_S = 2.0
#: Longest raw window used for the spectrum, s (gross body movements last 2-20 s, sensing.md).
SPECTRUM_MAX_S = 20.0
#: Padding around the event for the spectrum, s.
SPECTRUM_PAD_S = 0.25
#: Edges of the spectral bands, Hz: leg movements < 1-3 Hz, tremor 0.3-4 Hz, partner vibration
#: and impacts 8-20 Hz (sensing.md).
BAND_EDGES_HZ = (0.0, 1.0, 3.0, 6.0, 12.0, np.inf)
#: Cap of the intervals to neighbouring events, s.
MAX_INTERVAL_S = 600.0

#: Quantile of the night's rule-scored leg movement peaks that measures its movement gain. The
#: smallest movements drop under the threshold on a loose band and the largest become gross body
#: movements on a tight one; on tuning nights (seeds 1-4, 31-36) the upper quartile followed a
#: x0.6 gain at x0.57-0.66 and a x1.8 gain at x1.37-1.90, closer than the median did.
GAIN_QUANTILE = 0.75
#: That quantile on a typical night at gain 1, mg (the simulator's nominal nights: 400-780 mg;
#: sensing.md: typical sleep movements 377 +/- 63 mg). Only a reference point.
GAIN_REFERENCE_MG = 500.0
#: Pseudo-count of the gain estimate: with n leg movements the log gain is shrunk towards 0 by
#: n / (n + GAIN_PRIOR_N), so a night with a few movements is barely corrected.
GAIN_PRIOR_N = 20.0
#: Bounds of the gain correction (sensing.md's plausible range, with room).
GAIN_BOUNDS = (0.25, 4.0)

_BAND_NAMES = ("band_0_1hz", "band_1_3hz", "band_3_6hz", "band_6_12hz", "band_12plus_hz")

#: Names of the features, in the column order of :func:`event_features`.
FEATURE_NAMES: tuple[str, ...] = (
    "duration_s",
    "log_peak_mg",
    "tilt_deg",
    "log_jerk_g_per_s",
    "log_hf_ratio",
    "cycles",
    "magnitude_ratio",
    "morphology_ok",
    "at_gap",
    *(f"rule_{k}" for k in KINDS),
    "log_area_mg_s",
    "peak_over_floor",
    "log_floor_mg",
    "time_to_peak_frac",
    "active_frac",
    "activity_cv",
    "tilt_2s_deg",
    "max_dev_mg",
    "lp_mag_change_mg",
    "log_energy_g2",
    *_BAND_NAMES,
    "centroid_hz",
    "dominant_hz",
    "spectral_entropy",
    "raw_mag_std_mg",
    "pre_active_frac",
    "post_active_frac",
    "pre_p90_over_floor",
    "post_p90_over_floor",
    "log_dt_prev_s",
    "log_dt_next_s",
    "n_events_60s",
    "xband_peak_ratio",
    "xband_corr",
)


@dataclass(frozen=True)
class OtherBand:
    """The second band of a night, for the two-band features.

    Attributes
    ----------
    detection : Detection
        The other band's detection (its envelope is used).
    offset_s : float
        Time of the other band's t = 0 on this band's time axis, s (other band's start minus this
        band's start).
    """

    detection: Detection
    offset_s: float = 0.0


@functools.lru_cache(maxsize=1)
def features_fingerprint() -> str:
    """A short hash of the feature, label and detector code (the cache key of training data).

    Computed once per process, so it names the code this process runs even if the files change.
    """
    from legwatch.model import labels
    from legwatch.signal import detect, frames

    h = hashlib.sha256(str(FEATURES_VERSION).encode())
    for mod in (detect, frames, labels):
        h.update(inspect.getsource(mod).encode())
    for fn in (event_features, night_gain, _spectral, _context, _corr):
        h.update(inspect.getsource(fn).encode())
    # the module's constants (windows, bands, gain): their values, not their comments
    consts = {
        k: v
        for k, v in globals().items()
        if k.isupper() and not k.startswith("_") and isinstance(v, (int, float, str, tuple))
    }
    h.update(repr(sorted(consts.items())).encode())
    return h.hexdigest()[:16]


def night_gain(detection: Detection) -> float:
    """The band's movement gain over the night, against a typical night (1 = typical).

    The :data:`GAIN_QUANTILE` of the peaks of the events the rules called leg movements, over
    :data:`GAIN_REFERENCE_MG`, shrunk towards 1 on nights with few of them and bounded by
    :data:`GAIN_BOUNDS`. A person whose movements are small and a loose strap look the same,
    and are corrected the same: the features then describe a movement relative to the night's
    others.
    """
    ev = detection.events
    peaks = ev.props["peak_mg"][ev.kind == "lm"].astype(np.float64) if len(ev) else np.empty(0)
    peaks = peaks[np.isfinite(peaks) & (peaks > 0)]
    if peaks.size == 0:
        return 1.0
    log_g = float(np.log10(np.quantile(peaks, GAIN_QUANTILE) / GAIN_REFERENCE_MG))
    log_g *= peaks.size / (peaks.size + GAIN_PRIOR_N)
    return float(np.clip(10.0**log_g, *GAIN_BOUNDS))


def _log10(x: float, floor: float = 1e-6) -> float:
    return float(np.log10(max(float(x), floor)))


def _spectral(
    accel_g: F64, fs_hz: float
) -> tuple[float, NDArray[np.float64], float, float, float, float]:
    """Log energy, band shares, centroid, dominant frequency, entropy, |a| std (mg)."""
    n = accel_g.shape[0]
    nan_bands = np.full(len(_BAND_NAMES), np.nan)
    if n < 8:
        return np.nan, nan_bands, np.nan, np.nan, np.nan, np.nan
    x = accel_g - accel_g.mean(axis=0)
    win = np.hanning(n)[:, None]
    p = (np.abs(np.fft.rfft(x * win, axis=0)) ** 2).sum(axis=1)[1:]  # no DC
    f = np.fft.rfftfreq(n, 1.0 / fs_hz)[1:]
    total = float(p.sum())
    mag = np.sqrt((accel_g * accel_g).sum(axis=1))
    mag_std_mg = float(mag.std()) * 1000.0
    if total <= 0.0:
        return np.log10(1e-12), nan_bands, np.nan, np.nan, np.nan, mag_std_mg
    share = p / total
    idx = np.searchsorted(np.asarray(BAND_EDGES_HZ[1:-1]), f, side="right")
    bands = np.bincount(idx, weights=share, minlength=len(_BAND_NAMES)).astype(np.float64)
    centroid = float((f * share).sum())
    dominant = float(f[int(np.argmax(p))])
    nz = share[share > 0]
    entropy = float(-(nz * np.log(nz)).sum() / np.log(max(share.size, 2)))
    return _log10(total / n, 1e-12), bands, centroid, dominant, entropy, mag_std_mg


def _context(act: F64, floor: float) -> tuple[float, float]:
    """Share of frames above twice the floor, and the 90th percentile over the floor."""
    if act.size == 0:
        return np.nan, np.nan
    k = min(act.size - 1, int(0.9 * (act.size - 1) + 0.5))
    p90 = float(np.partition(act, k)[k])
    return float(np.count_nonzero(act > 2.0 * floor)) / act.size, p90 / floor


def _corr(x: F64, y: F64) -> float:
    """Pearson correlation; 0 where either side is constant or too short."""
    if x.size < 3:
        return 0.0
    xc, yc = x - x.mean(), y - y.mean()
    d = float(np.sqrt((xc @ xc) * (yc @ yc)))
    return float(xc @ yc) / d if d > 0 else 0.0


def event_features(
    detection: Detection,
    recording: Recording,
    other: OtherBand | None = None,
) -> F64:
    """The feature matrix of a detection's events, one row per event (see the module docstring).

    Parameters
    ----------
    detection : Detection
        Output of ``detect_movements(recording)``; its envelope must have been kept (the offline
        path keeps it).
    recording : Recording
        The recording the detection came from (raw samples in g, times in s).
    other : OtherBand, optional
        The night's second band, for the two-band features (NaN without it).

    Returns
    -------
    ndarray of float64, shape (n_events, len(FEATURE_NAMES))
        Deterministic: the same inputs give the same bytes.
    """
    ev = detection.events
    env: Envelope = detection.envelope
    n = len(ev)
    out = np.full((n, len(FEATURE_NAMES)), np.nan)
    if n == 0:
        return out
    if env.t_s.size == 0:
        raise ParameterError(
            "detection", "a detection with its per-frame envelope (detect_movements keeps it)",
            "an empty envelope",
        )  # fmt: skip
    fs_hz = float(recording.fs_effective_hz)
    t_env = env.t_s
    act = env.activity_mg
    floor_all = np.where(np.isfinite(env.floor_mg), env.floor_mg, np.nan)
    lp = env.lp_g.astype(np.float64)
    t_raw = recording.t_s
    props = ev.props
    onsets = ev.onset_s
    offsets = ev.offset_s
    other_env = other.detection.envelope if other is not None else None
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    # -- detector properties, whole columns at once
    out[:, col["duration_s"]] = offsets - onsets
    out[:, col["log_peak_mg"]] = np.log10(np.maximum(props["peak_mg"].astype(float), 1e-3))
    out[:, col["tilt_deg"]] = props["tilt_deg"]
    out[:, col["log_jerk_g_per_s"]] = np.log10(
        np.maximum(props["jerk_g_per_s"].astype(float), 1e-4)
    )
    out[:, col["log_hf_ratio"]] = np.log10(np.maximum(props["hf_ratio"].astype(float), 1e-6))
    out[:, col["cycles"]] = props["cycles"]
    out[:, col["magnitude_ratio"]] = props["magnitude_ratio"]
    out[:, col["morphology_ok"]] = props["morphology_ok"].astype(bool)
    out[:, col["at_gap"]] = props["at_gap"].astype(bool)
    for k in KINDS:
        out[:, col[f"rule_{k}"]] = ev.kind == k
    # -- neighbours
    dt = np.diff(onsets)
    dt_prev = np.minimum(np.r_[MAX_INTERVAL_S, dt], MAX_INTERVAL_S)
    dt_next = np.minimum(np.r_[dt, MAX_INTERVAL_S], MAX_INTERVAL_S)
    out[:, col["log_dt_prev_s"]] = np.log10(np.maximum(dt_prev, 0.1))
    out[:, col["log_dt_next_s"]] = np.log10(np.maximum(dt_next, 0.1))
    lo60 = np.searchsorted(onsets, onsets - 60.0)
    hi60 = np.searchsorted(onsets, onsets + 60.0)
    out[:, col["n_events_60s"]] = hi60 - lo60 - 1
    # -- frame and sample indices of every window, at once
    frame_s = float(np.median(np.diff(t_env[:100]))) if t_env.size > 1 else 0.1
    f_on = np.searchsorted(t_env, onsets)
    f_off = np.searchsorted(t_env, offsets)
    f_pre_o = np.searchsorted(t_env, onsets - ORIENTATION_S)
    f_post_o = np.searchsorted(t_env, offsets + ORIENTATION_S)
    f_pre_c = np.searchsorted(t_env, onsets - CONTEXT_S)
    f_post_c = np.searchsorted(t_env, offsets + CONTEXT_S)
    raw_a = onsets - SPECTRUM_PAD_S
    raw_b = np.minimum(offsets + SPECTRUM_PAD_S, raw_a + SPECTRUM_MAX_S)
    r0 = np.searchsorted(t_raw, raw_a)
    r1 = np.searchsorted(t_raw, raw_b)
    if other_env is not None and other is not None and other_env.t_s.size:
        t_o = other_env.t_s + other.offset_s
        o0 = np.searchsorted(t_o, onsets - 1.0)
        o1 = np.searchsorted(t_o, offsets + 1.0)
        m0 = np.searchsorted(t_env, onsets - 1.0)
        m1 = np.searchsorted(t_env, offsets + 1.0)
        act_o = other_env.activity_mg.astype(np.float64)
    else:
        act_o = None
    act64 = act.astype(np.float64)
    c_floor = col["log_floor_mg"]
    c_bands = slice(col[_BAND_NAMES[0]], col[_BAND_NAMES[-1]] + 1)
    for i in range(n):
        row = out[i]
        # -- envelope inside the event
        a_ev = act64[f_on[i] : f_off[i]]
        fl_raw = floor_all[min(int(f_on[i]), t_env.size - 1)]
        fl = max(float(fl_raw), 0.5) if np.isfinite(fl_raw) else 0.5  # MEMS noise ~0.5 mg
        row[c_floor] = np.log10(fl)
        if a_ev.size:
            peak_i = int(np.argmax(a_ev))
            total = float(a_ev.sum())
            mean = total / a_ev.size
            row[col["log_area_mg_s"]] = _log10(total * frame_s, 1e-3)
            row[col["peak_over_floor"]] = float(a_ev[peak_i]) / fl
            row[col["time_to_peak_frac"]] = peak_i / (a_ev.size - 1) if a_ev.size > 1 else 0.0
            row[col["active_frac"]] = float(np.count_nonzero(a_ev > 2.0 * fl)) / a_ev.size
            row[col["activity_cv"]] = float(a_ev.std()) / mean if mean > 0 else 0.0
        # -- orientation
        if f_on[i] > f_pre_o[i] and f_post_o[i] > f_off[i]:
            g0 = lp[f_pre_o[i] : f_on[i]].mean(axis=0)
            g1 = lp[f_off[i] : f_post_o[i]].mean(axis=0)
            n0 = float(np.sqrt(g0 @ g0))
            c = float(g0 @ g1) / max(n0 * float(np.sqrt(g1 @ g1)), 1e-12)
            row[col["tilt_2s_deg"]] = float(np.degrees(np.arccos(min(1.0, max(-1.0, c)))))
            if a_ev.size:
                lp_ev = lp[f_on[i] : f_off[i]]
                d = lp_ev - g0
                row[col["max_dev_mg"]] = float(np.sqrt(np.einsum("ij,ij->i", d, d).max())) * 1e3
                mag = np.sqrt(np.einsum("ij,ij->i", lp_ev, lp_ev))
                row[col["lp_mag_change_mg"]] = float(np.abs(mag - n0).max()) * 1000.0
        # -- spectrum of the raw samples
        energy, bands, centroid, dominant, entropy, mag_std = _spectral(
            recording.accel_g[r0[i] : r1[i]], fs_hz
        )
        row[col["log_energy_g2"]] = energy
        row[c_bands] = bands
        row[col["centroid_hz"]] = centroid
        row[col["dominant_hz"]] = dominant
        row[col["spectral_entropy"]] = entropy
        row[col["raw_mag_std_mg"]] = mag_std
        # -- context before and after
        pre = act64[f_pre_c[i] : f_on[i]]
        post = act64[f_off[i] : f_post_c[i]]
        row[col["pre_active_frac"]], row[col["pre_p90_over_floor"]] = _context(pre, fl)
        row[col["post_active_frac"]], row[col["post_p90_over_floor"]] = _context(post, fl)
        # -- second band
        if act_o is not None:
            a_o = act_o[o0[i] : o1[i]]
            a_me = act64[m0[i] : m1[i]]
            if a_o.size and a_me.size:
                row[col["xband_peak_ratio"]] = float(a_o.max()) / max(float(a_me.max()), 1e-3)
                m = min(a_o.size, a_me.size)
                row[col["xband_corr"]] = _corr(a_o[:m], a_me[:m])
    # -- gain correction of the amplitude features (module docstring)
    log_g = np.log10(night_gain(detection))
    for name in ("log_peak_mg", "log_jerk_g_per_s", "log_area_mg_s"):
        out[:, col[name]] -= log_g
    out[:, col["log_energy_g2"]] -= 2.0 * log_g  # a power
    out[:, col["raw_mag_std_mg"]] /= 10.0**log_g
    return out


def feature_names() -> list[str]:
    """The feature names, in column order (a fresh list)."""
    return list(FEATURE_NAMES)


def check_feature_names(names: Sequence[str], where: str) -> None:
    """Raise ModelError unless ``names`` are exactly :data:`FEATURE_NAMES`, in order."""
    from legwatch.errors import ModelError

    if list(names) != list(FEATURE_NAMES):
        missing = [n for n in FEATURE_NAMES if n not in names]
        extra = [n for n in names if n not in FEATURE_NAMES]
        raise ModelError(
            f"{where}: the model's feature list does not match this legwatch's features "
            f"(features version {FEATURES_VERSION}): missing {missing or 'none'}, unexpected "
            f"{extra or 'none'}{', different order' if not missing and not extra else ''}. "
            "Retrain the model with `legwatch model train`."
        )
