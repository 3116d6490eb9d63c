"""The nights table: complete, partial and excluded nights, each with its reason."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from legwatch import synth
from legwatch.errors import ParameterError
from legwatch.nights.analysis import analyze_night
from legwatch.report import night_row, nights_table, render_nights_table


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    """A real legwatch.night/1 document (short night), edited per case below."""
    sim = synth.simulate_night(synth.scenario("nominal", 5, hours=0.5, rate_hz=25.0))
    return json.loads(analyze_night(sim.recordings["left"]).to_json())


def _variant(doc: dict[str, Any], *, hours: float, start: str, **quality: Any) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    d["recording_s"] = 8 * 3600.0
    d["analysable_s"] = hours * 3600.0
    d["start_utc"] = start
    d["quality"].update({"off_body": [], "detection_off": []}, **quality)
    return d


def _write(root: Path, name: str, d: dict[str, Any]) -> None:
    (root / name).write_text(json.dumps(d), encoding="utf-8")


def test_statuses_and_reasons(doc: dict[str, Any], tmp_path: Path) -> None:
    band = doc["bands"][0]["band_id"]
    _write(tmp_path, "a.night.json", _variant(doc, hours=7.5, start="2025-01-03T22:10:00+00:00"))
    _write(tmp_path, "b.night.json", _variant(doc, hours=5.0, start="2025-01-04T22:10:00+00:00"))
    det_off = [{"band_id": band, "start_s": 0.0, "end_s": 3600.0, "reason": "noise"}]
    _write(
        tmp_path,
        "c.night.json",
        _variant(doc, hours=7.0, start="2025-01-05T22:10:00+00:00", detection_off=det_off),
    )
    _write(tmp_path, "d.night.json", _variant(doc, hours=3.0, start="2025-01-06T22:10:00+00:00"))
    off = [{"band_id": band, "start_s": 0.0, "end_s": 5 * 3600.0}]
    sub = tmp_path / "january"
    sub.mkdir()
    _write(
        sub,
        "e.night.json",
        _variant(doc, hours=6.5, start="2025-01-08T00:30:00+00:00", off_body=off),
    )
    (tmp_path / "f.night.json").write_text("{not json", encoding="utf-8")
    _write(tmp_path, "g.night.json", {**doc, "schema": "something/2"})
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")  # not a *.night.json: ignored

    rows = nights_table(tmp_path)
    by_file = {r["file"]: r for r in rows}
    assert set(by_file) == {
        "a.night.json", "b.night.json", "c.night.json", "d.night.json",
        "january/e.night.json", "f.night.json", "g.night.json",
    }  # fmt: skip
    assert (by_file["a.night.json"]["status"], by_file["a.night.json"]["reason"]) == (
        "complete",
        "",
    )
    assert by_file["b.night.json"]["status"] == "partial"
    assert "5.0 h analysable" in by_file["b.night.json"]["reason"]
    assert by_file["c.night.json"]["status"] == "partial"
    assert "too much motion to count for 12%" in by_file["c.night.json"]["reason"]
    assert by_file["d.night.json"]["status"] == "excluded"
    assert "3.0 h analysable" in by_file["d.night.json"]["reason"]
    e = by_file["january/e.night.json"]
    assert e["status"] == "excluded" and "off the body for 5.0 h of 8.0 h" in e["reason"]
    assert e["date"] == "2025-01-07"  # began after midnight: the previous evening's night
    for bad in ("f.night.json", "g.night.json"):
        assert by_file[bad]["status"] == "excluded"
        assert "legwatch.night/1" in by_file[bad]["reason"]
    # oldest first, unreadable files last
    assert [r["file"] for r in rows][:5] == [
        "a.night.json", "b.night.json", "c.night.json", "d.night.json", "january/e.night.json",
    ]  # fmt: skip
    console = Console(record=True, width=240)
    console.print(render_nights_table(rows))
    text = console.export_text()
    for word in ("complete", "partial", "excluded", "2025-01-03", "f.night.json"):
        assert word in text


def test_row_carries_the_documents_numbers(doc: dict[str, Any]) -> None:
    row = night_row(doc, "x.night.json")
    ix = doc["indices"]
    assert row["lm_per_h"] == ix["lm_per_h"] and row["plm_per_h"] == ix["plm_per_h"]
    assert row["spasms_per_h"] == ix["spasms_per_h"]
    assert row["periodicity"] == ix["periodicity_index"]
    assert row["hours_analysable"] == round(doc["analysable_s"] / 3600, 2)
    assert row["bands"] == "left" and row["rules"] == "wasm2016"
    assert row["status"] == "excluded"  # a half-hour night
    json.dumps(row)  # the CLI's --json prints these rows as they are


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="root"):
        nights_table(tmp_path / "nowhere")
    assert nights_table(tmp_path) == []
