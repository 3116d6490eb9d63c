"""classify_events on small nights, labels stored with a night, and personal retraining."""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from legwatch import synth
from legwatch.commands.model import model_app
from legwatch.model.classifier import EventModel, classify_events, default_model, sidecar_for
from legwatch.model.features import FEATURE_NAMES
from legwatch.model.labels import CLASSES, labels_path, read_labels, truth_labels
from legwatch.model.train import (
    PERSONAL_FAMILY,
    PERSONAL_WEIGHT,
    Dataset,
    candidate_models,
    fit,
    personal_dataset,
    simulated_night_data,
    train_personal,
)
from legwatch.signal.detect import Detection, detect_movements


@functools.cache
def _night(scenario: str, seed: int, hours: float) -> tuple[synth.SimulatedNight, Detection]:
    night = synth.simulate_night(synth.scenario(scenario, seed, hours=hours))
    return night, detect_movements(night.recordings["left"])


@functools.lru_cache(maxsize=1)
def _base() -> Dataset:
    """A small base training set: three 1 h simulated nights (seeds from the training range)."""
    return Dataset.concat([simulated_night_data(s, hours=1.0) for s in (101, 102, 103)])


def _small_model(data: Dataset) -> EventModel:
    est = candidate_models(0)["random_forest"].set_params(n_estimators=30)
    fit(est, data)
    return EventModel(est, sidecar_for(est, training={}, metrics={}, sampling_rate_hz=50.0))


def test_classify_events_relabels_and_exposes_probabilities() -> None:
    model = _small_model(_base())
    night, det = _night("many_posture", 1001, 1.0)
    out = classify_events(det, night.recordings["left"], model)
    assert len(out) == len(det.events)
    np.testing.assert_array_equal(out.onset_s, det.events.onset_s)
    np.testing.assert_array_equal(out.props["rule_kind"], det.events.kind)
    p = np.column_stack([out.props[f"p_{c}"] for c in CLASSES])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-3)
    np.testing.assert_array_equal(out.kind, np.array(CLASSES)[np.argmax(p, axis=1)])
    assert set(out.kind.tolist()) <= set(CLASSES)
    # the model changes the rules' verdict on some events, and not on every one
    changed = out.kind != det.events.kind
    assert 0 < changed.sum() < len(out)
    # the detector's own props survive
    for k, v in det.events.props.items():
        np.testing.assert_array_equal(out.props[k], v)


def test_shipped_model_fixes_gross_movements_the_rules_call_lm() -> None:
    """On a held-out night, most detections the rules call LM but that are gross body movements
    or posture changes become non-LM, and most true LMs stay LM."""
    model = default_model()
    night, det = _night("many_posture", 1002, 2.0)
    y = truth_labels(det.events, night.truth.movements)
    out = classify_events(det, night.recordings["left"], model)
    wrong_lm = (det.events.kind == "lm") & np.isin(y, ["gross_body", "posture_change"])
    assert wrong_lm.sum() >= 5
    assert (out.kind[wrong_lm] != "lm").mean() > 0.6
    true_lm = (det.events.kind == "lm") & (y == "lm")
    assert (out.kind[true_lm] == "lm").mean() > 0.9


def test_personal_model_learns_corrected_kind() -> None:
    """On a tiny synthetic set: a person relabels 50 events of one region of feature space (which
    the base data calls LM) as "vibration". On held-out rows of that region the personal model
    says vibration, elsewhere it still agrees with the base model; the base model never did."""
    rng = np.random.default_rng(7)
    n_feat = len(FEATURE_NAMES)

    def rows(n: int) -> np.ndarray:
        X = np.zeros((n, n_feat))  # a few informative features, the rest constant
        X[:, :2] = rng.normal(size=(n, 2))
        return X

    def base_kind(X: np.ndarray) -> np.ndarray:
        return np.where(X[:, 0] < 0, "lm", "posture_change").astype(np.str_)

    def in_region(X: np.ndarray) -> np.ndarray:
        return (X[:, 0] < 0) & (X[:, 1] > 1.0)

    X_base = rows(1500)
    base = Dataset(X_base, base_kind(X_base))
    X_cand = rows(2000)
    mine_X = X_cand[in_region(X_cand)][:50]
    assert mine_X.shape[0] == 50
    mine = Dataset(mine_X, np.full(50, "vibration").astype(np.str_))
    name = PERSONAL_FAMILY
    base_model = fit(candidate_models(0)[name].set_params(n_estimators=50), base)
    personal, data = train_personal(base, mine, name, n_estimators=50)
    assert len(data) == len(base) + 50 and data.weight[-1] == PERSONAL_WEIGHT

    X_new = rows(3000)  # held out: never labelled
    region, outside = in_region(X_new), ~in_region(X_new)
    assert (base_model.predict(X_new[region]) == "vibration").mean() == 0.0
    assert (personal.predict(X_new[region]) == "vibration").mean() > 0.7
    agree = personal.predict(X_new[outside]) == base_kind(X_new[outside])
    assert agree.mean() > 0.9


def test_label_command_stores_labels_beside_the_night(tmp_path: Path) -> None:
    night = synth.simulate_night(synth.scenario("many_posture", 1003, hours=0.5))
    path = synth.write_night(night, tmp_path / "n1.csv")[0]
    det = detect_movements(night.recordings["left"])
    rec = night.recordings["left"]
    runner = CliRunner()
    picks = [0, len(det.events) // 2]
    for i, kind in zip(picks, ("posture_change", "lm"), strict=True):
        at = rec.start_utc + timedelta(seconds=float(det.events.onset_s[i]) + 0.2)
        res = runner.invoke(model_app, ["label", str(path), "--at", f"{at:%H:%M:%S}",
                                        "--kind", kind])  # fmt: skip
        assert res.exit_code == 0, res.output
    labels = read_labels(path)
    assert labels_path(path).exists() and len(labels) == 2
    assert [lab.kind for lab in labels] == ["posture_change", "lm"]
    np.testing.assert_allclose(
        [lab.onset_s for lab in labels], det.events.onset_s[picks], atol=0.01
    )
    mine = personal_dataset(tmp_path)
    assert mine.y.tolist() == ["posture_change", "lm"] and mine.X.shape == (2, len(FEATURE_NAMES))
    # an unknown kind, and a time far from any event, are refused with a clear message
    res = runner.invoke(model_app, ["label", str(path), "--at", "23:00:00", "--kind", "kick"])
    assert res.exit_code != 0 and "kind" in str(res.exception)


@pytest.mark.parametrize("text", ["25:00:00", "noon"])
def test_bad_clock_time_is_refused(text: str) -> None:
    from datetime import UTC, datetime

    from legwatch.errors import ParameterError
    from legwatch.model.labels import clock_to_seconds

    with pytest.raises(ParameterError, match="HH:MM:SS"):
        clock_to_seconds(text, datetime(2025, 1, 1, 22, 0, tzinfo=UTC))
