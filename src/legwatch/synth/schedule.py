"""The event schedule of a night: what happens, when, on which leg, with which shape.

The schedule depends only on the seed and the event parameters, never on the sampling rate: every
event is a set of continuous-time motion *parts* (rotations of the leg, translations of the body)
that the renderer evaluates at whatever sample times a band has. Each topic draws from its own
random stream (numpy SeedSequence spawn), so switching one family off leaves the others unchanged.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from legwatch.synth.config import NightConfig, TechniqueSession
from legwatch.synth.kinematics import (
    G0_M_S2,
    UP_WORLD,
    AccelProfile,
    AngleProfile,
    BumpProfile,
    BurstProfile,
    FloatArray,
    HoldProfile,
    LiftAccel,
    RingAccel,
    StepProfile,
    axis_angle,
    random_rotation,
    rotate,
    rotation_matrix,
    unit,
)

#: Fixed stream indices: adding a topic appends, never renumbers (old seeds keep their nights).
STREAMS = (
    "lms",
    "lm_shape",
    "spasms",
    "posture",
    "gross_body",
    "respiration",
    "vibration",
    "tremor",
    "off_body",
    "technique",
    "band_left",
    "band_right",
    "noise_left",
    "noise_right",
    "gaps_left",
    "gaps_right",
)
#: Least time (s) between the offset of one LM and the onset of the next on the same leg: closer
#: pieces would be one LM under the 0.5 s joining rule (scoring-rules.md).
MIN_LM_SEPARATION_S = 0.6


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per topic, spawned from ``SeedSequence(seed)``."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(STREAMS, children, strict=True)}


@dataclass(frozen=True, eq=False)
class Rotation:
    """The shank rotating by ``profile`` about ``axis`` (unit, leg frame) through a pivot, with the
    band at ``lever_m`` (m, leg frame) from the pivot. ``tilts_gravity`` False for a posture turn,
    whose gravity change the posture timeline already carries."""

    axis: FloatArray
    lever_m: FloatArray
    profile: AngleProfile
    tilts_gravity: bool = True


@dataclass(frozen=True, eq=False)
class Translation:
    """A linear acceleration ``profile`` (g) along unit ``direction`` in the world or leg frame."""

    direction: FloatArray
    profile: AccelProfile
    frame: Literal["world", "leg"] = "world"


Part = Rotation | Translation


@dataclass(frozen=True, eq=False)
class SimEvent:
    """One true event. ``side`` "left"/"right" (one leg), "bilateral" (the whole body: reaches both
    bands; parts are in the left leg's frame) or "unknown" (not rendered: respiratory events)."""

    kind: str
    side: str
    onset_s: float
    duration_s: float
    parts: tuple[Part, ...] = ()
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def offset_s(self) -> float:
        return self.onset_s + self.duration_s


@dataclass(frozen=True, eq=False)
class PostureTimeline:
    """Orientation of the left leg in the world over the night (the right leg's is ``R @ q_right``).

    ``start`` is the initial R_world_from_leg; change i turns the leg by ``angle_rad[i]`` about the
    world axis ``axis[i]`` with a minimum-jerk profile from ``onset_s[i]`` over ``duration_s[i]``,
    starting from ``r_from[i]``.
    """

    start: FloatArray
    onset_s: FloatArray
    duration_s: FloatArray
    axis: FloatArray
    angle_rad: FloatArray
    r_from: FloatArray
    q_right: FloatArray

    def r_after(self, i: int) -> FloatArray:
        return rotation_matrix(self.axis[i], float(self.angle_rad[i])) @ self.r_from[i]

    def to_leg(self, side: str, t_s: FloatArray, v_world: FloatArray) -> FloatArray:
        """World vector(s) ``v_world`` ((3,) or (n, 3)) in the leg frame at sorted times t_s."""
        n = t_s.size
        v = np.broadcast_to(np.asarray(v_world, dtype=np.float64), (n, 3))
        out = np.empty((n, 3))
        k = self.onset_s.size
        # Pieces: constant before change 0, turn 0, constant, turn 1, ... constant after the last.
        edges = np.empty(2 * k)
        edges[0::2] = self.onset_s
        edges[1::2] = self.onset_s + self.duration_s
        cut = np.searchsorted(t_s, edges)
        bounds = np.concatenate(([0], cut, [n]))
        for p in range(2 * k + 1):
            i0, i1 = int(bounds[p]), int(bounds[p + 1])
            if i1 <= i0:
                continue
            c = p // 2
            if p % 2 == 0:
                r = self.start if c == 0 else self.r_after(c - 1)
                out[i0:i1] = v[i0:i1] @ r
            else:
                prof = StepProfile(
                    float(self.onset_s[c]), float(self.duration_s[c]), float(self.angle_rad[c])
                )
                phi = prof.angle(t_s[i0:i1])[0]
                back = rotate(v[i0:i1], self.axis[c], -phi)
                out[i0:i1] = back @ self.r_from[c]
        if side == "right":
            out = out @ self.q_right
        return out


@dataclass(frozen=True, eq=False)
class OffBody:
    """The band off the leg from onset to offset; ``table_up_band`` is gravity in band axes while
    it lies on the table; handling (taking it off, putting it back) lasts the given seconds."""

    side: str
    onset_s: float
    offset_s: float
    handling_on_s: float
    handling_off_s: float
    table_up_band: FloatArray
    jolts: tuple[Translation, ...]


@dataclass(frozen=True, eq=False)
class Respiration:
    """Breathing: a(t) = amp * m(t) * sin(phase(t)) along ``direction`` (world), with slow
    frequency and amplitude modulation (sums of slow sinusoids) and dips during respiratory
    events (hypopnoeas)."""

    amp_g: float
    freq_hz: float
    freq_mod: tuple[tuple[float, float, float], ...]  # (delta_hz, nu_hz, phase)
    amp_mod: tuple[tuple[float, float, float], ...]  # (depth, nu_hz, phase)
    phase_rad: float
    direction: FloatArray
    dips: tuple[tuple[float, float], ...]  # respiratory events (onset_s, offset_s)

    def accel_g(self, t_s: FloatArray) -> FloatArray:
        phase = 2 * np.pi * self.freq_hz * t_s + self.phase_rad
        for delta, nu, ph in self.freq_mod:
            # integral of 2 pi delta sin(2 pi nu t + ph)
            phase = phase - delta / nu * (np.cos(2 * np.pi * nu * t_s + ph) - np.cos(ph))
        m = np.ones_like(t_s)
        for depth, nu, ph in self.amp_mod:
            m = m + depth * np.sin(2 * np.pi * nu * t_s + ph)
        m = np.clip(m, 0.2, None)
        for on, off in self.dips:
            i0, i1 = np.searchsorted(t_s, [on, off])
            m[i0:i1] *= 0.2
        return self.amp_g * m * np.sin(phase)


@dataclass(frozen=True, eq=False)
class BandSetup:
    """One band: its strapping orientation and its own sensor imperfections and clock."""

    side: str
    r_band_from_leg: FloatArray
    offset_g: FloatArray
    sensitivity: FloatArray
    drift: tuple[tuple[FloatArray, float, float], ...]  # (amplitude_g per axis, nu_hz, phase)
    rate_error_frac: float
    rate_drift_frac: float


@dataclass(frozen=True, eq=False)
class Schedule:
    """Everything that happens in one night, independent of the sampling rate."""

    duration_s: float
    events: tuple[SimEvent, ...]
    posture: PostureTimeline
    respiration: Respiration | None
    off_body: tuple[OffBody, ...]
    gaps: Mapping[str, tuple[tuple[float, float], ...]]
    bands: Mapping[str, BandSetup]
    sessions: tuple[dict[str, Any], ...]
    gain_jump_s: float | None

    def gain(self, cfg_overall: float, jump_factor: float, t_s: FloatArray) -> FloatArray:
        g = np.full(t_s.shape, cfg_overall)
        if self.gain_jump_s is not None:
            g = np.where(t_s >= self.gain_jump_s, g * jump_factor, g)
        return g


# -- helpers -------------------------------------------------------------------------------------
def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _poisson_times(rng: np.random.Generator, per_h: float, t0: float, t1: float) -> FloatArray:
    n = int(rng.poisson(max(per_h, 0.0) * max(t1 - t0, 0.0) / 3600.0))
    return np.sort(rng.uniform(t0, t1, size=n))


def _count_or_rate(
    rng: np.random.Generator, count: int | None, per_h: float, t0: float, t1: float
) -> FloatArray:
    if count is not None:
        return np.sort(rng.uniform(t0, t1, size=count))
    return _poisson_times(rng, per_h, t0, t1)


def _random_unit(rng: np.random.Generator) -> FloatArray:
    return unit(rng.normal(size=3))


def _flexion_axis(rng: np.random.Generator) -> FloatArray:
    """Knee/hip flexion is about the lateral (y) axis; hip ab/adduction and rotation tip it."""
    return unit(np.array([rng.normal(0, 0.25), rng.choice([-1.0, 1.0]), rng.normal(0, 0.35)]))


def _lever(rng: np.random.Generator, hip: bool) -> FloatArray:
    """Band position from the pivot (m, leg frame): down the shank, on the skin surface."""
    along = rng.uniform(0.7, 0.9) if hip else rng.uniform(0.30, 0.42)
    return np.array([along, rng.normal(0, 0.03), rng.uniform(0.03, 0.06)])


# -- leg movements -------------------------------------------------------------------------------
def _intensity(cfg: NightConfig, t: float) -> float:
    """Relative LM rate at time t: falls linearly to end_of_night_factor."""
    return 1.0 + (cfg.lms.end_of_night_factor - 1.0) * t / cfg.duration_s


def _technique_factor(cfg: NightConfig, t: float) -> float:
    tc = cfg.technique
    for s in tc.sessions:
        end = s.start_s + s.duration_s
        if end <= t < end + tc.effect_duration_s:
            return tc.effect_factor
    return 1.0


@dataclass
class _Candidate:
    onset_s: float
    origin: str
    series_id: int
    keep_u: float  # thinning uniform (per series for series members)
    fixed_duration_s: float | None = None
    thin_by_intensity: bool = False


def _lm_candidates(
    rng: np.random.Generator, cfg: NightConfig
) -> tuple[list[_Candidate], list[tuple[float, float]]]:
    c = cfg.lms
    big_t = cfg.duration_s
    out: list[_Candidate] = []
    resp_events: list[tuple[float, float]] = []
    # PLM series, one after another with quiet stretches that lengthen as the rate falls.
    t = 0.0
    sid = 0
    while True:
        t += float(rng.exponential(c.series_quiet_mean_s)) / max(_intensity(cfg, t), 0.05)
        if t >= big_t:
            break
        lo, hi = c.series_length_range
        n = int(
            np.clip(
                round(c.series_length_median * np.exp(rng.normal(0, c.series_length_sigma_ln))),
                lo,
                hi,
            )
        )
        base = float(
            np.clip(c.imi_median_s * np.exp(rng.normal(0, c.imi_sigma_ln)), *c.imi_range_s)
        )
        u = float(rng.uniform())
        for _ in range(n):
            out.append(_Candidate(t, "plm_series", sid, u))
            base = float(np.clip(base * np.exp(rng.normal(0, 0.03)), *c.imi_range_s))
            r = rng.uniform()
            if r < c.break_short_p:
                step = rng.uniform(2.0, 9.0)
            elif r < c.break_short_p + c.break_long_p:
                step = rng.uniform(95.0, 200.0)
            else:
                step = base * np.exp(rng.normal(0, c.imi_jitter_ln))
            t += float(step)
        sid += 1
    # Respiratory-related LM series: one LM at the end of each hypopnoea, every 25-45 s.
    for start in _poisson_times(rng, c.respiratory_series_per_h, 0.0, big_t):
        n = int(rng.integers(5, 21))
        cycle = rng.uniform(25.0, 45.0)
        u = float(rng.uniform())
        t = float(start)
        for _ in range(n):
            period = cycle * np.exp(rng.normal(0, 0.08))
            ev_dur = period * rng.uniform(0.4, 0.65)
            lm_on = t + ev_dur + rng.uniform(-0.5, 2.5)
            resp_events.append((t, t + ev_dur))
            out.append(_Candidate(float(lm_on), "respiratory", sid, u))
            t += float(period)
        sid += 1
    # Non-periodic clusters: 5-10 LMs 1-8 s apart (onset to onset), short enough to stay apart.
    for start in _poisson_times(rng, c.clusters_per_h, 0.0, big_t):
        n = int(rng.integers(5, 11))
        t = float(start)
        u = float(rng.uniform())
        for _ in range(n):
            gap = max(float(rng.uniform(1.0, 8.0)), 0.5 + MIN_LM_SEPARATION_S)
            dur = min(float(np.exp(rng.normal(np.log(1.5), 0.4))), gap - MIN_LM_SEPARATION_S)
            out.append(_Candidate(t, "cluster", sid, u, fixed_duration_s=max(dur, 0.5)))
            t += gap
        sid += 1
    # Isolated LMs.
    for t_iso in _poisson_times(rng, c.isolated_per_h, 0.0, big_t):
        out.append(_Candidate(float(t_iso), "isolated", -1, float(rng.uniform()), None, True))
    return out, resp_events


def _lm_part(
    rng: np.random.Generator, cfg: NightConfig, onset: float, duration: float
) -> tuple[Rotation, bool, float]:
    """One leg's rotation for an LM: (part, ankle_only, peak tilt deg). Always draws the same
    number of values, so later LMs keep their shapes whatever this one turns out to be."""
    m = cfg.movement
    ankle_only = bool(rng.uniform() < m.ankle_only_share)
    tilt_vis = min(m.tilt_median_deg * np.exp(rng.normal(0, m.tilt_sigma_ln)), m.tilt_max_deg)
    tilt_ank = _loguniform(rng, *m.ankle_only_tilt_deg)
    hip = bool(rng.uniform() < m.hip_share)
    axis = _flexion_axis(rng)
    lever = _lever(rng, hip)
    rise_f, fall_f = rng.uniform(0.15, 0.4, size=2)
    wander = tuple(
        (float(rng.uniform(0, m.wander_frac_max / 3)), float(f), float(rng.uniform(0, 2 * np.pi)))
        for f in (rng.uniform(0.15, 0.5), rng.uniform(0.5, 1.5), rng.uniform(1.5, 3.0))
    )
    tilt = float(tilt_ank if ankle_only else tilt_vis)
    if ankle_only:
        # A pure ankle/toe rotation: the band above the joint barely moves (soft tissue only).
        lever = lever * 0.1
        hip = False
    prof = HoldProfile(
        onset_s=onset,
        rise_s=duration * float(rise_f),
        hold_s=duration * (1.0 - float(rise_f) - float(fall_f)),
        fall_s=duration * float(fall_f),
        peak_rad=np.deg2rad(tilt),
        wander=wander,
    )
    return Rotation(axis, lever, prof), ankle_only, tilt


def _schedule_lms(
    rng: np.random.Generator, shape_rng: np.random.Generator, cfg: NightConfig
) -> tuple[list[SimEvent], list[tuple[float, float]]]:
    cands, resp_events = _lm_candidates(rng, cfg)
    if not cfg.lms.enabled:
        return [], resp_events
    c, m = cfg.lms, cfg.movement
    big_t = cfg.duration_s
    fmax = max(1.0, c.end_of_night_factor)
    priority = {"plm_series": 0, "respiratory": 1, "cluster": 2, "isolated": 3}
    drafts = []
    for pair_id, cand in enumerate(cands):
        # Draw every value for every candidate before deciding whether it is kept.
        r = shape_rng.uniform()
        lead_left = shape_rng.uniform() < 0.5
        lag = abs(float(shape_rng.normal(0, c.bilateral_lag_sd_s)))
        dur = float(
            np.clip(
                m.duration_median_s * np.exp(shape_rng.normal(0, m.duration_sigma_ln)),
                *m.duration_range_s,
            )
        )
        if cand.fixed_duration_s is not None:
            dur = cand.fixed_duration_s
        dur2 = float(np.clip(dur * np.exp(shape_rng.normal(0, 0.2)), *m.duration_range_s))
        if cand.fixed_duration_s is not None:
            dur2 = dur
        parts = [
            _lm_part(shape_rng, cfg, cand.onset_s, dur),
            _lm_part(shape_rng, cfg, cand.onset_s + lag, dur2),
        ]
        level = _technique_factor(cfg, cand.onset_s)
        if cand.thin_by_intensity:
            level *= _intensity(cfg, cand.onset_s) / fmax
        if cand.keep_u >= level:
            continue
        if r < c.bilateral_share:
            first, second = ("left", "right") if lead_left else ("right", "left")
            legs = [
                (first, cand.onset_s, dur, parts[0]),
                (second, cand.onset_s + lag, dur2, parts[1]),
            ]
        else:
            legs = [("left" if lead_left else "right", cand.onset_s, dur, parts[0])]
        if max(on + d for _, on, d, _ in legs) > big_t - 1.0:
            continue
        drafts.append((priority[cand.origin], cand.onset_s, pair_id, cand, legs))
    drafts.sort(key=lambda d: (d[0], d[1], d[2]))
    taken: dict[str, list[tuple[float, float]]] = {"left": [], "right": []}
    events = []
    for _, _, pair_id, cand, legs in drafts:
        if any(_clashes(taken[side], on, on + d) for side, on, d, _ in legs):
            continue
        for side, on, d, (part, ankle_only, tilt) in legs:
            bisect.insort(taken[side], (on, on + d))
            events.append(
                SimEvent(
                    "lm",
                    side,
                    on,
                    d,
                    (part,),
                    {
                        "origin": cand.origin,
                        "series_id": cand.series_id,
                        "pair_id": pair_id if len(legs) == 2 else -1,
                        "ankle_only": ankle_only,
                        "tilt_deg": tilt,
                    },
                )
            )
    return events, resp_events


def _clashes(intervals: list[tuple[float, float]], on: float, off: float) -> bool:
    i = bisect.bisect_left(intervals, (on, off))
    for j in (i - 1, i):
        if 0 <= j < len(intervals):
            a, b = intervals[j]
            if on < b + MIN_LM_SEPARATION_S and a < off + MIN_LM_SEPARATION_S:
                return True
    return False


# -- other body events ---------------------------------------------------------------------------
def _schedule_spasms(rng: np.random.Generator, cfg: NightConfig) -> list[SimEvent]:
    c = cfg.spasms
    events = []
    for i, t in enumerate(_poisson_times(rng, c.per_h, 1.0, cfg.duration_s - 2.0)):
        both = rng.uniform() < c.bilateral_share
        lead_left = rng.uniform() < 0.5
        lag = abs(float(rng.normal(0, 0.05)))
        legs = ["left", "right"] if lead_left else ["right", "left"]
        for k, side in enumerate(legs):
            dur = rng.uniform(*c.duration_range_s)
            tilt = min(float(c.tilt_median_deg * np.exp(rng.normal(0, c.tilt_sigma_ln))), 40.0)
            rise = rng.uniform(0.3, 0.45)
            hold = rng.uniform(0.0, 0.15)
            prof = HoldProfile(
                float(t) + k * lag,
                dur * rise,
                dur * hold,
                dur * (1 - rise - hold),
                np.deg2rad(tilt),
            )
            part = Rotation(_flexion_axis(rng), _lever(rng, False), prof)
            if k == 0 or both:
                info = {"pair_id": i if both else -1, "tilt_deg": tilt}
                events.append(SimEvent("spasm", side, prof.onset_s, float(dur), (part,), info))
    return events


@dataclass
class _PostureDraft:
    onset_s: float
    duration_s: float
    angle_rad: float
    sign: float
    yaw_pert_rad: float
    radius_m: float
    lift_g: float
    lift_dir: FloatArray
    target: str | None = None  # "prone" / "return" for the forced turns of a technique session
    source: str = "posture"


def _posture_draft(
    rng: np.random.Generator, cfg: NightConfig, onset: float, max_dur: float
) -> _PostureDraft:
    p = cfg.posture
    dur = min(float(rng.uniform(*p.duration_range_s)), max_dur)
    return _PostureDraft(
        onset_s=float(onset),
        duration_s=max(dur, 0.3),
        angle_rad=float(np.deg2rad(rng.uniform(*p.angle_range_deg))),
        sign=float(rng.choice([-1.0, 1.0])),
        yaw_pert_rad=float(np.deg2rad(rng.uniform(0, 25))),
        radius_m=float(rng.uniform(0.1, 0.3)),
        lift_g=_loguniform(rng, *p.transient_range_g),
        lift_dir=_random_unit(rng),
    )


def _posture_matrix(roll_deg: float, elev_deg: float, yaw_deg: float) -> FloatArray:
    rz = rotation_matrix(np.array([0.0, 0.0, 1.0]), np.deg2rad(yaw_deg))
    ry = rotation_matrix(np.array([0.0, 1.0, 0.0]), np.deg2rad(-elev_deg))
    rx = rotation_matrix(np.array([1.0, 0.0, 0.0]), np.deg2rad(roll_deg))
    return rz @ ry @ rx


def _build_posture(
    rng: np.random.Generator, cfg: NightConfig, drafts: list[_PostureDraft]
) -> tuple[PostureTimeline, list[SimEvent]]:
    # Initial posture: supine, prone, left or right lateral, with a bent knee and a rolled hip.
    roll0 = float(rng.choice([0.0, 180.0, 90.0, -90.0])) + rng.uniform(-20, 20)
    start = _posture_matrix(roll0, rng.uniform(-10, 25), rng.uniform(0, 360))
    q_right = rotation_matrix(_random_unit(rng), np.deg2rad(rng.uniform(5, 20)))
    drafts = sorted(drafts, key=lambda d: d.onset_s)
    kept: list[_PostureDraft] = []
    for d in drafts:
        if kept and d.onset_s < kept[-1].onset_s + kept[-1].duration_s + 2.0:
            if d.target is None:
                continue
            if kept[-1].target is None:
                kept.pop()
        kept.append(d)
    r = start
    before_session = start
    onsets, durs, axes, angles, r_froms, events = [], [], [], [], [], []
    for d in kept:
        if d.target is not None:
            if d.target == "prone":
                before_session = r
                shank = r[:, 0]
                yaw = float(np.degrees(np.arctan2(shank[1], shank[0])))
                r_to = _posture_matrix(180.0, 0.0, yaw)
            else:
                r_to = before_session
            ax, ang = axis_angle(r_to @ r.T)
            if ang < np.deg2rad(5):
                continue
        else:
            ax, ang = _turn_axis(r, d), d.angle_rad
        axes.append(ax)
        angles.append(ang)
        onsets.append(d.onset_s)
        durs.append(d.duration_s)
        r_froms.append(r)
        # The leg swings round the body's long axis at a radius: tangential and centripetal
        # acceleration (leg frame, constant vectors), plus a lift-and-set-down of the leg.
        rho_w = unit(np.cross(ax, d.lift_dir)) * d.radius_m
        turn = Rotation(r.T @ ax, r.T @ rho_w, StepProfile(d.onset_s, d.duration_s, ang), False)
        lift = Translation(d.lift_dir, LiftAccel(d.onset_s, d.duration_s, d.lift_g))
        info = {"angle_deg": float(np.degrees(ang)), "source": d.source}
        events.append(
            SimEvent("posture_change", "bilateral", d.onset_s, d.duration_s, (turn, lift), info)
        )
        r = rotation_matrix(ax, ang) @ r
    k = len(onsets)
    timeline = PostureTimeline(
        start=start,
        onset_s=np.array(onsets, dtype=np.float64),
        duration_s=np.array(durs, dtype=np.float64),
        axis=np.array(axes, dtype=np.float64).reshape(k, 3),
        angle_rad=np.array(angles, dtype=np.float64),
        r_from=np.array(r_froms, dtype=np.float64).reshape(k, 3, 3),
        q_right=q_right,
    )
    return timeline, events


def _turn_axis(r: FloatArray, d: _PostureDraft) -> FloatArray:
    """A horizontal world axis near the shank (turning over rolls the leg about the body's long
    axis); horizontal, so gravity in the leg frame turns by exactly the drawn angle. Of the two
    perturbations the one keeping the shank nearer horizontal is taken."""
    shank = r[:, 0]
    h = np.array([shank[0], shank[1], 0.0])
    base = unit(h) if np.linalg.norm(h) > 0.3 else unit(np.cross(UP_WORLD, r[:, 1]) + 1e-9)
    best, best_elev = base, np.inf
    for s in (1.0, -1.0):
        ax = rotate(base, UP_WORLD, np.array(s * d.yaw_pert_rad))
        r_to = rotation_matrix(ax, d.sign * d.angle_rad) @ r
        elev = abs(float(r_to[2, 0]))
        if elev < best_elev:
            best, best_elev = ax, elev
    return np.asarray(d.sign * best, dtype=np.float64)


def _schedule_gross(
    rng: np.random.Generator, cfg: NightConfig
) -> tuple[list[SimEvent], list[_PostureDraft]]:
    c = cfg.gross_body
    events: list[SimEvent] = []
    drafts: list[_PostureDraft] = []
    for t in _poisson_times(rng, c.per_h, 5.0, cfg.duration_s - 25.0):
        dur = _loguniform(rng, *c.duration_range_s)
        parts: list[Part] = []
        for _ in range(int(rng.integers(1, 2 + int(dur // 4)))):
            d = rng.uniform(0.5, min(3.0, dur))
            on = float(t) + rng.uniform(0, dur - d)
            tilt = np.deg2rad(_loguniform(rng, 5.0, 35.0))
            lever = np.array([rng.uniform(0.3, 0.9), rng.normal(0, 0.1), rng.normal(0, 0.1)])
            parts.append(Rotation(_random_unit(rng), lever, BumpProfile(on, d, float(tilt))))
        for _ in range(int(rng.integers(1, 5))):
            d = rng.uniform(0.3, min(1.5, dur))
            on = float(t) + rng.uniform(0, dur - d)
            peak = _loguniform(rng, *c.peak_range_g)
            parts.append(Translation(_random_unit(rng), LiftAccel(on, d, peak)))
        with_turn = rng.uniform() < c.posture_change_share
        turn_on = float(t) + rng.uniform(0.1, 0.7) * dur
        draft = _posture_draft(rng, cfg, turn_on, float(t) + dur - turn_on)
        if with_turn and cfg.posture.enabled:
            draft.source = "gross_body"
            drafts.append(draft)
        events.append(SimEvent("gross_body", "bilateral", float(t), dur, tuple(parts), {}))
    return events, drafts


def _schedule_vibration(rng: np.random.Generator, cfg: NightConfig) -> list[SimEvent]:
    c = cfg.vibration
    events = []
    for t in _count_or_rate(rng, c.count, c.per_h, 1.0, cfg.duration_s - 1.0):
        dur = rng.uniform(*c.duration_range_s)
        peak = _loguniform(rng, c.peak_range_mg[0], c.peak_range_mg[1]) / 1000.0
        freq = rng.uniform(*c.freq_range_hz)
        # The mattress moves mostly vertically: a near-vertical world direction.
        direction = unit(np.array([rng.normal(0, 0.3), rng.normal(0, 0.3), 1.0]))
        part = Translation(direction, RingAccel(float(t), dur, peak, freq))
        events.append(SimEvent("vibration", "bilateral", float(t), dur, (part,), {"freq_hz": freq}))
    return events


def _schedule_tremor(rng: np.random.Generator, cfg: NightConfig) -> list[SimEvent]:
    c = cfg.tremor
    events = []
    for t in _count_or_rate(rng, c.count, c.per_h, 30.0, max(cfg.duration_s - 30.0, 31.0)):
        dur = rng.uniform(*c.duration_range_s)
        freq = _loguniform(rng, *c.freq_range_hz)
        # Faster tremor moves less: the tilt is capped so the peak acceleration at the band
        # (tangential omega^2 r theta plus gravity theta) stays within peak_range_mg.
        tilt = _loguniform(rng, *c.tilt_range_deg)
        om2_r = (2 * np.pi * freq) ** 2 * 0.4 / G0_M_S2
        tilt = min(tilt, float(np.degrees(_loguniform(rng, *c.peak_range_mg) / 1000 / (1 + om2_r))))
        first = "left" if rng.uniform() < 0.5 else "right"
        alternating = rng.uniform() < c.alternating_share
        phase = rng.uniform(0, 2 * np.pi)
        axes = (_flexion_axis(rng), _flexion_axis(rng))
        levers = (_lever(rng, False), _lever(rng, False))
        sides = [first, "right" if first == "left" else "left"] if alternating else [first]
        for k, side in enumerate(sides):
            prof = BurstProfile(
                float(t), dur, 1.5, float(np.deg2rad(tilt)), freq, phase + k * np.pi
            )
            info = {"freq_hz": freq, "tilt_deg": tilt, "alternating": alternating}
            events.append(
                SimEvent("tremor", side, float(t), dur, (Rotation(axes[k], levers[k], prof),), info)
            )
    return events


def _schedule_sessions(
    rng: np.random.Generator, cfg: NightConfig
) -> tuple[list[SimEvent], list[_PostureDraft], list[dict[str, Any]]]:
    tc = cfg.technique
    events: list[SimEvent] = []
    drafts: list[_PostureDraft] = []
    sessions: list[dict[str, Any]] = []
    for s in tc.sessions:
        _check_session(s, cfg)
        turn = 2.0
        for target, on in (("prone", s.start_s), ("return", s.start_s + s.duration_s)):
            d = _posture_draft(rng, cfg, on, turn)
            d.duration_s, d.target, d.source = turn, target, "technique"
            drafts.append(d)
        t = s.start_s + turn + 1.0
        n = 0
        while t < s.start_s + s.duration_s - 0.5:
            dur = rng.uniform(0.15, 0.35)
            peak = _loguniform(rng, *tc.stroke_peak_range_mg) / 1000.0
            freq = rng.uniform(5.0, 12.0)
            direction = unit(np.array([rng.normal(0, 0.2), rng.normal(0, 0.2), 1.0]))
            part = Translation(direction, RingAccel(float(t), dur, peak, freq))
            events.append(
                SimEvent("technique_stroke", "bilateral", float(t), dur, (part,), {"freq_hz": freq})
            )
            t += float(np.exp(rng.normal(0, 0.1))) / s.strokes_per_s
            n += 1
        end = s.start_s + s.duration_s
        sessions.append(
            {
                "technique": s.technique,
                "region": s.region,
                "performed_by": s.performed_by,
                "start_s": s.start_s,
                "duration_s": s.duration_s,
                "n_strokes": n,
                "strokes_per_s": s.strokes_per_s,
                "effect_factor": tc.effect_factor,
                "effect_start_s": end,
                "effect_end_s": min(end + tc.effect_duration_s, cfg.duration_s),
            }
        )
    return events, drafts, sessions


def _check_session(s: TechniqueSession, cfg: NightConfig) -> None:
    from legwatch.errors import ParameterError

    if not (s.start_s >= 0 and s.start_s + s.duration_s <= cfg.duration_s - 5.0):
        raise ParameterError(
            "technique.sessions",
            f"sessions inside the night (0 to {cfg.duration_s - 5.0:g} s)",
            (s.start_s, s.start_s + s.duration_s),
        )
    if s.duration_s < 10.0 or s.strokes_per_s <= 0:
        raise ParameterError("technique.sessions", "duration_s >= 10 and strokes_per_s > 0", s)


def _schedule_respiration(
    rng: np.random.Generator, cfg: NightConfig, dips: list[tuple[float, float]]
) -> Respiration:
    c = cfg.respiration
    lo, hi = c.freq_range_hz
    mod = min(0.02, (hi - lo) / 4)
    f0 = rng.uniform(lo + mod, hi - mod)
    freq_mod = tuple(
        (mod / 2, float(_loguniform(rng, 1 / 3600, 1 / 300)), float(rng.uniform(0, 2 * np.pi)))
        for _ in range(2)
    )
    amp_mod = tuple(
        (0.15, float(_loguniform(rng, 1 / 1800, 1 / 20)), float(rng.uniform(0, 2 * np.pi)))
        for _ in range(3)
    )
    amp = _loguniform(rng, *c.amplitude_range_mg) / 1000.0
    direction = unit(np.array([rng.normal(0, 0.3), rng.normal(0, 0.3), 1.0]))
    return Respiration(
        amp, float(f0), freq_mod, amp_mod, float(rng.uniform(0, 2 * np.pi)), direction, tuple(dips)
    )


def _schedule_off_body(rng: np.random.Generator, cfg: NightConfig) -> tuple[OffBody, ...]:
    c = cfg.off_body
    big_t = cfg.duration_s
    out = []
    for _ in range(c.count):
        dur = rng.uniform(*c.duration_range_s)
        h_on, h_off = rng.uniform(*c.handling_range_s, size=2)
        lo, hi = 0.1 * big_t, 0.9 * big_t - dur
        start = rng.uniform(lo, hi) if hi > lo else None
        # On the table: face up or down, slightly tilted, at any heading.
        face = rng.choice([-1.0, 1.0])
        tilt = np.deg2rad(rng.uniform(0, 8))
        az = rng.uniform(0, 2 * np.pi)
        up_band = unit(np.array([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), face]))
        jolts = []
        for k in range(4):
            anchor = 0.0 if k < 2 else dur - h_off
            span = h_on if k < 2 else h_off
            d = rng.uniform(0.3, 1.0)
            on = anchor + rng.uniform(0, max(span - d, 0.0))
            jolts.append(
                Translation(_random_unit(rng), LiftAccel(on, d, _loguniform(rng, 0.2, 1.5)), "leg")
            )
        if start is None or not c.enabled:
            continue
        shifted = tuple(
            Translation(
                j.direction,
                LiftAccel(start + j.profile.onset_s, j.profile.duration_s, j.profile.peak_g),
                "leg",
            )
            for j in jolts
            if isinstance(j.profile, LiftAccel)
        )
        out.append(
            OffBody(
                "left",
                float(start),
                float(start + dur),
                float(h_on),
                float(h_off),
                up_band,
                shifted,
            )
        )
    return tuple(out)


def _schedule_gaps(rng: np.random.Generator, cfg: NightConfig) -> tuple[tuple[float, float], ...]:
    c = cfg.gaps
    big_t = cfg.duration_s
    lo_s, hi_s = c.short_range_s
    if c.short_fraction is not None:
        durs: list[float] = []
        while sum(durs) < c.short_fraction * big_t:
            durs.append(_loguniform(rng, lo_s, hi_s))
    else:
        n = int(rng.poisson(c.short_per_h * cfg.hours))
        durs = [_loguniform(rng, lo_s, hi_s) for _ in range(n)]
    starts = rng.uniform(1.0, big_t - 1.0 - hi_s, size=len(durs))
    gaps = [(float(s), float(s + d)) for s, d in zip(starts, durs, strict=True)]
    for _ in range(c.long_count):
        d = rng.uniform(*c.long_range_s)
        if big_t * 0.9 - d > big_t * 0.05:
            s = rng.uniform(0.05 * big_t, 0.9 * big_t - d)
            gaps.append((float(s), float(s + d)))
    if not c.enabled:
        return ()
    return tuple(_merge(sorted(gaps)))


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in intervals:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _band_setup(rng: np.random.Generator, cfg: NightConfig, side: str) -> BandSetup:
    s = cfg.sensor
    r = random_rotation(rng)
    offset = rng.uniform(-s.offset_mg_max, s.offset_mg_max, size=3) / 1000.0
    sens = 1.0 + rng.uniform(-s.sensitivity_error_frac, s.sensitivity_error_frac, size=3)
    drift = tuple(
        (
            rng.uniform(-s.bias_drift_mg, s.bias_drift_mg, size=3) / 1000.0,
            float(_loguniform(rng, 1 / 14400, 1 / 3600)),
            float(rng.uniform(0, 2 * np.pi)),
        )
        for _ in range(2)
    )
    return BandSetup(
        side,
        r,
        offset,
        sens,
        drift,
        float(rng.uniform(*s.rate_error_frac_range)),
        float(rng.uniform(*s.rate_drift_frac_range)),
    )


# -- the whole night -----------------------------------------------------------------------------
def build_schedule(cfg: NightConfig) -> Schedule:
    """Draw every event of the night described by ``cfg`` (independent of ``cfg.rate_hz``)."""
    rng = streams(cfg.seed)
    events: list[SimEvent] = []
    lms, resp_events = _schedule_lms(rng["lms"], rng["lm_shape"], cfg)
    events += lms
    if cfg.lms.enabled:
        events += [SimEvent("respiratory_event", "unknown", a, b - a) for a, b in resp_events]
    if cfg.spasms.enabled:
        events += _schedule_spasms(rng["spasms"], cfg)
    gross, gross_turns = _schedule_gross(rng["gross_body"], cfg)
    if cfg.gross_body.enabled:
        events += gross
    else:
        gross_turns = []
    p = cfg.posture
    p_rng = rng["posture"]
    drafts = []
    for t in _count_or_rate(p_rng, p.count, p.per_h, 5.0, cfg.duration_s - 10.0):
        drafts.append(_posture_draft(p_rng, cfg, float(t), 10.0))
    if not p.enabled:
        drafts = []
    session_events, session_turns, sessions = _schedule_sessions(rng["technique"], cfg)
    windows = [(s["start_s"] - 5.0, s["start_s"] + s["duration_s"] + 5.0) for s in sessions]
    drafts = [d for d in drafts + gross_turns if not any(a <= d.onset_s <= b for a, b in windows)]
    timeline, turns = _build_posture(p_rng, cfg, drafts + session_turns)
    events += turns + session_events
    if cfg.vibration.enabled:
        events += _schedule_vibration(rng["vibration"], cfg)
    if cfg.tremor.enabled:
        events += _schedule_tremor(rng["tremor"], cfg)
    events.sort(key=lambda e: (e.onset_s, e.kind, e.side))
    respiration = (
        _schedule_respiration(rng["respiration"], cfg, resp_events)
        if cfg.respiration.enabled
        else None
    )
    jump = cfg.gain.jump_at_frac * cfg.duration_s if cfg.gain.jump_factor != 1.0 else None
    sides = ("left", "right")
    return Schedule(
        duration_s=cfg.duration_s,
        events=tuple(events),
        posture=timeline,
        respiration=respiration,
        off_body=_schedule_off_body(rng["off_body"], cfg),
        gaps={s: _schedule_gaps(rng[f"gaps_{s}"], cfg) for s in sides},
        bands={s: _band_setup(rng[f"band_{s}"], cfg, s) for s in sides},
        sessions=tuple(sessions),
        gain_jump_s=jump,
    )
