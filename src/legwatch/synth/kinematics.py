"""Continuous-time motion primitives with analytic derivatives, and rotation helpers.

Everything here is a function of true time in seconds, so an event evaluates to the same physics
at any sampling rate. Angles are radians inside, accelerations m/s^2 until converted to g.

Frames: the *world* frame has z up; the *leg* frame has x along the shank (knee to ankle),
y lateral and z anterior (the shin). An accelerometer reads specific force: at rest, +1 g up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

G0_M_S2 = 9.80665
UP_WORLD = np.array([0.0, 0.0, 1.0])

FloatArray = NDArray[np.float64]


def min_jerk(tau: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Minimum-jerk step 0 -> 1 over tau in [0, 1] (Flash & Hogan 1985) and its tau-derivatives."""
    x = np.clip(tau, 0.0, 1.0)
    inside = (tau > 0) & (tau < 1)
    s = x**3 * (10 - 15 * x + 6 * x**2)
    d1 = np.where(inside, 30 * x**2 * (1 - x) ** 2, 0.0)
    d2 = np.where(inside, 60 * x * (1 - x) * (1 - 2 * x), 0.0)
    return s, d1, d2


def bump(tau: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Out-and-back 64 tau^3 (1 - tau)^3 (peak 1 at tau = 0.5, zero velocity and acceleration at
    both ends) and its tau-derivatives."""
    x = np.clip(tau, 0.0, 1.0)
    inside = (tau > 0) & (tau < 1)
    u = x * (1 - x)
    s = 64 * u**3
    du = 1 - 2 * x
    d1 = np.where(inside, 192 * u**2 * du, 0.0)
    d2 = np.where(inside, 192 * (2 * u * du**2 - 2 * u**2), 0.0)
    return s, d1, d2


#: max |d2 bump / dtau2| (at tau = 0.5 -/+ ...), used to give translation bumps a chosen peak.
_BUMP_D2_MAX = float(np.max(np.abs(bump(np.linspace(0, 1, 20001))[2])))


@dataclass(frozen=True)
class HoldProfile:
    """Angle of a leg movement: minimum-jerk rise, a held plateau that wanders, minimum-jerk return.

    theta(t) = peak * e(t) * (1 + sum_i a_i sin(2 pi f_i (t - onset) + phi_i)), with e the plateau
    envelope (0 -> 1 over rise_s, 1 for hold_s, 1 -> 0 over fall_s).
    """

    onset_s: float
    rise_s: float
    hold_s: float
    fall_s: float
    peak_rad: float
    wander: tuple[tuple[float, float, float], ...] = ()  # (fraction, freq_hz, phase_rad)

    @property
    def duration_s(self) -> float:
        return self.rise_s + self.hold_s + self.fall_s

    def angle(self, t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """theta (rad), theta' (rad/s), theta'' (rad/s^2) at times t (s)."""
        dt = t - self.onset_s
        r0, r1, r2 = min_jerk(dt / self.rise_s)
        f0, f1, f2 = min_jerk((dt - self.rise_s - self.hold_s) / self.fall_s)
        e0 = r0 - f0
        e1 = r1 / self.rise_s - f1 / self.fall_s
        e2 = r2 / self.rise_s**2 - f2 / self.fall_s**2
        w0 = np.ones_like(t)
        w1 = np.zeros_like(t)
        w2 = np.zeros_like(t)
        for frac, freq, phase in self.wander:
            om = 2 * np.pi * freq
            arg = om * dt + phase
            s, c = np.sin(arg), np.cos(arg)
            w0 = w0 + frac * s
            w1 = w1 + frac * om * c
            w2 = w2 - frac * om**2 * s
        p = self.peak_rad
        return p * e0 * w0, p * (e1 * w0 + e0 * w1), p * (e2 * w0 + 2 * e1 * w1 + e0 * w2)


@dataclass(frozen=True)
class BumpProfile:
    """Out-and-back angle (rad) peaking at ``peak_rad`` halfway through ``duration_s``."""

    onset_s: float
    duration_s: float
    peak_rad: float

    def angle(self, t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        s, d1, d2 = bump((t - self.onset_s) / self.duration_s)
        d = self.duration_s
        return self.peak_rad * s, self.peak_rad * d1 / d, self.peak_rad * d2 / d**2


@dataclass(frozen=True)
class StepProfile:
    """Minimum-jerk step of ``angle_rad`` over ``duration_s`` (the turn of a posture change)."""

    onset_s: float
    duration_s: float
    angle_rad: float

    def angle(self, t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        s, d1, d2 = min_jerk((t - self.onset_s) / self.duration_s)
        d = self.duration_s
        return self.angle_rad * s, self.angle_rad * d1 / d, self.angle_rad * d2 / d**2


@dataclass(frozen=True)
class BurstProfile:
    """Oscillating angle: amp * e(t) * sin(2 pi f (t - onset) + phase), e a plateau with
    minimum-jerk ramps of ``ramp_s`` (tremor and ALMA bursts)."""

    onset_s: float
    duration_s: float
    ramp_s: float
    amp_rad: float
    freq_hz: float
    phase_rad: float

    def angle(self, t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        env = HoldProfile(
            self.onset_s, self.ramp_s, self.duration_s - 2 * self.ramp_s, self.ramp_s, 1.0
        )
        e0, e1, e2 = env.angle(t)
        om = 2 * np.pi * self.freq_hz
        arg = om * (t - self.onset_s) + self.phase_rad
        s, c = np.sin(arg), np.cos(arg)
        a = self.amp_rad
        return (
            a * e0 * s,
            a * (e1 * s + e0 * om * c),
            a * (e2 * s + 2 * e1 * om * c - e0 * om**2 * s),
        )


@dataclass(frozen=True)
class LiftAccel:
    """Acceleration (g) of an out-and-back displacement (bump) whose peak acceleration is peak_g."""

    onset_s: float
    duration_s: float
    peak_g: float

    def accel_g(self, t: FloatArray) -> FloatArray:
        d2 = bump((t - self.onset_s) / self.duration_s)[2]
        return self.peak_g * d2 / _BUMP_D2_MAX


@dataclass(frozen=True)
class RingAccel:
    """Damped ringing (g): peak * exp(-(t - onset)/tau) * sin(2 pi f (t - onset)), zero after
    ``duration_s`` (tau = duration/4, so the cut leaves < 2% of the peak)."""

    onset_s: float
    duration_s: float
    peak_g: float
    freq_hz: float

    def accel_g(self, t: FloatArray) -> FloatArray:
        dt = t - self.onset_s
        inside = (dt >= 0) & (dt <= self.duration_s)
        tau = self.duration_s / 4.0
        y = np.exp(-np.clip(dt, 0, None) / tau) * np.sin(2 * np.pi * self.freq_hz * dt)
        return np.where(inside, self.peak_g * y, 0.0)


AngleProfile = HoldProfile | BumpProfile | StepProfile | BurstProfile
AccelProfile = LiftAccel | RingAccel


# -- rotations -----------------------------------------------------------------------------------
def rotate(v: FloatArray, axis: FloatArray, angle: FloatArray) -> FloatArray:
    """Rotate vectors ``v`` ((n, 3) or (3,)) about unit ``axis`` (3,) by ``angle`` (rad, (n,)),
    right-handed (Rodrigues)."""
    angle = np.asarray(angle, dtype=np.float64)
    v = np.broadcast_to(v, (*angle.shape, 3))
    c = np.cos(angle)[..., None]
    s = np.sin(angle)[..., None]
    k = np.asarray(axis, dtype=np.float64)
    kxv = np.cross(k, v)
    kdv = (v @ k)[..., None]
    return v * c + kxv * s + k * kdv * (1 - c)


def rotation_matrix(axis: FloatArray, angle_rad: float) -> FloatArray:
    """3x3 matrix of a right-handed rotation about unit ``axis``."""
    return rotate(np.eye(3), axis, np.full(3, angle_rad)).T


def random_rotation(rng: np.random.Generator) -> FloatArray:
    """A rotation matrix drawn uniformly on SO(3) (from a random unit quaternion)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def unit(v: FloatArray) -> FloatArray:
    return np.asarray(v, dtype=np.float64) / float(np.linalg.norm(v))


def axis_angle(r: FloatArray) -> tuple[FloatArray, float]:
    """Axis (unit) and angle (rad, 0..pi) of rotation matrix ``r``."""
    angle = float(np.arccos(np.clip((np.trace(r) - 1) / 2, -1, 1)))
    if angle < 1e-9:
        return np.array([1.0, 0.0, 0.0]), 0.0
    if np.pi - angle < 1e-6:
        # Near a half turn: the axis is the column of r + I with the largest norm.
        m = r + np.eye(3)
        col = m[:, int(np.argmax(np.linalg.norm(m, axis=0)))]
        return unit(col), angle
    ax = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    return unit(ax), angle
