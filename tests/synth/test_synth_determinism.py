"""Same seed -> same night, to the byte; rate variants carry the same events."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from legwatch.synth import NightConfig, scenario, simulate_night, write_night


def _digest(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_same_seed_gives_identical_arrays_and_bytes(tmp_path: Path) -> None:
    cfg = scenario("bilateral", seed=7, hours=0.5)
    a, b = simulate_night(cfg), simulate_night(cfg)
    for side in ("left", "right"):
        np.testing.assert_array_equal(a.recordings[side].accel_g, b.recordings[side].accel_g)
        np.testing.assert_array_equal(a.recordings[side].t_s, b.recordings[side].t_s)
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    files_a = write_night(a, tmp_path / "1" / "night.csv")
    files_b = write_night(b, tmp_path / "2" / "night.csv")
    assert [p.name for p in files_a] == ["night.csv", "night.right.csv", "night.truth.json"]
    assert _digest(files_a) == _digest(files_b)


def test_different_seed_gives_a_different_night() -> None:
    a = simulate_night(NightConfig(seed=1, hours=0.3))
    b = simulate_night(NightConfig(seed=2, hours=0.3))
    n = min(a.recordings["left"].n_samples, b.recordings["left"].n_samples)
    assert not np.array_equal(a.recordings["left"].accel_g[:n], b.recordings["left"].accel_g[:n])
    assert a.truth.to_dict()["movements"] != b.truth.to_dict()["movements"]


def test_rate_variants_carry_the_same_events() -> None:
    nights = [
        simulate_night(scenario("nominal", seed=11, hours=0.5, rate_hz=r)) for r in (25, 50, 100)
    ]
    events = [n.truth.to_dict()["movements"] for n in nights]
    assert len(events[0]) > 20
    assert events[0] == events[1] == events[2]
    counts = [n.recordings["left"].n_samples for n in nights]
    assert counts[1] == pytest.approx(2 * counts[0], rel=0.01)
    assert counts[2] == pytest.approx(4 * counts[0], rel=0.01)


def test_full_night_is_deterministic() -> None:
    cfg = NightConfig(seed=3, hours=8.0, rate_hz=10.0)
    a, b = simulate_night(cfg), simulate_night(cfg)
    np.testing.assert_array_equal(a.recordings["left"].accel_g, b.recordings["left"].accel_g)
    assert a.truth.to_dict() == b.truth.to_dict()


def test_switching_one_family_off_leaves_the_others_unchanged() -> None:
    base = scenario("nominal", seed=5, hours=0.5)
    quiet = scenario(
        "nominal", seed=5, hours=0.5, vibration=base.vibration.__class__(enabled=False)
    )
    lm_a = simulate_night(base).truth.movements.of_kind("lm")
    lm_b = simulate_night(quiet).truth.movements.of_kind("lm")
    np.testing.assert_array_equal(lm_a.onset_s, lm_b.onset_s)
    np.testing.assert_array_equal(lm_a.props["peak_g"], lm_b.props["peak_g"])
