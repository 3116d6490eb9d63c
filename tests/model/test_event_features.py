"""Features of detected events: shape, names, determinism, the two-band columns."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from legwatch import synth
from legwatch.model.features import FEATURE_NAMES, OtherBand, event_features
from legwatch.model.labels import CLASSES, truth_labels
from legwatch.signal.detect import Detection, detect_movements


@functools.cache
def _night(seed: int, bilateral: bool = False) -> tuple[synth.SimulatedNight, dict[str, Detection]]:
    night = synth.simulate_night(
        synth.scenario("many_posture", seed, hours=1.0, bilateral=bilateral)
    )
    return night, {s: detect_movements(r) for s, r in night.recordings.items()}


def test_one_row_per_event_named_columns_deterministic() -> None:
    night, dets = _night(11)
    rec, det = night.recordings["left"], dets["left"]
    X = event_features(det, rec)
    assert X.shape == (len(det.events), len(FEATURE_NAMES)) and len(det.events) > 10
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    again = event_features(detect_movements(rec), rec)
    assert again.tobytes() == X.tobytes()
    # only the two-band columns are missing for one band
    nan_cols = {FEATURE_NAMES[j] for j in np.flatnonzero(np.isnan(X).all(axis=0))}
    assert nan_cols == {"xband_peak_ratio", "xband_corr"}
    # the rule one-hot reproduces the detector's kinds
    rule_cols = [FEATURE_NAMES.index(f"rule_{k}") for k in det.events.kind]
    assert np.all(X[np.arange(len(X)), rule_cols] == 1.0)
    assert np.all(X[:, [c for c in range(X.shape[1]) if FEATURE_NAMES[c].startswith("rule_")]]
                  .sum(axis=1) == 1.0)  # fmt: skip
    # the spectral shares add to one
    bands = [c for c, n in enumerate(FEATURE_NAMES) if n.startswith("band_")]
    ok = ~np.isnan(X[:, bands[0]])
    np.testing.assert_allclose(X[ok][:, bands].sum(axis=1), 1.0, atol=1e-9)


def test_posture_changes_show_their_tilt() -> None:
    night, dets = _night(11)
    det = dets["left"]
    X = event_features(det, night.recordings["left"])
    y = truth_labels(det.events, night.truth.movements)
    tilt = X[:, FEATURE_NAMES.index("tilt_2s_deg")]
    assert (y == "posture_change").any() and (y == "lm").any()
    assert np.nanmedian(tilt[y == "posture_change"]) > 20.0 > np.nanmedian(tilt[y == "lm"]) * 4


def test_two_band_features_present_with_a_second_band() -> None:
    night, dets = _night(12, bilateral=True)
    X = event_features(dets["left"], night.recordings["left"], OtherBand(dets["right"], 0.0))
    for name in ("xband_peak_ratio", "xband_corr"):
        col = X[:, FEATURE_NAMES.index(name)]
        assert np.isfinite(col).all()
    corr = X[:, FEATURE_NAMES.index("xband_corr")]
    assert corr.min() >= -1.0 - 1e-9 and corr.max() <= 1.0 + 1e-9


def test_truth_labels_are_classes() -> None:
    night, dets = _night(11)
    y = truth_labels(dets["left"].events, night.truth.movements)
    assert set(y.tolist()) <= set(CLASSES)
    assert y.shape == (len(dets["left"].events),)


def test_empty_detection_gives_empty_matrix() -> None:
    night, dets = _night(11)
    det = dets["left"]
    from dataclasses import replace

    empty = replace(det, events=det.events.subset(np.zeros(len(det.events), bool)))
    assert event_features(empty, night.recordings["left"]).shape == (0, len(FEATURE_NAMES))


@pytest.mark.parametrize("bad", ["envelope"])
def test_detection_without_envelope_is_refused(bad: str) -> None:
    from dataclasses import replace

    from legwatch.errors import ParameterError
    from legwatch.signal.detect import Envelope

    night, dets = _night(11)
    z = np.empty(0, np.float32)
    det = replace(dets["left"], envelope=Envelope(np.empty(0), z, z, np.empty((0, 3), np.float32)))
    with pytest.raises(ParameterError, match="envelope"):
        event_features(det, night.recordings["left"])
