"""The baseline re-acquires a new resting orientation after a posture change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from legwatch import synth
from legwatch.recording import BodySite, Recording
from legwatch.signal.detect import StreamingDetector, detect_movements
from legwatch.signal.params import DetectorParams

FS_HZ = 50.0


def _min_jerk(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return 10 * x**3 - 15 * x**4 + 6 * x**5


def _rot(axis: str, angle_rad: np.ndarray, v: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    if axis == "x":
        return np.column_stack([x, c * y - s * z, s * y + c * z])
    return np.column_stack([c * x + s * z, y, -s * x + c * z])


def _night(turn_deg: float, lm_at_s: float, lm_deg: float, hold_s: float) -> Recording:
    """Rest, a turn of ``turn_deg`` at 120 s (1.5 s), then a flex-hold-return leg movement."""
    rng = np.random.default_rng(7)
    t = np.arange(0.0, 300.0, 1.0 / FS_HZ)
    g = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    turn = np.radians(turn_deg) * _min_jerk((t - 120.0) / 1.5)
    flex = _min_jerk((t - lm_at_s) / 1.0) - _min_jerk((t - lm_at_s - 1.0 - hold_s) / 1.0)
    a = _rot("x", turn, _rot("y", np.radians(lm_deg) * flex, g))
    a += rng.normal(0.0, 0.0015, a.shape)
    return Recording(a, t, datetime(2026, 3, 4, 22, tzinfo=UTC), FS_HZ, site=BodySite.LEFT_ANKLE)


def _kinds(rec: Recording, params: DetectorParams | None = None) -> list[tuple[float, str]]:
    ev = detect_movements(rec, params).events
    return [(round(float(o), 1), str(k)) for o, k in zip(ev.onset_s, ev.kind, strict=True)]


def test_a_leg_movement_soon_after_a_turn_is_found() -> None:
    rec = _night(turn_deg=60.0, lm_at_s=130.0, lm_deg=15.0, hold_s=1.0)
    kinds = _kinds(rec)
    assert [k for _, k in kinds] == ["posture_change", "lm"], kinds
    assert abs(kinds[1][0] - 130.0) < 0.5
    # the provisional reference alone finds it (re-acquisition slowed to half the 24 s window)
    p = DetectorParams()
    slow = replace(p, thresholds=replace(p.thresholds, reacquire_still_s=24.0))
    assert [k for _, k in _kinds(rec, slow)] == ["posture_change", "lm"]
    # without either, the baseline needs half its window to turn: the movement is swallowed
    neither = replace(slow, thresholds=replace(slow.thresholds, settle_mg=0.0))
    assert "lm" not in [k for _, k in _kinds(rec, neither)]


@pytest.mark.parametrize("after_s", [0.8, 1.5, 3.0])
def test_a_leg_movement_straight_after_a_turn_is_found_and_emitted_on_time(after_s: float) -> None:
    """No still second between the turn and the movement, so re-acquisition cannot help: the
    provisional reference must, and the movement is still emitted within 1 s of its offset."""
    turn_end = 121.5
    rec = _night(turn_deg=60.0, lm_at_s=turn_end + after_s, lm_deg=15.0, hold_s=0.5)
    det = StreamingDetector(rec.fs_effective_hz, rec.side)
    chunk = round(FS_HZ / 4)
    got = []
    for i in range(0, rec.n_samples, chunk):
        out = det.push(rec.t_s[i : i + chunk], rec.accel_g[i : i + chunk])
        now = float(rec.t_s[min(i + chunk, rec.n_samples) - 1])
        got += [
            (float(o), float(o + d), str(k), now)
            for o, d, k in zip(out.onset_s, out.duration_s, out.kind, strict=True)
        ]
    kinds = [k for _, _, k, _ in got]
    assert kinds == ["posture_change", "lm"], got
    onset, offset, _, emitted = got[1]
    assert abs(onset - (turn_end + after_s)) < 0.5
    assert emitted - offset <= 1.0


@pytest.mark.parametrize("hold_s", [0.5, 2.0, 3.5])
def test_a_held_leg_movement_is_not_taken_for_a_new_posture(hold_s: float) -> None:
    rec = _night(turn_deg=0.0, lm_at_s=150.0, lm_deg=40.0, hold_s=hold_s)
    kinds = _kinds(rec)
    assert [k for _, k in kinds] == ["lm"], kinds
    assert abs(kinds[0][0] - 150.0) < 0.5


@pytest.mark.parametrize("chunk", [1, 17, 50, 333])
def test_reacquisition_is_chunk_invariant(chunk: int) -> None:
    """Streaming in any chunk size gives the offline events and envelope, bit for bit, on a night
    with many posture changes (so re-acquisitions fall at many positions inside the chunks)."""
    cfg = synth.scenario("many_posture", 5, hours=0.3 if chunk == 1 else 0.6)
    rec = synth.simulate_night(cfg).recordings["left"]
    offline = detect_movements(rec)
    det = StreamingDetector(rec.fs_effective_hz, rec.side, keep_envelope=True)
    parts = [
        det.push(rec.t_s[i : i + chunk], rec.accel_g[i : i + chunk])
        for i in range(0, rec.n_samples, chunk)
    ]
    parts.append(det.flush())
    onsets = np.concatenate([p.onset_s for p in parts])
    kinds = np.concatenate([p.kind for p in parts])
    assert np.array_equal(onsets, offline.events.onset_s)
    assert np.array_equal(kinds, offline.events.kind)
    assert (offline.events.kind == "posture_change").sum() >= 2
    env = det.envelope()
    assert np.array_equal(env.activity_mg, offline.envelope.activity_mg)
    assert np.array_equal(env.floor_mg, offline.envelope.floor_mg)
