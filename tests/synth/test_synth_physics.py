"""Physics checks: posture turns gravity, vibration does not, visibility matches its definition,
gaps remove samples, off-body is still, noise has the configured density."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from legwatch.synth import (
    VISIBLE_THRESHOLD_G,
    GainConfig,
    NightConfig,
    SensorConfig,
    scenario,
    simulate_night,
)
from legwatch.synth.scenarios import _only


def _mean(rec_t: np.ndarray, accel: np.ndarray, a: float, b: float) -> np.ndarray:
    i0, i1 = np.searchsorted(rec_t, [a, b])
    assert i1 - i0 > 10
    return accel[i0:i1].mean(axis=0)


def _angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    c = np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v)
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))))


def _isolated(onsets: np.ndarray, offsets: np.ndarray, clearance_s: float) -> np.ndarray:
    prev_off = np.concatenate(([-np.inf], offsets[:-1]))
    next_on = np.concatenate((onsets[1:], [np.inf]))
    return (onsets - prev_off > clearance_s) & (next_on - offsets > clearance_s)


def test_posture_changes_rotate_gravity_by_their_angle() -> None:
    night = simulate_night(scenario("posture_only", seed=4, hours=1.0))
    rec = night.recordings["left"]
    turns = night.truth.movements.of_kind("posture_change")
    assert len(turns) >= 30
    ok = _isolated(turns.onset_s, turns.offset_s, 8.0)
    assert ok.sum() >= 15
    for on, off, angle in zip(
        turns.onset_s[ok], turns.offset_s[ok], turns.props["angle_deg"][ok], strict=True
    ):
        before = _mean(rec.t_s, rec.accel_g, on - 5.0, on - 0.2)
        after = _mean(rec.t_s, rec.accel_g, off + 0.2, off + 5.0)
        assert 20.0 <= angle <= 120.0
        # Per-axis sensitivity errors (2%) and offsets (10 mg) bend angles by a degree or two.
        assert abs(_angle_deg(before, after) - angle) < 3.0


def test_vibration_does_not_tilt_the_band() -> None:
    night = simulate_night(scenario("vibration_only", seed=2, hours=1.0))
    rec = night.recordings["left"]
    vib = night.truth.movements.of_kind("vibration")
    assert len(vib) == 300
    ok = _isolated(vib.onset_s, vib.offset_s, 2.0)
    big = ok & (vib.props["peak_g"] > 0.02)
    assert big.sum() >= 5
    for on, off in zip(vib.onset_s[big], vib.offset_s[big], strict=True):
        before = _mean(rec.t_s, rec.accel_g, on - 1.5, on)
        after = _mean(rec.t_s, rec.accel_g, off, off + 1.5)
        assert _angle_deg(before, after) < 0.2
        # ...yet it is there: the ringing stands out of the ~1 mg noise.
        i0, i1 = np.searchsorted(rec.t_s, [on, off])
        assert np.abs(rec.accel_g[i0:i1] - before).max() > 0.005


def _clean_lm_night(seed: int) -> NightConfig:
    clean = SensorConfig(
        noise_density_ug_per_rthz=0.0,
        quantise=False,
        offset_mg_max=0.0,
        sensitivity_error_frac=0.0,
        bias_drift_mg=0.0,
        rate_error_frac_range=(0.0, 0.0),
        rate_drift_frac_range=(0.0, 0.0),
    )
    base = NightConfig(seed=seed, hours=1.0, rate_hz=100.0, sensor=clean, gain=GainConfig(1.3))
    cfg = _only(base, "lms")
    return replace(cfg, lms=replace(cfg.lms, isolated_per_h=120.0, clusters_per_h=0.0))


def test_visible_flag_matches_its_definition_recomputed_from_the_samples() -> None:
    night = simulate_night(_clean_lm_night(seed=9))
    rec = night.recordings["left"]
    lms = night.truth.movements.of_kind("lm")
    # With nothing else in the night the band reads one constant gravity vector between LMs.
    still = rec.accel_g[0]
    dyn = rec.accel_g - still
    mag2 = np.einsum("ij,ij->i", dyn, dyn)
    c = np.concatenate(([0.0], np.cumsum(mag2)))
    rms = np.sqrt((c[50:] - c[:-50]) / 50)  # 0.5 s windows at 100 Hz, starting at each sample
    ok = _isolated(lms.onset_s, lms.offset_s, 1.0)
    checked = 0
    for i in np.flatnonzero(ok):
        i0, i1 = np.searchsorted(rec.t_s, [lms.onset_s[i] - 0.5, lms.offset_s[i]])
        peak = rms[i0:i1].max()
        if abs(peak - VISIBLE_THRESHOLD_G) < 0.05 * VISIBLE_THRESHOLD_G:
            continue
        expected = (not lms.props["ankle_only"][i]) and peak >= VISIBLE_THRESHOLD_G
        assert bool(lms.props["visible"][i]) == expected
        assert peak == np.float64(lms.props["rms_peak_g"][i]) or abs(
            peak - lms.props["rms_peak_g"][i]
        ) < 0.03 * max(peak, 1e-3)
        checked += 1
    assert checked >= 40
    assert 0 < lms.props["visible"].sum() < len(lms)


def test_gaps_remove_samples_and_appear_in_the_recording() -> None:
    night = simulate_night(scenario("gaps", seed=6, hours=1.0))
    rec = night.recordings["left"]
    gaps = night.truth.movements.of_kind("gap")
    assert len(gaps) >= 10
    assert any(abs(d - 90.0) < 1e-9 for d in gaps.duration_s)
    short = gaps.duration_s[gaps.duration_s < 60]
    assert 0.018 * 3600 <= short.sum() <= 0.03 * 3600
    for on, off in zip(gaps.onset_s, gaps.offset_s, strict=True):
        i0, i1 = np.searchsorted(rec.t_s, [on, off])
        assert i1 == i0, "a sample inside a gap"
        assert any(g.start_s <= on and off <= g.end_s for g in rec.gaps)
    for a, b in night.truth.analysable:
        assert not any(
            a < off and on < b for on, off in zip(gaps.onset_s, gaps.offset_s, strict=True)
        )


def test_off_body_stretch_is_still_and_not_analysable() -> None:
    night = simulate_night(scenario("nominal", seed=8, hours=1.0))
    rec = night.recordings["left"]
    (ob,) = [r for r in night.truth.movements.records() if r["kind"] == "off_body"]
    on, off = ob["onset_s"], ob["onset_s"] + ob["duration_s"]
    i0, i1 = np.searchsorted(rec.t_s, [on + 7.0, off - 7.0])
    table = rec.accel_g[i0:i1]
    assert table.shape[0] > 100 * 50
    assert np.all(table.std(axis=0) < 0.002)  # noise (~1 mg) only: no breathing, no movement
    assert abs(np.linalg.norm(table.mean(axis=0)) - 1.0) < 0.03
    assert not any(
        a < off and on < b and (min(b, off) - max(a, on)) > 1e-6 for a, b in night.truth.analysable
    )


def test_noise_only_has_the_configured_density() -> None:
    night = simulate_night(scenario("noise_only", seed=1, rate_hz=50.0))
    rec = night.recordings["left"]
    assert len(night.truth.movements) == 0
    assert rec.duration_s > 0.49 * 3600
    expected_sd = 200e-6 * np.sqrt(50.0 / 2)
    sd = np.diff(rec.accel_g, axis=0).std(axis=0) / np.sqrt(2)
    np.testing.assert_allclose(sd, expected_sd, rtol=0.1)
    lsb = 16 / 65536
    np.testing.assert_allclose(rec.accel_g / lsb, np.round(rec.accel_g / lsb), atol=1e-6)
