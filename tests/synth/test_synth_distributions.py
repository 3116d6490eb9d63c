"""What the nights contain: shares, amplitudes, intervals, bilateral pairs, technique effect."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from legwatch.errors import ParameterError
from legwatch.synth import SCENARIOS, LMScheduleConfig, NightConfig, scenario, simulate_night
from legwatch.synth.scenarios import _only


def _lm_night(seed: int, hours: float = 2.0, **lms: Any) -> NightConfig:
    cfg = _only(NightConfig(seed=seed, hours=hours, rate_hz=10.0), "lms")
    return replace(cfg, lms=replace(cfg.lms, **lms))


def test_ankle_only_share_and_visible_share() -> None:
    night = simulate_night(_lm_night(1, hours=3.0, isolated_per_h=300.0))
    lms = night.truth.movements.of_kind("lm")
    n = len(lms)
    assert n > 250
    ankle = lms.props["ankle_only"]
    assert ankle.mean() == pytest.approx(0.39, abs=3 * np.sqrt(0.39 * 0.61 / n))
    # Ankle-only movements are rendered tiny: a fraction of a mg to a few mg.
    assert lms.props["peak_g"][ankle].max() < 0.005
    too_small = ~ankle & (lms.props["rms_peak_g"] < 0.010)
    visible = lms.props["visible"]
    assert visible.sum() / (n - too_small.sum()) == pytest.approx(0.61, abs=0.08)
    np.testing.assert_array_equal(visible, ~ankle & ~too_small)


def test_amplitudes_span_the_noise_floor_to_a_large_movement() -> None:
    night = simulate_night(_lm_night(2, hours=3.0, isolated_per_h=300.0))
    lms = night.truth.movements.of_kind("lm")
    rms_mg = lms.props["rms_peak_g"][~lms.props["ankle_only"]] * 1000
    below_10 = np.mean(rms_mg < 10)
    assert 0.02 <= below_10 <= 0.25  # a real share near the noise floor
    assert np.percentile(rms_mg, 10) < 30  # small (~30 mg)
    assert 60 < np.median(rms_mg) < 250  # medium (~180 mg)
    assert np.percentile(rms_mg, 95) > 400  # large (~1000 mg)
    assert np.all((lms.duration_s >= 0.5) & (lms.duration_s <= 10.0))
    assert np.mean((lms.duration_s >= 1) & (lms.duration_s <= 5)) > 0.6


def test_plm_series_intervals() -> None:
    night = simulate_night(replace(_lm_night(3, hours=8.0), bilateral=True))
    lms = night.truth.movements.of_kind("lm")
    series = lms.props["origin"] == "plm_series"
    imis = []
    for sid in np.unique(lms.props["series_id"][series]):
        sel = series & (lms.props["series_id"] == sid)
        onsets, pairs = lms.onset_s[sel], lms.props["pair_id"][sel]
        # One onset per movement: the leading leg of a bilateral pair.
        first = [on for on, p in zip(onsets, pairs, strict=True) if p < 0]
        for p in np.unique(pairs[pairs >= 0]):
            first.append(onsets[pairs == p].min())
        imis += np.diff(np.sort(first)).tolist()
    imi = np.array(imis)
    assert imi.size > 100
    assert 15.0 <= np.median(imi) <= 40.0
    assert np.mean((imi >= 10) & (imi <= 90)) > 0.8  # periodic, with some broken intervals
    assert np.any(imi < 10) or np.any(imi > 90)
    assert night.truth.scoring["wasm2016"].indices["n_plm"] > 0


def test_bilateral_share() -> None:
    night = simulate_night(replace(_lm_night(4, isolated_per_h=150.0), bilateral=True))
    lms = night.truth.movements.of_kind("lm")
    pairs = lms.props["pair_id"]
    n_pairs = np.unique(pairs[pairs >= 0]).size
    assert np.all(np.unique(pairs[pairs >= 0], return_counts=True)[1] == 2)
    n_movements = n_pairs + np.sum(pairs < 0)
    assert n_pairs / n_movements == pytest.approx(0.35, abs=0.07)
    single = lms.side[pairs < 0]
    assert 0.35 < np.mean(single == "left") < 0.65
    for p in np.unique(pairs[pairs >= 0])[:50]:
        on = lms.onset_s[pairs == p]
        assert set(lms.side[pairs == p]) == {"left", "right"}
        assert abs(on[1] - on[0]) < 1.5  # onsets a fraction of a second apart


def test_technique_effect_lowers_the_lm_rate_after_a_session() -> None:
    lms_cfg = LMScheduleConfig(isolated_per_h=60.0)
    with_effect = simulate_night(scenario("technique", seed=5, hours=2.0, lms=lms_cfg))
    without = simulate_night(scenario("nominal", seed=5, hours=2.0, lms=lms_cfg))
    sessions = with_effect.truth.sessions
    assert len(sessions) == 2
    assert all(250 <= s["n_strokes"] <= 500 for s in sessions)
    start, end = sessions[0]["effect_start_s"], sessions[0]["effect_end_s"]

    def count(night: object) -> int:
        lms = night.truth.movements.of_kind("lm")  # type: ignore[attr-defined]
        return int(np.sum((lms.onset_s >= start) & (lms.onset_s < end)))

    assert count(without) > 40
    assert count(with_effect) < 0.4 * count(without)
    turns = with_effect.truth.movements.of_kind("posture_change")
    assert np.sum(np.abs(turns.onset_s - sessions[0]["start_s"]) < 1e-9) == 1
    strokes = with_effect.truth.movements.of_kind("technique_stroke")
    assert len(strokes) == sum(s["n_strokes"] for s in sessions)


def test_every_scenario_runs_and_names_are_checked() -> None:
    assert len(SCENARIOS) >= 16
    for name in SCENARIOS:
        night = simulate_night(scenario(name, seed=1, hours=0.2, rate_hz=25.0))
        assert night.recordings["left"].fs_nominal_hz == 25.0
        assert ("right" in night.recordings) == (name == "bilateral")
    with pytest.raises(ParameterError, match="nominal"):
        scenario("no_such_night", seed=1)
    with pytest.raises(ParameterError, match="hourz"):
        scenario("nominal", seed=1, hourz=2.0)


def test_low_plm_scenario_index_is_about_two_per_hour() -> None:
    plm = [
        simulate_night(scenario("low_plm", seed=s, rate_hz=5.0)).truth.indices["plm_per_h"]
        for s in range(4)
    ]
    assert 0.5 < float(np.mean(plm)) < 4.0
