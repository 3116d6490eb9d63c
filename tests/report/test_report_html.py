"""The HTML night report: self-contained, key numbers on the page, figures honest, renders."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from legwatch import synth
from legwatch.errors import ParameterError
from legwatch.nights.analysis import NightAnalysis, analyze_night
from legwatch.report import figures as fig_mod
from legwatch.report import render_night_report, write_night_report
from legwatch.report.html import LIMITS_TEXT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SESSIONS = [(300.0, 180.0, "percussive massage"), (3600.0, 180.0, "skin <rolling>")]


@pytest.fixture(scope="module")
def night() -> NightAnalysis:
    sim = synth.simulate_night(synth.scenario("nominal", 5, hours=2.0, rate_hz=25.0))
    return analyze_night(list(sim.recordings.values()))


@pytest.fixture(scope="module")
def night2() -> NightAnalysis:
    sim = synth.simulate_night(synth.scenario("bilateral", 3, hours=1.5, rate_hz=25.0))
    return analyze_night(list(sim.recordings.values()))


@pytest.fixture(scope="module")
def report_dir(night: NightAnalysis, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_night_report(night, out, sessions=SESSIONS)
    return out


def _key_numbers(night: NightAnalysis) -> list[str]:
    ix = night.indices
    return [
        f"{ix['lm_per_h']:.1f} per hour",
        f"{ix['plm_per_h']:.1f} per hour",
        f"{ix['spasms_per_h']:.1f} per hour",
        "WASM 2016",
        night.denominator,
        f"{night.analysable_s / 3600:.2f} h",
    ]


def test_report_is_self_contained(report_dir: Path) -> None:
    text = (report_dir / "index.html").read_text(encoding="utf-8")
    for name in ("timeline.png", "raster.png", "hourly.png", "imi.png"):
        assert (report_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert text.count('src="data:image/png;base64,') == 4
    # nothing fetched from anywhere: no external sources, stylesheets or scripts
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert "<script" not in text and "<link" not in text


def test_key_numbers_rules_and_denominator_on_the_page(
    night: NightAnalysis, report_dir: Path
) -> None:
    text = (report_dir / "index.html").read_text(encoding="utf-8")
    for needle in _key_numbers(night):
        assert needle in text, needle
    assert f"<strong>{night.indices['n_lm']}</strong>" in text
    # the band's movement pick-up (the detector's movement gain) in the quality table
    assert "<th>movement pick-up</th>" in text
    assert f"<td class='num'>{night.bands[0].detection.movement_gain:.2f}</td></tr>" in text


def test_limits_stated_once_and_no_diagnosis(report_dir: Path) -> None:
    text = (report_dir / "index.html").read_text(encoding="utf-8").lower()
    assert text.count("not on a sleep lab's scale") == 1
    assert LIMITS_TEXT.split(".")[0].lower() in text
    for word in ("abnormal", "disorder", "15/h", "you have", "pathological"):
        assert word not in text


def test_sessions_listed_escaped_and_checked(night: NightAnalysis, report_dir: Path) -> None:
    text = (report_dir / "index.html").read_text(encoding="utf-8")
    assert "Technique sessions" in text and "percussive massage" in text
    assert "skin &lt;rolling&gt;" in text and "<rolling>" not in text
    with pytest.raises(ParameterError, match="sessions"):
        render_night_report(night, sessions=[(10.0, -5.0, "bad")])


def test_two_bands_shown_apart(night2: NightAnalysis, tmp_path: Path) -> None:
    text = write_night_report(night2, tmp_path).read_text(encoding="utf-8")
    assert "Left, right and both legs" in text
    ix = night2.indices
    row = re.search(r"<td>left leg</td><td class='num'>(\d+)</td><td class='num'>(\d+)</td>", text)
    assert row is not None
    assert (int(row[1]), int(row[2])) == (ix["n_lm_left"], ix["n_plm_left"])
    assert text.count("band synth-") == 2


def test_hourly_rates_add_up_to_the_counts(night: NightAnalysis) -> None:
    rates = fig_mod.hourly_rates(night)
    assert np.all(np.isfinite(rates["lm_per_h"]))  # every hour of this night has data
    lm = np.rint(rates["lm_per_h"] * rates["counted_h"]).sum()
    plm = np.rint(rates["plm_per_h"] * rates["counted_h"]).sum()
    sp = np.rint(rates["spasms_per_h"] * rates["counted_h"]).sum()
    assert (lm, plm, sp) == (night.indices["n_lm"], night.indices["n_plm"], len(night.spasms))
    assert rates["counted_h"].sum() == pytest.approx(night.analysable_s / 3600.0)


def test_figures_have_units_and_zero_based_y(night2: NightAnalysis) -> None:
    for fig in (
        fig_mod.timeline_figure(night2, SESSIONS),
        fig_mod.hourly_figure(night2),
        fig_mod.imi_figure(night2),
    ):
        for ax in fig.axes:
            if ax.get_ylabel() and ax.get_ylabel() != "status":
                assert ax.get_ylim()[0] == 0.0, ax.get_ylabel()
                assert "(" in ax.get_ylabel(), ax.get_ylabel()
            if ax.get_xlabel():
                assert "(" in ax.get_xlabel(), ax.get_xlabel()
    raster = fig_mod.raster_figure(night2, SESSIONS)
    assert "(min)" in raster.axes[0].get_xlabel()


def _chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp / 'profile'}", *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_renders_in_headless_chromium(
    night: NightAnalysis, report_dir: Path, tmp_path: Path
) -> None:
    url = (report_dir / "index.html").resolve().as_uri()
    shot = tmp_path / "shot.png"
    run = _chromium([f"--screenshot={shot}", "--window-size=1200,3000", url], tmp_path)
    assert shot.exists(), run.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (3000, 1200)
    assert float(pixels.std()) > 0.05  # a blank page is one colour
    # the lower half has figures too (not a page that stopped rendering half way)
    assert float(pixels[1500:].std()) > 0.05
    dom = _chromium(["--dump-dom", url], tmp_path).stdout
    page_text = re.sub(r"<[^>]+>", "", dom)
    for needle in _key_numbers(night):
        assert needle in page_text, needle
