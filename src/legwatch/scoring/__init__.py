"""Scoring rules: detected leg movements -> candidate LMs -> PLM series -> nightly indices.

WASM 2016 (default) and AASM, with the boundary decisions of scoring-rules.md: inclusive 10 s and
90 s IMI bounds compared in integer microseconds, a short-IMI CLM may start the next series, a
series reaching the last movement keeps it, and a break in analysable time ends a series.
"""

from legwatch.scoring.indices import rate_per_h
from legwatch.scoring.rules import AASM, RULE_SETS, WASM2016, RuleSet, get_rules
from legwatch.scoring.score import BRIDGE_GAP_S, Scoring, score_leg_movements

__all__ = [
    "AASM",
    "BRIDGE_GAP_S",
    "RULE_SETS",
    "WASM2016",
    "RuleSet",
    "Scoring",
    "get_rules",
    "rate_per_h",
    "score_leg_movements",
]
