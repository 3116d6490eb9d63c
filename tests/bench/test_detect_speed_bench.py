"""The detection speed benchmark runs, times every run and writes what it prints (a short night;
the 8 h figures are the benchmark's, not the suite's)."""

import json
import os
from pathlib import Path

import pytest

from legwatch.bench.detect_speed import main


def test_a_short_night_is_timed_and_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "speed.json"
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    assert main(["--runs", "2", "--hours", "0.2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    res = json.loads(out.read_text())
    assert res["runs"] == 2 and len(res["detect_s"]) == 2
    assert res["detect_min_s"] <= res["detect_median_s"] <= max(res["detect_s"])
    assert res["x_real_time"] == pytest.approx(0.2 * 3600 / res["detect_median_s"], rel=0.01)
    assert 1.0 < res["peak_over_raw"] < 50.0
    assert f"median {res['detect_median_s']:.3f} s" in printed
    assert "detect run 2:" in printed
    if cpus is not None:  # pinned while measuring, given back after
        assert "pinned to CPU" in printed
        assert os.sched_getaffinity(0) == cpus


@pytest.mark.parametrize(
    ("args", "message"), [(["--runs", "0"], "--runs"), (["--hours", "0.1"], "--hours")]
)
def test_bad_options_are_named(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(args)
    assert message in capsys.readouterr().err
