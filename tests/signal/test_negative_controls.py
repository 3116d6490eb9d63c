"""Nights with no leg movement at all must give (almost) no leg movements (issue 3 targets).

Seeds here were never used while choosing the detector's parameters.
"""

import pytest

from legwatch import synth
from legwatch.signal.detect import detect_movements


@pytest.mark.parametrize("seed", [211, 212])
def test_noise_alone_gives_no_leg_movement(seed: int) -> None:
    rec = synth.simulate_night(synth.scenario("noise_only", seed)).recordings["left"]
    assert rec.duration_s >= 1700
    assert len(detect_movements(rec).leg_movements) == 0


@pytest.mark.parametrize("seed", [213, 214])
def test_vibration_transients_give_at_most_two(seed: int) -> None:
    night = synth.simulate_night(synth.scenario("vibration_only", seed))
    assert (night.truth.movements.kind == "vibration").sum() == 300
    assert len(detect_movements(night.recordings["left"]).leg_movements) <= 2


@pytest.mark.parametrize("seed", [215, 216])
def test_posture_changes_are_not_counted(seed: int) -> None:
    night = synth.simulate_night(synth.scenario("posture_only", seed))
    det = detect_movements(night.recordings["left"])
    assert len(det.leg_movements) == 0
    assert (det.events.kind == "posture_change").sum() >= 30


@pytest.mark.parametrize("seed", [217, 218])
def test_tremor_bursts_are_not_counted(seed: int) -> None:
    night = synth.simulate_night(synth.scenario("tremor_only", seed))
    det = detect_movements(night.recordings["left"])
    assert len(det.leg_movements) == 0
