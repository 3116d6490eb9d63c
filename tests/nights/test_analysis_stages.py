"""analyze_night in two stages: detect once, then analyse with as many event models as wanted."""

import numpy as np
import pytest

import legwatch.model.features as features
from legwatch import synth
from legwatch.errors import ParameterError
from legwatch.model.classifier import classify_events, default_model
from legwatch.nights.analysis import analyze_detected, analyze_night, detect_night


def test_one_detection_serves_several_models_and_each_gets_what_analyze_night_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    night = synth.simulate_night(synth.scenario("nominal", 503, hours=1.0, bilateral=True))
    recs = list(night.recordings.values())
    fresh_default = analyze_night(recs).to_json()
    fresh_rules = analyze_night(recs, model=None).to_json()
    fresh_aasm = analyze_night(recs, rules="aasm").to_json()

    calls = []
    original = features.event_features

    def counting(*args, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(*args, **kw)

    monkeypatch.setattr(features, "event_features", counting)
    detected = detect_night(recs)
    assert len(detected.bands) == 2
    # the model first, then the rules alone, then the model again: nothing carries over
    assert analyze_detected(detected).to_json() == fresh_default
    assert analyze_detected(detected, model=None).to_json() == fresh_rules
    assert analyze_detected(detected, rules="aasm").to_json() == fresh_aasm
    assert analyze_detected(detected).to_json() == fresh_default
    # the features of each band were computed once, however many analyses read them
    assert len(calls) == 2


def test_analysing_a_detected_night_leaves_it_as_it_was() -> None:
    night = synth.simulate_night(synth.scenario("nominal", 504, hours=1.0))
    detected = detect_night(night.recordings["left"])
    before = (list(detected.warnings), [b.detection.events.kind.copy() for b in detected.bands])
    first = analyze_detected(detected)
    second = analyze_detected(detected)
    # a 1 h night gets the short-night warning once per analysis, not once more each time
    short = [w for w in second.warnings if "analysable" in w and "short night" in w]
    assert len(short) == 1 and first.warnings == second.warnings
    assert detected.warnings == before[0]
    # the model's kinds and probabilities went into the analysis, not into the detected night
    np.testing.assert_array_equal(detected.bands[0].detection.events.kind, before[1][0])
    assert "p_lm" in first.bands[0].detection.events.props
    assert "p_lm" not in detected.bands[0].detection.events.props


def test_an_unknown_rule_set_is_refused_before_the_detection_runs() -> None:
    with pytest.raises(ParameterError, match="rules"):
        analyze_night([], rules="aasm2099")  # no recordings: the rule set is checked first


def test_features_given_to_the_classifier_must_be_one_row_per_event() -> None:
    night = synth.simulate_night(synth.scenario("nominal", 504, hours=1.0))
    band = detect_night(night.recordings["left"]).bands[0]
    n = len(band.detection.events)
    wrong = np.zeros((n + 1, len(features.FEATURE_NAMES)))
    with pytest.raises(ParameterError, match=f"one row of .* per event \\({n} events\\)"):
        classify_events(band.detection, band.recording, default_model(), features=wrong)
