"""The refit benchmark: its training draws, its shared detection and its figures."""

import math

import numpy as np
import pytest

from legwatch.bench import refit
from legwatch.bench.accuracy import variants
from legwatch.model.classifier import EventModel, default_model
from legwatch.model.features import FEATURE_NAMES


def test_fit_zero_trains_on_every_night_and_the_others_on_fixed_draws_of_80_percent() -> None:
    nights = list(range(100, 200))
    assert refit.training_nights(0, nights) == nights
    first = refit.training_nights(1, nights)
    assert len(first) == len(set(first)) == 80 and set(first) <= set(nights)
    # the draw depends on the fit number alone: the same nights for any detector and any order
    assert refit.training_nights(1, list(reversed(nights))) == first
    assert refit.training_nights(2, nights) != first


def test_night_rows_give_the_accuracy_benchmarks_figures_with_one_detection_per_recording() -> None:
    seed, hours = 501, 1.0
    models = ["default", None, _everything_other()]
    rows = refit.night_rows(seed, models, hours)
    for row, model in zip(rows, models, strict=True):
        expected = {
            **variants(seed, "rates", hours=hours, model=model),
            **variants(seed, "noise", hours=hours, model=model),
        }
        got = {k: v for k, v in row.items() if k != "plm_error"}
        assert got == pytest.approx(expected, nan_ok=True)
    assert 0 <= rows[0]["plm_error"] < 1
    # a model that keeps no leg movement: each model's figures are its own
    assert rows[0]["plm_ref"] > 0 and rows[2]["plm_ref"] == 0 and rows[2]["plm_error"] == 1


def _everything_other() -> EventModel:
    """A model that calls every event "other"."""
    from sklearn.dummy import DummyClassifier

    estimator = DummyClassifier(strategy="constant", constant="other")
    estimator.fit(np.zeros((2, len(FEATURE_NAMES))), ["other", "other"])
    return EventModel(estimator, default_model().sidecar)


def test_summary_counts_changed_nights_per_variant_and_sums_rates_and_redraws() -> None:
    def row(change: float, err: float) -> dict[str, float]:
        return {
            "plm_ref": 10.0,
            "plm_error": err,
            **dict.fromkeys(refit.RATES + refit.REDRAWS, change),
        }

    rows = [row(0.0, 0.05), row(0.02, 0.10), row(0.03, 0.20)]
    rows[0]["25"] = math.nan
    fig = refit.summary(rows)
    assert fig["100"] == 2 and fig["25"] == 2 and fig["redraw1"] == 2
    assert fig["R"] == 8 and fig["N"] == 4
    assert fig["median_100_pct"] == pytest.approx(2.0)
    assert fig["E_pct"] == pytest.approx(10.0)


def test_the_benchmark_refuses_seeds_used_for_tuning_training_or_held_out_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        refit.main(["--seeds", "1000-1019"])
    assert "start at 2000" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        refit.main(["--fits", "0"])
