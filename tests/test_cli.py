"""The legwatch command as a user meets it (a real process, real files)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from legwatch import __version__


def _legwatch(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "legwatch.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
        env=None if env is None else {**os.environ, **env},
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
    assert "--rules" in res.stderr and "'rules'" not in res.stderr  # the option, not Python's name
    assert res.stderr.count("\n") == 1  # one line, not cut at 80 columns in a pipe


def test_report_marks_diary_sessions_and_quiet_hides_progress(tmp_path: Path) -> None:
    res = _legwatch("simulate", "--seed", "4", "--hours", "0.5", "--out", "n.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (tmp_path / "diary").mkdir()
    res = _legwatch(
        "log", "session", "--nights", "diary", "--technique", "inversion",
        "--at", "2025-01-06T22:45:00+00:00", "--duration-min", "2", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    # progress is drawn on terminals only (rich reads TTY_COMPATIBLE and TTY_INTERACTIVE)
    terminal = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "100"}
    res = _legwatch("report", "n.csv", "--out", "loud", cwd=tmp_path, env=terminal)
    assert res.returncode == 0, res.stderr
    assert "Analysing the night" in res.stderr  # progress shows without --quiet ...
    res = _legwatch(
        "-q", "report", "n.csv", "--out", "rep", "--diary", "diary", cwd=tmp_path, env=terminal
    )
    assert res.returncode == 0, res.stderr
    assert "Analysing the night" not in res.stderr  # ... and not with it
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "inversion" in page
    # health data: everything the command wrote is the owner's alone
    for path in [tmp_path / "rep", *(tmp_path / "rep").iterdir()]:
        assert path.stat().st_mode & 0o077 == 0, path


def test_errors_are_printed_verbatim_and_bad_dates_named(tmp_path: Path) -> None:
    # rich markup in an error message must be printed, not interpreted (it crashed the handler)
    (tmp_path / "m.csv").write_text("# site=[/x]\nt_s,x_g,y_g,z_g\n0,0,0,1\n")
    res = _legwatch("analyze", "m.csv", cwd=tmp_path)
    assert res.returncode == 2 and "[/x]" in res.stderr and "Traceback" not in res.stderr
    res = _legwatch(
        "log", "morning", "--nights", ".", "--night", "tomorrow",
        "--bed", "23:00", "--wake", "07:00", "--rls", "2", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 2 and "--night" in res.stderr and "YYYY-MM-DD" in res.stderr
