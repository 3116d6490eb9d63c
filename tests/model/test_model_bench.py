"""The label-stability check of ``bench.model_accuracy`` counts what it says it counts."""

from __future__ import annotations

import pytest

from legwatch.bench import model_accuracy

SEED = 1000  # a held-out seed: the check measures, it chooses nothing
HOURS = 0.5


def test_an_unchanged_clock_changes_no_label(monkeypatch: pytest.MonkeyPatch) -> None:
    # the same timing again: analysis is deterministic, so nothing may change
    monkeypatch.setattr(model_accuracy, "CLOCK_PPM", (0.0, 0.0))
    out = model_accuracy.clock_stability(SEED, None, hours=HOURS)
    assert out["events"] > 0
    assert out["events"] % 2 == 0  # the same events, counted once per timing
    assert out["class_changes"] == out["lm_changes"] == out["rule_changes"] == 0
    assert out["detection_changed"] == 0


def test_a_clock_error_is_counted_per_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_accuracy, "CLOCK_PPM", (-10.0, 10.0))
    out = model_accuracy.clock_stability(SEED, None, hours=HOURS)
    assert out["detection_changed"] in (0.0, 1.0, 2.0)
    compared = int(2 - out["detection_changed"])
    if compared:  # each timing compared holds exactly the unshifted night's events
        assert out["events"] % compared == 0
    assert (out["events"] > 0) == (compared > 0)
    # a change into or out of LM is a class change
    assert 0 <= out["lm_changes"] <= out["class_changes"] <= out["events"]
    assert out["rule_changes"] <= out["events"]
