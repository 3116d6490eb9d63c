"""Benchmarks that print figures (``python -m legwatch.bench.<name>``); see the README's map."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def seed_range(ap: argparse.ArgumentParser, text: str, first: int, why: str) -> list[int]:
    """The seeds of a ``FIRST-LAST`` (or single ``N``) option; exits through ``ap.error`` when
    the text is not that, or a seed lies below ``first`` (``why`` says what those seeds were)."""
    a, _, b = text.partition("-")
    try:
        lo, hi = int(a), int(b or a)
    except ValueError:
        ap.error(f"--seeds: expected FIRST-LAST such as {first}-{first + 9}, got {text!r}")
    if hi < lo:
        ap.error(f"--seeds: the last seed {hi} comes before the first {lo}")
    if lo < first:
        ap.error(f"--seeds: this benchmark's seeds start at {first}; {why}")
    return list(range(lo, hi + 1))


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Write a benchmark's results as indented JSON (numpy floats as floats), folders made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=float) + "\n")
