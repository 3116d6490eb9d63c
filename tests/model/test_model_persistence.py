"""skops round trip, and the loader's refusals: tampered file, mismatched sidecar, unknown types."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from legwatch.errors import ModelError
from legwatch.model.classifier import (
    EventModel,
    load_model,
    save_model,
    sidecar_for,
    sidecar_path,
)
from legwatch.model.features import FEATURE_NAMES
from legwatch.model.labels import CLASSES
from legwatch.model.train import Dataset, candidate_models, fit


def _tiny_dataset(seed: int = 0, n: int = 300) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(FEATURE_NAMES)))
    X[rng.random(X.shape) < 0.02] = np.nan
    y = np.array(CLASSES)[
        np.clip((np.nan_to_num(X[:, 0]) * 2 + 3).astype(int), 0, len(CLASSES) - 1)
    ]
    return Dataset(X, y.astype(np.str_))


@pytest.fixture(scope="module", params=["hist_gradient_boosting", "random_forest"])
def saved(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = _tiny_dataset()
    est = candidate_models(0)[request.param]
    est.set_params(**({"max_iter": 10} if "hist" in request.param else {"n_estimators": 5}))
    fit(est, data)
    side = sidecar_for(
        est, training={"data_sha256": data.digest()}, metrics={}, sampling_rate_hz=50
    )
    return save_model(EventModel(est, side), tmp_path_factory.mktemp(request.param))


def _copy(src: Path, dst_dir: Path) -> Path:
    dst = dst_dir / src.name
    dst.write_bytes(src.read_bytes())
    sidecar_path(dst).write_bytes(sidecar_path(src).read_bytes())
    return dst


def test_round_trip_gives_the_same_probabilities(saved: Path) -> None:
    model = load_model(saved)
    X = _tiny_dataset(seed=1, n=50).X
    p = model.predict_proba(X)
    assert p.shape == (50, len(CLASSES))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    again = load_model(saved).predict_proba(X)
    assert again.tobytes() == p.tobytes()
    side = json.loads(sidecar_path(saved).read_text())
    assert side["feature_names"] == list(FEATURE_NAMES) and side["sampling_rate_hz"] == 50
    for key in ("legwatch_version", "sklearn_version", "window", "training", "metrics"):
        assert key in side
    # never pickle: a skops file is a zip archive, not a pickle stream
    assert saved.read_bytes()[:2] == b"PK"


def test_tampered_file_is_refused(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="tampered"):
        load_model(path)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("feature_names", [*FEATURE_NAMES[:-1], "something_else"], "feature list"),
        ("feature_names", list(reversed(FEATURE_NAMES)), "different order"),
        ("sklearn_version", "0.24.2", "scikit-learn"),
        ("legwatch_version", "99.0.0", "major version"),
        ("schema", "other/1", "schema"),
    ],
)
def test_mismatched_sidecar_is_refused(
    saved: Path, tmp_path: Path, key: str, value: object, message: str
) -> None:
    path = _copy(saved, tmp_path)
    side = json.loads(sidecar_path(path).read_text())
    side[key] = value
    sidecar_path(path).write_text(json.dumps(side))
    with pytest.raises(ModelError, match=message):
        load_model(path)


def test_missing_sidecar_or_file_is_refused(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    sidecar_path(path).unlink()
    with pytest.raises(ModelError, match="sidecar not found"):
        load_model(path)
    with pytest.raises(ModelError, match="model file not found"):
        load_model(tmp_path / "nothing.skops")


def test_untrusted_types_are_refused(tmp_path: Path) -> None:
    """A file holding a type legwatch does not trust is refused even with a matching hash."""
    import skops.io
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    data = _tiny_dataset()
    est = make_pipeline(FunctionTransformer(np.nan_to_num), KNeighborsClassifier(3))
    est.fit(data.X, data.y)
    path = tmp_path / "evil-1.skops"
    skops.io.dump(est, path)
    side = sidecar_for(est, training={}, metrics={}, sampling_rate_hz=50)
    from legwatch.model.classifier import file_sha256

    side["file_sha256"] = file_sha256(path)
    sidecar_path(path).write_text(json.dumps(side))
    with pytest.raises(ModelError, match="does not trust"):
        load_model(path)
