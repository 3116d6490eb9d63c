"""Load, check, save and apply the event classifier (skops files only; never pickle).

A model is two files in one folder: ``<name>-<version>.skops`` (the fitted scikit-learn estimator,
written with ``skops.io.dump``) and ``<name>-<version>.json`` (the sidecar: feature names in
order, sampling rate, windows, versions, training-data hash, metrics, and the SHA-256 of the
.skops file). :func:`load_model` refuses, with a :class:`~legwatch.errors.ModelError`, a model
whose file hash differs from the sidecar's (tampered), whose feature list differs from this
legwatch's, whose legwatch major version or scikit-learn version (major.minor) differ from the
running ones, or whose file holds types outside :data:`TRUSTED_TYPES`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from legwatch.errors import ModelError, ParameterError
from legwatch.events import EventTable
from legwatch.model.features import (
    BAND_EDGES_HZ,
    CONTEXT_S,
    FEATURE_NAMES,
    FEATURES_VERSION,
    ORIENTATION_S,
    SPECTRUM_MAX_S,
    SPECTRUM_PAD_S,
    OtherBand,
    check_feature_names,
    event_features,
    features_fingerprint,
)
from legwatch.model.labels import CLASSES
from legwatch.recording import Recording
from legwatch.signal.detect import Detection

log = logging.getLogger(__name__)

SIDECAR_SCHEMA = "legwatch.model/1"
#: The shipped model's name and version (file ``models/event_classifier-<version>.skops``).
MODEL_NAME = "event_classifier"
MODEL_VERSION = "1"
#: A recording whose rate differs from the training rate by more than this share gets a warning
#: (the spectral features are in Hz, but what the band sees above its Nyquist frequency is lost).
RATE_TOLERANCE = 0.25

#: Types beyond skops' own safe defaults (scikit-learn estimators, numpy arrays) that a model file
#: may contain: the tree structures of the two model families legwatch trains. Checked with
#: skops.io.get_untrusted_types before loading, then passed to skops.io.load as its trusted list.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)


def _major(version: str) -> str:
    return version.split("+")[0].split(".")[0]


def _minor(version: str) -> str:
    return ".".join(version.split("+")[0].split(".")[:2])


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class EventModel:
    """A loaded, checked event classifier and its sidecar.

    Attributes
    ----------
    estimator : Any
        The fitted scikit-learn classifier (predict_proba over :data:`labels.CLASSES`).
    sidecar : dict
        The sidecar document (see the module docstring).
    path : Path or None
        The .skops file it came from (None for a model not yet saved).
    """

    estimator: Any
    sidecar: dict[str, Any]
    path: Path | None = None

    @property
    def version(self) -> str:
        return str(self.sidecar.get("version", "?"))

    @property
    def sampling_rate_hz(self) -> float:
        """The highest training rate (Hz); see :attr:`sampling_rates_hz`."""
        return self.sampling_rates_hz[1]

    @property
    def sampling_rates_hz(self) -> tuple[float, float]:
        """Lowest and highest sampling rate of the training nights, Hz."""
        rate = self.sidecar["sampling_rate_hz"]
        rates = [float(r) for r in rate] if isinstance(rate, list) else [float(rate)]
        return min(rates), max(rates)

    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Class probabilities, one column per :data:`labels.CLASSES` (in that order)."""
        p = np.zeros((X.shape[0], len(CLASSES)))
        if X.shape[0] == 0:
            return p
        with threadpool_limits(limits=1, user_api="openmp"):  # see train.fit: threads thrash
            raw = self.estimator.predict_proba(X)
        classes = [str(c) for c in self.estimator.classes_]
        for j, c in enumerate(classes):
            p[:, CLASSES.index(c)] = raw[:, j]
        return p


def sidecar_for(
    estimator: Any,
    *,
    training: dict[str, Any],
    metrics: dict[str, Any],
    sampling_rate_hz: float | list[float],
    version: str = MODEL_VERSION,
) -> dict[str, Any]:
    """The sidecar document of a freshly trained estimator (the file hash is added on save)."""
    import sklearn
    import skops

    from legwatch import __version__

    return {
        "schema": SIDECAR_SCHEMA,
        "name": MODEL_NAME,
        "version": version,
        "estimator": type(estimator).__name__,
        "classes": list(CLASSES),
        "feature_names": list(FEATURE_NAMES),
        "features_version": FEATURES_VERSION,
        "code_fingerprint": features_fingerprint(),
        "sampling_rate_hz": sampling_rate_hz,
        "window": {
            "context_s": CONTEXT_S,
            "orientation_s": ORIENTATION_S,
            "spectrum_max_s": SPECTRUM_MAX_S,
            "spectrum_pad_s": SPECTRUM_PAD_S,
            "band_edges_hz": [e if np.isfinite(e) else None for e in BAND_EDGES_HZ],
        },
        "legwatch_version": __version__,
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
        "numpy_version": np.__version__,
        "training": training,
        "metrics": metrics,
    }


def save_model(model: EventModel, folder: str | Path) -> Path:
    """Write ``<name>-<version>.skops`` and its sidecar ``.json`` into ``folder``.

    Returns
    -------
    Path
        The .skops file written.
    """
    import skops.io

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{model.sidecar.get('name', MODEL_NAME)}-{model.sidecar.get('version', MODEL_VERSION)}"
    path = folder / f"{stem}.skops"
    skops.io.dump(model.estimator, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    side = dict(model.sidecar)
    side["file_sha256"] = file_sha256(path)
    sidecar_path(path).write_text(json.dumps(side, indent=1, allow_nan=False) + "\n")
    return path


def sidecar_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def load_model(path: str | Path) -> EventModel:
    """Load a .skops model after checking it against its sidecar and this legwatch.

    Raises
    ------
    ModelError
        Missing file or sidecar, hash mismatch (tampered), feature list, legwatch major version or
        scikit-learn version mismatch, or untrusted types in the file.
    """
    import sklearn
    import skops.io

    from legwatch import __version__

    path = Path(path)
    side_path = sidecar_path(path)
    for p, what in ((path, "model file"), (side_path, "sidecar")):
        if not p.is_file():
            raise ModelError(
                f"{p}: {what} not found. A model is a .skops file with a .json sidecar beside "
                "it; train one with `legwatch model train` or run with --no-model."
            )
    try:
        side = json.loads(side_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{side_path}: sidecar is not valid JSON ({exc}).") from exc
    if not isinstance(side, dict) or side.get("schema") != SIDECAR_SCHEMA:
        got = side.get("schema") if isinstance(side, dict) else type(side).__name__
        raise ModelError(f"{side_path}: expected sidecar schema {SIDECAR_SCHEMA!r}, got {got!r}.")
    digest = file_sha256(path)
    if digest != side.get("file_sha256"):
        raise ModelError(
            f"{path}: the file's SHA-256 is {digest[:16]}..., the sidecar expects "
            f"{str(side.get('file_sha256'))[:16]}...: the model file was changed after it was "
            "saved (tampered or corrupted). Refusing to load it."
        )
    check_feature_names(side.get("feature_names", []), str(side_path))
    lw = str(side.get("legwatch_version", ""))
    if _major(lw) != _major(__version__):
        raise ModelError(
            f"{side_path}: model made with legwatch {lw}, this is legwatch {__version__} "
            f"(major version {_major(lw)} != {_major(__version__)}). Retrain the model."
        )
    sk = str(side.get("sklearn_version", ""))
    if _minor(sk) != _minor(sklearn.__version__):
        raise ModelError(
            f"{side_path}: model made with scikit-learn {sk}, this is scikit-learn "
            f"{sklearn.__version__} (expected {_minor(sk)}.x). Install that version or retrain."
        )
    untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
    if untrusted:
        raise ModelError(
            f"{path}: the file holds types legwatch does not trust: {untrusted}. Refusing to load."
        )
    try:
        estimator = skops.io.load(path, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # skops raises many kinds on a damaged file
        raise ModelError(f"{path}: cannot be read as a skops model ({exc!r}).") from exc
    classes = [str(c) for c in getattr(estimator, "classes_", [])]
    if not set(classes) <= set(CLASSES):
        raise ModelError(f"{path}: model classes {classes}; expected a subset of {CLASSES}.")
    if side.get("code_fingerprint") != features_fingerprint():
        # the detector changes often and the model copes with small changes: say so, do not refuse
        log.warning(
            "%s was trained on events of a different detector or feature code (%s, now %s); "
            "retrain with `legwatch model train` for best results",
            path.name,
            side.get("code_fingerprint"),
            features_fingerprint(),
        )
    return EventModel(estimator, side, path)


def model_dirs() -> list[Path]:
    """Where the shipped model is looked for: $LEGWATCH_MODEL_DIR, then the package's ``models``
    folder (wheel), then the source tree's ``models/``."""
    here = Path(__file__).resolve()
    dirs = []
    if os.environ.get("LEGWATCH_MODEL_DIR"):
        dirs.append(Path(os.environ["LEGWATCH_MODEL_DIR"]))
    dirs += [here.parents[1] / "models", here.parents[3] / "models"]
    return dirs


def default_model_path() -> Path:
    """The shipped model file (see :func:`model_dirs`)."""
    name = f"{MODEL_NAME}-{MODEL_VERSION}.skops"
    for d in model_dirs():
        if (d / name).is_file():
            return d / name
    raise ModelError(
        f"the shipped model {name} was not found in {[str(d) for d in model_dirs()]}; run "
        "`legwatch model train` or analyse with --no-model."
    )


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int) -> EventModel:
    return load_model(path)


def default_model() -> EventModel:
    """The shipped model, loaded and checked once per process."""
    path = default_model_path()
    return _load_cached(str(path), path.stat().st_mtime_ns)


def classify_events(
    detection: Detection,
    recording: Recording,
    model: EventModel,
    *,
    other: OtherBand | None = None,
    features: NDArray[np.float64] | None = None,
) -> EventTable:
    """The detection's events relabelled by the model, with class probabilities as props.

    Parameters
    ----------
    detection : Detection
        ``detect_movements(recording)``.
    recording : Recording
        The recording it came from (the same samples the detector saw).
    model : EventModel
        A loaded model (:func:`default_model` or :func:`load_model`).
    other : OtherBand, optional
        The night's other band (for the two-band features).
    features : ndarray, optional
        ``event_features(detection, recording, other)`` if already computed (one row per event).

    Returns
    -------
    EventTable
        Same events (onsets, durations, sides, rule props); ``kind`` is the model's class (one of
        labels.CLASSES: the rule kinds except "short", plus "other"); new props ``rule_kind`` (the
        rules' kind) and ``p_<class>`` for every class (probabilities, sum 1).
    """
    ev = detection.events
    fs = float(recording.fs_effective_hz)
    lo, hi = model.sampling_rates_hz
    if not (1 - RATE_TOLERANCE) * lo <= fs <= (1 + RATE_TOLERANCE) * hi:
        log.warning(
            "band %s runs at %.1f Hz; the event model was trained at %.0f-%.0f Hz: its spectral "
            "features may read differently",
            recording.band_id,
            fs,
            lo,
            hi,
        )
    if not len(ev):
        return ev.with_props(
            rule_kind=np.empty(0, dtype=np.str_), **{f"p_{c}": np.empty(0) for c in CLASSES}
        )
    if features is None:
        features = event_features(detection, recording, other)
    elif features.shape != (len(ev), len(FEATURE_NAMES)):
        raise ParameterError(
            "features",
            f"one row of {len(FEATURE_NAMES)} features per event ({len(ev)} events)",
            f"shape {features.shape}",
        )
    proba = model.predict_proba(features)
    kinds = np.array(CLASSES)[np.argmax(proba, axis=1)]
    props = {f"p_{c}": np.round(proba[:, j], 4) for j, c in enumerate(CLASSES)}
    relabelled = EventTable(ev.onset_s, ev.duration_s, kinds, ev.side, dict(ev.props))
    return relabelled.with_props(rule_kind=ev.kind.copy(), **props)


def relabel_detection(
    detection: Detection,
    recording: Recording,
    model: EventModel,
    *,
    other: OtherBand | None = None,
    features: NDArray[np.float64] | None = None,
) -> Detection:
    """A copy of ``detection`` whose events went through :func:`classify_events`."""
    from dataclasses import replace

    events = classify_events(detection, recording, model, other=other, features=features)
    return replace(detection, events=events)
