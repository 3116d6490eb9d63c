"""Same seed -> same night, to the byte; rate variants carry the same events."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from legwatch.errors import ParameterError
from legwatch.synth import NightConfig, scenario, simulate_night, write_night
from legwatch.synth.config import SensorConfig


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


def test_a_noise_draw_changes_the_noise_and_nothing_else() -> None:
    base = scenario("nominal", seed=11, hours=0.3)
    nights = [
        simulate_night(replace(base, sensor=replace(base.sensor, noise_draw=d))) for d in (0, 1, 2)
    ]
    own = simulate_night(base)
    np.testing.assert_array_equal(
        nights[0].recordings["left"].accel_g, own.recordings["left"].accel_g
    )
    moves = [n.truth.to_dict()["movements"] for n in nights]
    assert len(moves[0]) > 5
    assert moves[0] == moves[1] == moves[2]
    np.testing.assert_array_equal(
        nights[0].recordings["left"].t_s, nights[1].recordings["left"].t_s
    )
    # two independent draws of white noise: the difference has sqrt(2) times the noise's SD
    sd = base.sensor.noise_density_ug_per_rthz * 1e-6 * np.sqrt(base.rate_hz / 2.0)
    for other in nights[1:]:
        diff = nights[0].recordings["left"].accel_g - other.recordings["left"].accel_g
        assert diff.std(axis=0) == pytest.approx(np.sqrt(2.0) * sd, rel=0.05)
    d12 = nights[1].recordings["left"].accel_g - nights[2].recordings["left"].accel_g
    assert d12.std(axis=0) == pytest.approx(np.sqrt(2.0) * sd, rel=0.05)


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_a_noise_draw_must_be_a_whole_number(bad: object) -> None:
    with pytest.raises(ParameterError, match="noise_draw"):
        SensorConfig(noise_draw=bad)  # type: ignore[arg-type]


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
