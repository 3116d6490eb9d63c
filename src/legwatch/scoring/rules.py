"""The two rule sets legwatch scores leg movements by: WASM 2016 (default) and AASM.

Sources, cited per field below:

- [WASM2016] Ferri R et al., "World Association of Sleep Medicine (WASM) 2016 standards for
  recording and scoring leg movements in polysomnograms", Sleep Med 2016;26:86-95 (PMID 27890390).
- [AASM] AASM Manual for the Scoring of Sleep and Associated Events v2.x (Berry 2018), movement
  rules; side by side with WASM in PMC9619152, Table 3.
- [LEGWATCH] boundary decisions in /work/shared/domain/scoring-rules.md (inclusive bounds,
  compared in integer microseconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from legwatch.errors import ParameterError

#: Names accepted by :func:`get_rules`; the first is the default everywhere.
RULE_SETS: tuple[str, ...] = ("wasm2016", "aasm")


@dataclass(frozen=True)
class RuleSet:
    """Every threshold that turns monolateral leg movements into LMs, CLMs and PLM series.

    All bounds are inclusive unless the field name says otherwise; times are seconds and are
    compared after rounding to integer microseconds.

    Attributes
    ----------
    name : str
        Label written next to every output.
    join_gap_s : float
        Pieces on the same leg whose gap (offset to next onset) is shorter than this are one LM
        (strictly less). 0.5 s: the LM offset is the start of >= 0.5 s of quiet [WASM2016, AASM].
    min_duration_s : float
        Shortest LM, applied after joining. 0.5 s [WASM2016, AASM].
    max_monolateral_s : float
        Longest monolateral movement that is a CLM (WASM) or an LM at all (AASM). 10 s
        [WASM2016, AASM].
    bilateral_mode : {"overlap", "onset"}
        "overlap": parts on the two legs merge when they overlap or the next onset follows the
        running offset by less than ``bilateral_window_s`` [WASM2016]. "onset": LMs on the two
        legs with onsets less than ``bilateral_window_s`` apart count as one [AASM].
    bilateral_window_s : float
        0.5 s offset-to-onset [WASM2016]; 5 s onset-to-onset [AASM]. Strictly less.
    max_bilateral_s : float or None
        Longest bilateral event that is a CLM: 15 s [WASM2016]; None: no such limit [AASM].
    max_bilateral_parts : int or None
        Most monolateral parts in a bilateral CLM: 4 [WASM2016]. A merged event with more
        parts stays one LM and is not a CLM [LEGWATCH]. None: no limit [AASM].
    imi_min_s, imi_max_s : float
        Inter-movement interval (onset to onset) range of a PLM series, inclusive:
        10-90 s [WASM2016], 5-90 s [AASM].
    min_series_length : int
        Fewest consecutive movements in a PLM series: 4 [WASM2016, AASM].
    long_movement_breaks_series : bool
        True [WASM2016]: a movement that is not a CLM ends the running series. False [AASM]: a
        movement over ``max_monolateral_s`` is not an LM at all, so it is invisible to the
        series: it neither counts nor ends a series, and the IMI of the next LM is measured from
        the LM before it. The AASM manual scores only LMs and defines series over "consecutive
        LMs"; it has no rule that a non-LM interrupts them.
    respiratory_action : {"flag", "exclude"}
        "flag": a CLM overlapping the respiratory window is a CLMr, still counted in the PLM
        index, with PLMS-nr reported beside it [WASM2016]. "exclude": an LM overlapping the
        window is not scored [AASM].
    respiratory_before_s, respiratory_after_s : float
        The window around each respiratory event. WASM: 2.0 s before to 10.25 s after the
        event's *end* [WASM2016]. AASM: 0.5 s before its onset to 0.5 s after its end [AASM].
    respiratory_anchor : {"end", "event"}
        "end": the window is anchored on the end of the respiratory event [WASM2016]; "event":
        it spans the whole event, widened on both sides [AASM].
    """

    name: str
    join_gap_s: float = 0.5
    min_duration_s: float = 0.5
    max_monolateral_s: float = 10.0
    bilateral_mode: Literal["overlap", "onset"] = "overlap"
    bilateral_window_s: float = 0.5
    max_bilateral_s: float | None = 15.0
    max_bilateral_parts: int | None = 4
    imi_min_s: float = 10.0
    imi_max_s: float = 90.0
    min_series_length: int = 4
    long_movement_breaks_series: bool = True
    respiratory_action: Literal["flag", "exclude"] = "flag"
    respiratory_before_s: float = 2.0
    respiratory_after_s: float = 10.25
    respiratory_anchor: Literal["end", "event"] = "end"

    def __post_init__(self) -> None:
        if self.bilateral_mode not in ("overlap", "onset"):
            raise ParameterError("bilateral_mode", "'overlap' or 'onset'", self.bilateral_mode)
        if self.respiratory_action not in ("flag", "exclude"):
            raise ParameterError(
                "respiratory_action", "'flag' or 'exclude'", self.respiratory_action
            )
        if self.respiratory_anchor not in ("end", "event"):
            raise ParameterError("respiratory_anchor", "'end' or 'event'", self.respiratory_anchor)
        if not 0 <= self.imi_min_s <= self.imi_max_s:
            raise ParameterError(
                "imi_min_s/imi_max_s",
                "0 <= imi_min_s <= imi_max_s (seconds)",
                (self.imi_min_s, self.imi_max_s),
            )
        if self.min_series_length < 2:
            raise ParameterError("min_series_length", "an integer >= 2", self.min_series_length)


WASM2016 = RuleSet(name="wasm2016")

AASM = RuleSet(
    name="aasm",
    bilateral_mode="onset",
    bilateral_window_s=5.0,
    max_bilateral_s=None,
    max_bilateral_parts=None,
    imi_min_s=5.0,
    long_movement_breaks_series=False,
    respiratory_action="exclude",
    respiratory_before_s=0.5,
    respiratory_after_s=0.5,
    respiratory_anchor="event",
)

_BY_NAME = {"wasm2016": WASM2016, "aasm": AASM}


def get_rules(name: str | RuleSet) -> RuleSet:
    """The rule set called ``name`` (case-insensitive), or ``name`` itself if it is a RuleSet.

    Raises
    ------
    ParameterError
        For a name not in :data:`RULE_SETS`; the message lists the allowed names.
    """
    if isinstance(name, RuleSet):
        return name
    key = str(name).strip().lower()
    if key not in _BY_NAME:
        raise ParameterError("rules", f"one of {', '.join(RULE_SETS)}", name)
    return _BY_NAME[key]
