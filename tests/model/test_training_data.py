"""The training data: each night copied at other clock phases, each copy weighing its share."""

from __future__ import annotations

import numpy as np
import pytest

from legwatch import synth
from legwatch.errors import ParameterError
from legwatch.model.train import (
    TRAIN_CLOCK_SHIFTS,
    night_config,
    simulated_dataset,
    simulated_night_data,
)

SEED = 101  # a training seed (nominal scenario, 50 Hz)
HOURS = 0.25


def test_a_clock_copy_is_the_same_night_sampled_by_another_clock() -> None:
    plain = synth.simulate_night(night_config(SEED, HOURS))
    copy = synth.simulate_night(night_config(SEED, HOURS, clock_shift=0.003))
    # the same movements at the same times...
    truth_a, truth_b = plain.truth.movements, copy.truth.movements
    assert len(truth_a) > 10
    np.testing.assert_array_equal(truth_a.onset_s, truth_b.onset_s)
    np.testing.assert_array_equal(truth_a.kind, truth_b.kind)
    # ...sampled by a clock 0.3% faster: other instants, other samples
    a, b = plain.recordings["left"], copy.recordings["left"]
    ratio = b.fs_effective_hz / a.fs_effective_hz
    assert ratio == pytest.approx(1.003, abs=2e-4)
    assert len(b.t_s) > len(a.t_s)
    # the unshifted copy is the night as the scenario defines it
    assert night_config(SEED, HOURS, clock_shift=0.0) == night_config(SEED, HOURS)


def test_each_copy_weighs_its_share_of_the_night() -> None:
    shifts = (0.0, 0.003)
    data = simulated_dataset([SEED], hours=HOURS, clock_shifts=shifts)
    parts = [simulated_night_data(SEED, HOURS, c) for c in shifts]
    assert len(data) == sum(len(p) for p in parts)
    np.testing.assert_allclose(data.weight, 0.5)
    assert data.weight.sum() == pytest.approx(np.mean([len(p) for p in parts]))
    assert set(data.night.tolist()) == {SEED}
    # other samples: the copies' features differ
    assert not np.array_equal(parts[0].X[:5], parts[1].X[:5])
    one = simulated_dataset([SEED], hours=HOURS)
    np.testing.assert_allclose(one.weight, 1.0)


def test_the_training_copies_include_the_night_as_simulated() -> None:
    assert TRAIN_CLOCK_SHIFTS[0] == 0.0
    assert len(set(TRAIN_CLOCK_SHIFTS)) == len(TRAIN_CLOCK_SHIFTS)
    with pytest.raises(ParameterError, match="clock_shifts"):
        simulated_dataset([SEED], hours=HOURS, clock_shifts=())
