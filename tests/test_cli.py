"""The legwatch command as a user meets it (a real process, real files)."""

import json
import subprocess
import sys
from pathlib import Path

from legwatch import __version__


def _legwatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "legwatch.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_version_and_help(tmp_path: Path) -> None:
    res = _legwatch("--version", cwd=tmp_path)
    assert res.returncode == 0 and __version__ in res.stdout
    res = _legwatch("--help", cwd=tmp_path)
    assert res.returncode == 0
    for command in ("simulate", "analyze"):
        assert command in res.stdout


def test_simulate_then_analyze(tmp_path: Path) -> None:
    res = _legwatch("simulate", "--seed", "3", "--hours", "0.5", "--out", "n.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "n.csv").stat().st_mode & 0o077 == 0  # owner only
    truth = json.loads((tmp_path / "n.truth.json").read_text())
    assert truth
    res = _legwatch("analyze", "n.csv", "--json", "n.json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Leg movements:" in res.stdout and "per hour of" in res.stdout
    doc = json.loads((tmp_path / "n.json").read_text())
    assert doc["schema"] == "legwatch.night/1" and doc["rules"] == "wasm2016"


def test_bad_input_gives_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("time,a,b,c\n0,0,0,1\n")
    res = _legwatch("analyze", "bad.csv", cwd=tmp_path)
    assert res.returncode == 2
    assert "bad.csv" in res.stderr and "Traceback" not in res.stderr
    res = _legwatch("analyze", "bad.csv", "--rules", "rem", cwd=tmp_path)
    assert res.returncode == 2 and "wasm2016" in res.stderr


def test_report_marks_diary_sessions_and_quiet_hides_progress(tmp_path: Path) -> None:
    res = _legwatch("simulate", "--seed", "4", "--hours", "0.5", "--out", "n.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (tmp_path / "diary").mkdir()
    res = _legwatch(
        "log", "session", "--nights", "diary", "--technique", "inversion",
        "--at", "2025-01-06T22:45:00+00:00", "--duration-min", "2", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    res = _legwatch("-q", "report", "n.csv", "--out", "rep", "--diary", "diary", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip() == ""  # no spinner, no progress
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "inversion" in page
