"""The comparison report and the log/compare/trial commands on a synthetic nights folder."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from matplotlib.image import imread
from typer.testing import CliRunner

from legwatch.commands.trial import compare, log, trial_app
from legwatch.errors import LegwatchError
from legwatch.nights.compare import compare_nights, create_trial, trial_comparison
from legwatch.nights.diary import Diary, SessionEntry
from legwatch.report.compare_report import render_compare_report, write_compare_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FIRST = date(2025, 2, 1)


def _doc(start: datetime, rng: np.random.Generator, plm_per_h: float) -> dict[str, Any]:
    end = 7.5 * 3600.0
    t = np.sort(rng.uniform(0, end, rng.poisson(plm_per_h * 7.5)))
    return {
        "schema": "legwatch.night/1",
        "legwatch_version": "0.1.0",
        "rules": "wasm2016",
        "denominator": {"label": "analysable time in bed (the whole recording, band on)"},
        "start_utc": start.isoformat(),
        "recording_s": end,
        "analysable_s": end,
        "bands": [{"band_id": "B1", "side": "left"}],
        "analysable": [[0.0, end]],
        "leg_movements": [{"onset_s": float(x), "in_series": True} for x in t],
        "spasms": [],
        "series": [{"onset_s": float(x)} for x in t[::5]],
        "quality": {"off_body": []},
    }


def _start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 22, 0, tzinfo=UTC)


def _folder(root: Path, n: int, tech_every: int | None) -> Path:
    """n nights; every tech_every-th night has a massage session 2 h in and fewer movements."""
    rng = np.random.default_rng(21)
    diary = Diary(root)
    for k in range(n):
        day = FIRST + timedelta(days=k)
        tech = tech_every is not None and k % tech_every == 0
        doc = _doc(_start(day), rng, 12.0 if tech else 24.0 * float(np.exp(rng.normal(0, 0.2))))
        (root / f"{day}.night.json").write_text(json.dumps(doc), encoding="utf-8")
        if tech:
            diary.add_session(
                SessionEntry(
                    "percussive_spinal_massage",
                    _start(day) + timedelta(hours=2),
                    180.0,
                    region="mid_back",
                    count=160,
                    performed_by="partner",
                )
            )
    return root


def test_observational_report_verdict_first_and_self_contained(tmp_path: Path) -> None:
    cmp = compare_nights(_folder(tmp_path, 12, 3), "percussive_spinal_massage")
    rep = render_compare_report(cmp)
    text = re.sub(r"<[^>]+>", " ", rep.html)
    assert text.index("Likely fewer") < text.index("Every night") < text.index("CENT")
    assert "Weak evidence" in text and "not randomised" in text
    assert "4 vs 8 nights" in text
    assert "does not prove cause" in text
    assert "http" not in rep.html.replace("http-equiv", "")  # nothing loaded from elsewhere
    assert set(rep.figures) == {"nights.png", "within.png"}
    for png in rep.figures.values():
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_too_early_trial_report_has_no_verdict_numbers(tmp_path: Path) -> None:
    _folder(tmp_path, 7, None)
    create_trial(tmp_path, "inversion", first_night=str(FIRST + timedelta(days=7)), seed=2)
    rng = np.random.default_rng(3)
    for k in range(4):  # two trial nights only
        day = FIRST + timedelta(days=7 + k)
        (tmp_path / f"{day}.night.json").write_text(json.dumps(_doc(_start(day), rng, 20.0)))
    cmp = trial_comparison(tmp_path, today=str(FIRST + timedelta(days=11)))
    text = re.sub(r"<[^>]+>", " ", render_compare_report(cmp).html)
    assert "Too early" in text
    assert "is impossible yet" in text and "p &lt; 0.05" in render_compare_report(cmp).html
    assert "no verdict and no average below 3 nights per condition" in text
    assert "per hour with the technique, likely" not in text


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(log)
    app.command()(compare)
    app.add_typer(trial_app, name="trial")
    return app


def test_commands_end_to_end(tmp_path: Path) -> None:
    runner = CliRunner()
    app = _app()
    _folder(tmp_path, 7, None)
    res = runner.invoke(app, ["log", "session", "-n", str(tmp_path), "--technique", "reiki"])
    assert isinstance(res.exception, LegwatchError)
    assert "percussive_spinal_massage" in str(res.exception)
    res = runner.invoke(
        app,
        [
            "trial",
            "plan",
            str(tmp_path),
            "--technique",
            "inversion",
            "--first-night",
            str(FIRST + timedelta(days=7)),
            "--seed",
            "4",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "pairs" in res.output and "evening" in res.output
    res = runner.invoke(
        app, ["trial", "status", str(tmp_path), "--today", str(FIRST + timedelta(days=7))]
    )
    assert res.exit_code == 0 and "trial night 1 of" in res.output
    assert "revealed at the evening check-in" in res.output
    night = str(FIRST + timedelta(days=70))  # far in the future: no recording yet
    res = runner.invoke(
        app, ["log", "evening", "-n", str(tmp_path), "--night", night, "--caffeine", "1"]
    )
    assert res.exit_code == 0, res.output
    assert "sealed" in res.output
    res = runner.invoke(app, ["log", "evening", "-n", str(tmp_path), "--night", night])
    assert isinstance(res.exception, LegwatchError) and "cannot be changed" in str(res.exception)
    rep = tmp_path / "report"
    res = runner.invoke(
        app,
        [
            "trial",
            "report",
            str(tmp_path),
            "--report",
            str(rep),
            "--today",
            str(FIRST + timedelta(days=8)),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Verdict: too early" in res.output and (rep / "compare.html").exists()
    res = runner.invoke(app, ["compare", str(tmp_path), "--technique", "inversion"])
    assert res.exit_code == 0 and "weak evidence" in res.output


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_renders_in_headless_chromium(tmp_path: Path) -> None:
    (tmp_path / "n").mkdir()
    cmp = compare_nights(_folder(tmp_path / "n", 12, 3), "percussive_spinal_massage")
    page = write_compare_report(cmp, tmp_path / "rep")
    url = page.resolve().as_uri()
    shot = tmp_path / "shot.png"

    def chromium(args: list[str]) -> subprocess.CompletedProcess[str]:
        assert CHROMIUM is not None
        cmd = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)

    run = chromium([f"--screenshot={shot}", "--window-size=1200,2400", url])
    assert shot.exists(), run.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert float(pixels.std()) > 0.05
    dom = chromium(["--dump-dom", url]).stdout
    assert "Likely fewer" in re.sub(r"<[^>]+>", "", dom)
