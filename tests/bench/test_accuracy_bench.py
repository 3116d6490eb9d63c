"""The accuracy benchmark's count of nights that changed in a variant."""

import math

from legwatch.bench.accuracy import CHANGED_FRAC, nights_changed


def test_nights_changed_counts_moves_over_the_line_and_skips_what_is_not_a_variant() -> None:
    truth = {"x0.6_truth_change": 0.2, "x0.6_beyond_truth": 0.1}
    rows = [
        {"plm_ref": 5.0, "100": 0.0, "x0.6": 0.04, **truth},
        {"plm_ref": 6.0, "100": 0.025, "x0.6": CHANGED_FRAC / 2, **truth},
        {"plm_ref": 0.0, "100": math.nan, "x0.6": 0.5, **truth},
    ]
    assert nights_changed(rows) == {"100": 1, "x0.6": 2}
