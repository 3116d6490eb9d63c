"""The robustness benchmark moves the simulator where it says, and scores what it says."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from legwatch.bench import robustness
from legwatch.synth import scenario

SEED = robustness.FIRST_SEED  # a seed of this benchmark only: the test measures, it chooses nothing


def _changed(variant: str) -> set[str]:
    """The config groups a variant changes against the nominal night."""
    base = asdict(scenario("nominal", SEED))
    moved = asdict(robustness.night_config(variant, SEED))
    return {k for k in base if base[k] != moved[k]}


@pytest.mark.parametrize("variant", [v for v in robustness.VARIANTS if v != "none"])
def test_each_variant_moves_the_simulator(variant: str) -> None:
    changed = _changed(variant)
    assert changed, f"{variant} leaves the nominal night as it was"
    assert changed <= {"sensor", "movement", "lms", "gross_body", "posture", "respiration",
                       "vibration"}  # fmt: skip
    assert "seed" not in changed and "rate_hz" not in changed


def test_none_is_the_nominal_night() -> None:
    assert _changed("none") == set()


def test_one_short_night_is_scored_for_rules_and_model() -> None:
    row = robustness._job(("noisy_sensor", SEED, 0.5))
    for who in ("rules", "model"):
        assert 0.0 <= row[f"{who}_lm_f1"] <= 1.0
        assert row[f"{who}_plm_per_h"] >= 0.0
    s = robustness.summarise([row, row])
    assert s["nights"] == 2.0
    assert s["model_lm_f1"] == row["model_lm_f1"]
    assert s["model_worse_f1"] == 2.0 * (row["model_lm_f1"] < row["rules_lm_f1"])


def test_seeds_below_its_range_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        robustness.main(["--seeds", "1000-1001"])
    assert "3000" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["abc", "3005-3001", "3000-x"])
def test_a_malformed_seed_range_is_named(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        robustness.main(["--seeds", text])
    err = capsys.readouterr().err
    assert "--seeds" in err and "Traceback" not in err
