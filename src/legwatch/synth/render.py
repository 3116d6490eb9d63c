"""Rendering a schedule into one band's samples: physics first, then the sensor.

Each event is evaluated only over its own span (vectorised numpy), at the band's true sample
times, so a rate variant of a seed sees the same events sampled differently (and aliased where the
physics is faster than Nyquist, as on a band without an anti-alias filter).
"""

from __future__ import annotations

import numpy as np

from legwatch.synth.config import NightConfig
from legwatch.synth.kinematics import G0_M_S2, UP_WORLD, FloatArray, min_jerk, rotate
from legwatch.synth.schedule import (
    STREAMS,
    OffBody,
    Rotation,
    Schedule,
    SimEvent,
    Translation,
    streams,
)


def sample_times(cfg: NightConfig, rate_error_frac: float, rate_drift_frac: float) -> FloatArray:
    """True sample times (s) of a band whose real rate is rate_hz * (1 + error) at the start and
    changes linearly by ``rate_drift_frac`` of itself by the end of the night."""
    f0 = cfg.rate_hz * (1.0 + rate_error_frac)
    big_t = cfg.duration_s
    c = f0 * rate_drift_frac / (2.0 * big_t)  # samples(t) = f0 t + c t^2
    n_max = int(np.floor(f0 * big_t + c * big_t**2))
    k = np.arange(n_max + 1, dtype=np.float64)
    if c == 0.0:
        return k / f0
    # The root of c t^2 + f0 t - k = 0 in a form that stays exact when c is small.
    return 2.0 * k / (f0 + np.sqrt(f0 * f0 + 4.0 * c * k))


def event_delta(
    ev: SimEvent, side: str, sched: Schedule, t_s: FloatArray, up_leg: FloatArray
) -> FloatArray:
    """The event's own acceleration (g, leg frame, gain not applied) at times t_s: acceleration
    with the event minus acceleration without it, noise-free. ``up_leg`` is the posture's gravity
    (specific force, 1 g up) in the leg frame at t_s."""
    out = np.zeros((t_s.size, 3))
    q = sched.posture.q_right if (side == "right" and ev.side == "bilateral") else None
    for part in ev.parts:
        if isinstance(part, Rotation):
            axis, lever = part.axis, part.lever_m
            if q is not None:
                axis, lever = q.T @ axis, q.T @ lever
            th, d1, d2 = part.profile.angle(t_s)
            if part.tilts_gravity:
                # The leg turned by theta: gravity seen from the leg turns by -theta.
                out += rotate(up_leg, axis, -th) - up_leg
            # In the moving leg frame the tangential and centripetal terms are fixed vectors.
            tang = np.cross(axis, lever)
            cent = np.cross(axis, tang)
            out += (np.outer(d2, tang) + np.outer(d1 * d1, cent)) / G0_M_S2
        elif isinstance(part, Translation):
            a = part.profile.accel_g(t_s)
            if part.frame == "world":
                out += a[:, None] * sched.posture.to_leg(side, t_s, part.direction)
            else:
                out += np.outer(a, part.direction)
    return out


def affects(ev: SimEvent, side: str) -> bool:
    return ev.side == side or ev.side == "bilateral"


def render_band(
    cfg: NightConfig, sched: Schedule, side: str, *, physics_only: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Times (s) and acceleration (g, band axes) of one band, gaps removed.

    ``physics_only`` skips the sensor (offsets, sensitivity, drift, noise, quantisation) and gaps.
    """
    band = sched.bands[side]
    t = sample_times(cfg, band.rate_error_frac, band.rate_drift_frac)
    up = sched.posture.to_leg(side, t, UP_WORLD)
    dyn = np.zeros_like(up)
    for ev in sched.events:
        if not ev.parts or not affects(ev, side):
            continue
        i0, i1 = np.searchsorted(t, [ev.onset_s, ev.offset_s])
        if i1 <= i0:
            continue
        ts = t[i0:i1]
        gain = sched.gain(cfg.gain.overall, cfg.gain.jump_factor, ts)
        dyn[i0:i1] += gain[:, None] * event_delta(ev, side, sched, ts, up[i0:i1])
    if sched.respiration is not None:
        resp = sched.respiration.accel_g(t) * sched.gain(cfg.gain.overall, cfg.gain.jump_factor, t)
        dyn += resp[:, None] * sched.posture.to_leg(side, t, sched.respiration.direction)
    accel = (up + dyn) @ band.r_band_from_leg.T
    for ob in sched.off_body:
        if ob.side == side:
            _off_body(accel, t, ob)
    if physics_only:
        return t, accel
    return _sensor(cfg, sched, side, t, accel)


def _off_body(accel: FloatArray, t: FloatArray, ob: OffBody) -> None:
    i0, i1 = np.searchsorted(t, [ob.onset_s, ob.offset_s])
    seg_t = t[i0:i1]
    # Fade between the leg's reading and the table's over the handling at each end.
    w_on = min_jerk((seg_t - ob.onset_s) / ob.handling_on_s)[0]
    w_off = min_jerk((ob.offset_s - seg_t) / ob.handling_off_s)[0]
    w = np.minimum(w_on, w_off)[:, None]
    mixed = (1 - w) * accel[i0:i1] + w * ob.table_up_band
    norm = np.linalg.norm(mixed, axis=1, keepdims=True)
    mixed = mixed / np.maximum(norm, 1e-6)
    for j in ob.jolts:
        mixed += np.outer(j.profile.accel_g(seg_t), j.direction)
    accel[i0:i1] = mixed


def _sensor(
    cfg: NightConfig, sched: Schedule, side: str, t: FloatArray, accel: FloatArray
) -> tuple[FloatArray, FloatArray]:
    s = cfg.sensor
    band = sched.bands[side]
    out = accel * band.sensitivity + band.offset_g
    for amp, nu, ph in band.drift:
        out += np.outer(np.sin(2 * np.pi * nu * t + ph), amp)
    sd_g = s.noise_density_ug_per_rthz * 1e-6 * np.sqrt(cfg.rate_hz / 2.0)
    if sd_g > 0:
        if s.noise_draw == 0:
            noise_rng = streams(cfg.seed)[f"noise_{side}"]
        else:  # another draw of this band's noise alone
            noise_rng = np.random.default_rng(
                [cfg.seed, STREAMS.index(f"noise_{side}"), s.noise_draw]
            )
        out += noise_rng.normal(0.0, sd_g, size=out.shape)
    if s.quantise:
        lsb = s.lsb_g
        out = np.clip(np.round(out / lsb), -32768, 32767) * lsb
    keep = np.ones(t.size, dtype=bool)
    for a, b in sched.gaps[side]:
        i0, i1 = np.searchsorted(t, [a, b])
        keep[i0:i1] = False
    return t[keep], out[keep]
