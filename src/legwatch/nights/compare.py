"""Comparisons a person can run on their nights folder: within a night, across nights, and as a
randomised N-of-1 trial (comparisons.md).

The statistics live in :mod:`legwatch.nights.stats` and :mod:`legwatch.nights.trial_plan`; this
module reads the saved ``legwatch.night/1`` documents and the diary, applies the exclusion rules
fixed in advance, and assembles a :class:`Comparison` that the CLI prints and the comparison report
draws.

Denominator: the analysable hours of each night (band on, data readable) intersected with the
in-bed window from the morning diary entry when there is one, else the recording's in-bed window.
It never comes from the band's movements (the detector's "too much motion" stretches are removed
from both the counts and the hours alike). Every result states which one it used.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from legwatch.errors import ParameterError
from legwatch.nights.diary import (
    NIGHT_PATTERN,
    Diary,
    DiaryError,
    EveningContext,
    MorningEntry,
    SessionEntry,
    check_technique,
    night_date,
    parse_night,
)
from legwatch.nights.diary import tonight as tonight_night
from legwatch.nights.stats import (
    MIN_NIGHTS_PER_CONDITION,
    Night,
    RateComparison,
    TrialResult,
    WithinNightResult,
    analyze_trial,
    naive_before_after,
    pool_within_night,
    within_night,
)
from legwatch.nights.trial_plan import MAD_TO_SD, TrialPlan, plan_trial

log = logging.getLogger(__name__)

Interval = tuple[float, float]
NIGHT_SCHEMA = "legwatch.night/1"
TRIAL_FILE = "trial.json"
TRIAL_SCHEMA = "legwatch.trial/1"

#: Pre-declared exclusion rule: a night with less analysable time than this is left out, h
#: (comparisons.md "< 4 h analysable"; the night analysis warns at the same bound).
MIN_ANALYSABLE_H = 4.0
#: Pre-declared exclusion rule: "band off" when off the body for more than this share of the
#: recording (the nights table uses the same bound).
BAND_OFF_SHARE = 0.5
#: Fewest run-in nights for a plan: night 1 is dropped and the SD needs 3 more (trial_plan).
MIN_RUNIN_NIGHTS = 4
MEASURES = {"plm": "periodic leg movements (PLM)", "lm": "leg movements (LM)", "spasms": "spasms"}


@dataclass(frozen=True)
class WithinNightParams:
    """Windows of the within-night comparison.

    Attributes
    ----------
    before_s : float
        Window before a session, s. Default 3600: one hour, long enough for ~20-40 movements at
        typical RLS rates, short enough to reflect the state just before (comparisons.md).
    after_s : float
        Window after the session ends, s. Default 18000: the claimed relief lasts "5 or more
        hours" (techniques.md), so the window can show it.
    """

    before_s: float = 3600.0
    after_s: float = 5 * 3600.0


# -- saved nights -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SavedNight:
    """What the comparisons need from one ``legwatch.night/1`` document (times in s from its
    start)."""

    file: str
    night: str
    start_utc: datetime
    recording_s: float
    analysable: tuple[Interval, ...]
    onsets_s: dict[str, np.ndarray] = field(repr=False)
    series_onsets_s: np.ndarray = field(repr=False)
    off_body_s: float
    band_sides: tuple[str, ...]
    legwatch_version: str
    rules: str
    denominator: str

    def window(self, morning: MorningEntry | None) -> tuple[tuple[Interval, ...], str]:
        """Analysable intervals inside the diary's in-bed window (if any), and the label."""
        if morning is None:
            return self.analysable, self.denominator
        a = (morning.bed_utc - self.start_utc).total_seconds()
        b = (morning.wake_utc - self.start_utc).total_seconds()
        cut = tuple((max(x, a), min(y, b)) for x, y in self.analysable if min(y, b) > max(x, a))
        return cut, "analysable time within the diary's bed and wake times"

    def count(self, measure: str, intervals: Sequence[Interval]) -> int:
        """Movements of one kind with their onset inside the intervals."""
        t = self.onsets_s[measure]
        return int(sum(np.sum((t >= a) & (t < b)) for a, b in intervals))


def _hours(intervals: Sequence[Interval]) -> float:
    return float(sum(b - a for a, b in intervals)) / 3600.0


def read_night(path: Path, name: str = "") -> SavedNight:
    """Read one ``legwatch.night/1`` document."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("schema") != NIGHT_SCHEMA:
        raise ParameterError(str(path), f"a {NIGHT_SCHEMA} document", doc.get("schema"))
    start = datetime.fromisoformat(doc["start_utc"])
    lms = doc["leg_movements"]
    quality = doc.get("quality", {})
    off = [x for x in quality.get("off_body", [])]
    per_band: dict[str, float] = {}
    for x in off:
        per_band[x.get("band_id", "")] = per_band.get(x.get("band_id", ""), 0.0) + (
            float(x["end_s"]) - float(x["start_s"])
        )
    return SavedNight(
        file=name or path.name,
        night=night_date(start),
        start_utc=start,
        recording_s=float(doc["recording_s"]),
        analysable=tuple((float(a), float(b)) for a, b in doc["analysable"]),
        onsets_s={
            "lm": np.array([m["onset_s"] for m in lms], dtype=float),
            "plm": np.array([m["onset_s"] for m in lms if m.get("in_series")], dtype=float),
            "spasms": np.array([s["onset_s"] for s in doc.get("spasms", [])], dtype=float),
        },
        series_onsets_s=np.array([s["onset_s"] for s in doc.get("series", [])], dtype=float),
        off_body_s=max(per_band.values(), default=0.0),
        band_sides=tuple(sorted(b.get("side", "?") for b in doc["bands"])),
        legwatch_version=str(doc.get("legwatch_version", "")),
        rules=str(doc.get("rules", "")),
        denominator=str(doc.get("denominator", {}).get("label", "analysable time")),
    )


def load_nights(folder: str | Path) -> tuple[list[SavedNight], list[str]]:
    """Every readable saved night under ``folder`` (oldest first) and one line per unreadable
    file (never dropped silently)."""
    base = Path(folder)
    if not base.is_dir():
        raise ParameterError("NIGHTS_DIR", "an existing folder of saved nights", str(base))
    nights, problems = [], []
    for path in sorted(base.rglob(NIGHT_PATTERN)):
        rel = str(path.relative_to(base))
        try:
            nights.append(read_night(path, rel))
        except (OSError, ValueError, KeyError, TypeError) as err:
            problems.append(f"{rel}: not a readable {NIGHT_SCHEMA} file ({err})")
    nights.sort(key=lambda n: n.start_utc)
    return nights, problems


# -- within a night -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionEffect:
    """Before/after one session: a result per measure, or why there is none."""

    session: SessionEntry
    night_file: str
    start_s: float
    results: dict[str, WithinNightResult]
    note: str = ""

    @property
    def time_to_first_series_s(self) -> float | None:
        r = self.results.get("plm")
        return None if r is None else r.time_to_first_series_s


def session_effects(
    nights: Sequence[SavedNight],
    sessions: Sequence[SessionEntry],
    params: WithinNightParams = WithinNightParams(),
) -> list[SessionEffect]:
    """Within-night before/after comparison of every session that falls inside a recording.

    Each measure (LM, PLM, spasms) gets :func:`legwatch.nights.stats.within_night` with the
    windows of ``params``; the PLM result also carries the time until the first PLM series
    returns. A session without analysable time before or after gets a note instead.
    """
    out = []
    for s in sorted(sessions, key=lambda x: x.start_utc):
        host = next(
            (
                n
                for n in nights
                if n.start_utc <= s.start_utc <= n.start_utc + timedelta(seconds=n.recording_s)
            ),
            None,
        )
        if host is None:
            continue
        t0 = (s.start_utc - host.start_utc).total_seconds()
        results: dict[str, WithinNightResult] = {}
        note = ""
        for m in MEASURES:
            try:
                results[m] = within_night(
                    host.onsets_s[m],
                    host.analysable,
                    t0,
                    session_duration_s=s.duration_s,
                    before_s=params.before_s,
                    after_s=params.after_s,
                    series_onsets_s=host.series_onsets_s if m == "plm" else None,
                )
            except ParameterError as err:
                note = f"no before/after comparison: {err}"
                results = {}
                break
        out.append(SessionEffect(s, host.file, t0, results, note))
    return out


def pool_sessions(effects: Sequence[SessionEffect], measure: str) -> dict[str, RateComparison]:
    """Pool the sessions of each technique (by label) for one measure."""
    groups: dict[str, list[WithinNightResult]] = {}
    for e in effects:
        if measure in e.results:
            groups.setdefault(e.session.label, []).append(e.results[measure])
    return {label: pool_within_night(rs) for label, rs in groups.items()}


# -- across nights ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NightPoint:
    """One night in an across-night comparison."""

    night: str
    file: str
    technique: bool
    count: int
    exposure_h: float
    denominator: str
    excluded: bool = False
    reason: str = ""
    trial_index: int | None = None

    @property
    def rate_per_h(self) -> float:
        return self.count / self.exposure_h if self.exposure_h > 0 else float("nan")


@dataclass(frozen=True)
class Comparison:
    """Everything the CLI prints and the comparison report draws.

    ``kind`` is "trial" (randomised) or "observational" (nights with vs without: weak evidence).
    Rate ratios are technique / none, per hour of the stated denominator.
    """

    kind: str
    technique: str
    measure: str
    verdict: str
    rate_ratio: float
    ci95: tuple[float, float]
    n_technique: int
    n_control: int
    evidence: str
    method: str
    denominator: str
    points: tuple[NightPoint, ...]
    noise_sigma_log: float
    noise_source: str
    within: tuple[SessionEffect, ...]
    pooled: dict[str, RateComparison]
    messages: tuple[str, ...] = ()
    trial: TrialResult | None = None
    plan: TrialPlan | None = None
    setup: TrialSetup | None = None

    @property
    def excluded(self) -> list[NightPoint]:
        return [p for p in self.points if p.excluded]

    def effect_text(self) -> str:
        """ "31% fewer per hour, likely 12-46% fewer, 14 vs 14 nights" (comparisons.md)."""
        n = f"{self.n_technique} vs {self.n_control} nights"
        if not math.isfinite(self.rate_ratio):
            return f"no estimate yet ({n}; none below {MIN_NIGHTS_PER_CONDITION} per condition)"
        change = 1.0 - self.rate_ratio
        word = "fewer" if change >= 0 else "more"
        lo, hi = self.ci95

        def pct(rr: float) -> str:
            c = 1.0 - rr
            return f"{abs(c):.0%} {'fewer' if c >= 0 else 'more'}"

        return (
            f"{abs(change):.0%} {word} {MEASURES[self.measure].split(' (')[0]} per hour with "
            f"the technique, likely between {pct(hi)} and {pct(lo)} (rate ratio "
            f"{self.rate_ratio:.2f}, 95% CI {lo:.2f}-{hi:.2f}), {n}"
        )

    def summary(self) -> str:
        """Plain lines for the terminal: verdict first."""
        lines = [
            f"Verdict: {self.verdict}"
            + (" (weak evidence: not randomised)" if self.kind == "observational" else "")
            + ".",
            self.effect_text() + ".",
            f"Evidence: {self.evidence}.",
            f"Per hour of: {self.denominator}.",
        ]
        if self.trial is not None:
            lines.extend(self.trial.evidence_lines())
        lines.extend(self.messages)
        for p in self.excluded:
            lines.append(f"Excluded {p.night} ({p.file or 'no file'}): {p.reason}.")
        for label, pooled in self.pooled.items():
            lines.append(
                f"Within nights, {label}: {MEASURES[self.measure]} rate after / before "
                f"{_rr(pooled)} ({pooled.evidence})."
            )
        lines.append("This does not prove cause.")
        return "\n".join(lines)


def _rr(c: RateComparison) -> str:
    if not math.isfinite(c.rate_ratio):
        return "n/a"
    return f"{c.rate_ratio:.2f} (95% CI {c.ci95[0]:.2f}-{c.ci95[1]:.2f})"


def _sigma(rates: Sequence[float]) -> float:
    x = np.log(np.asarray([r for r in rates if r > 0], dtype=float))
    if x.size < MIN_NIGHTS_PER_CONDITION:
        return float("nan")
    return MAD_TO_SD * float(np.median(np.abs(x - np.median(x))))


def _technique_night(
    technique: str, evening: EveningContext | None, sessions: Sequence[SessionEntry]
) -> bool:
    """A technique night by the sealed evening context, else by the sessions logged."""
    if evening is not None and evening.trial_allocation:
        return evening.trial_allocation == "technique"
    if evening is not None and evening.technique_tonight:
        return evening.technique_tonight == technique
    return any(s.technique == technique for s in sessions)


def _rule_exclusion(
    n: SavedNight, hours: float, evening: EveningContext | None, ref: dict[str, Any] | None
) -> str:
    """The first pre-declared exclusion rule a night meets ("" if none)."""
    if hours < MIN_ANALYSABLE_H:
        return f"< {MIN_ANALYSABLE_H:g} h analysable ({hours:.1f} h)"
    if n.recording_s > 0 and n.off_body_s / n.recording_s > BAND_OFF_SHARE:
        return (
            f"band off ({n.off_body_s / 3600:.1f} h of {n.recording_s / 3600:.1f} h off the body)"
        )
    if ref is not None:
        leg = evening.band_leg if evening is not None else None
        if tuple(ref["band_sides"]) != n.band_sides or (leg and leg != ref["band_leg"]):
            got = leg or "+".join(n.band_sides)
            return f"leg switched (band on {got}, the trial uses {ref['band_leg']})"
        if n.legwatch_version != ref["legwatch_version"] or n.rules != ref["rules"]:
            return (
                f"algorithm version changed (legwatch {n.legwatch_version} {n.rules}, the trial "
                f"uses {ref['legwatch_version']} {ref['rules']})"
            )
    return ""


def compare_nights(
    folder: str | Path,
    technique: str,
    *,
    measure: str = "plm",
    params: WithinNightParams = WithinNightParams(),
) -> Comparison:
    """Nights with vs without a technique, not randomised: weak evidence, labelled so.

    The rate ratio is the NB GLM of :func:`legwatch.nights.stats.naive_before_after` (nights as
    independent). The verdict is "too early" below 3 nights per condition, else "likely fewer" /
    "likely more" when its 95% CI excludes 1, else "no clear difference"; drift and
    autocorrelation make this comparison err far more often than its nominal 5%.
    """
    tech, _ = check_technique(technique, "", "x")
    _check_measure(measure)
    diary = Diary(folder)
    nights, problems = load_nights(folder)
    mornings = diary.mornings()
    sessions = diary.sessions()
    points = []
    denominators = set()
    for n in nights:
        ev = diary.evening(n.night)
        iv, denom = n.window(mornings.get(n.night))
        hours = _hours(iv)
        denominators.add(denom)
        reason = _rule_exclusion(n, hours, ev, None)
        own = [s for s in sessions if s.night(diary.tz) == n.night]
        points.append(
            NightPoint(
                n.night,
                n.file,
                _technique_night(tech, ev, own),
                n.count(measure, iv),
                hours,
                denom,
                bool(reason),
                reason,
            )
        )
    kept = [p for p in points if not p.excluded]
    t_pts = [p for p in kept if p.technique]
    c_pts = [p for p in kept if not p.technique]
    messages = list(problems)
    rr, ci = float("nan"), (float("nan"), float("nan"))
    method = "NB GLM, technique vs other nights, nights treated as independent (Wald 95% CI)"
    if min(len(t_pts), len(c_pts)) < MIN_NIGHTS_PER_CONDITION:
        verdict = "too early"
        messages.append(
            f"{len(t_pts)} technique and {len(c_pts)} other analysable nights: no aggregate "
            f"below {MIN_NIGHTS_PER_CONDITION} nights per condition."
        )
    else:
        res = naive_before_after(
            [p.count for p in c_pts],
            [p.exposure_h for p in c_pts],
            [p.count for p in t_pts],
            [p.exposure_h for p in t_pts],
        )
        rr, ci = res.rate_ratio, res.ci95
        verdict = (
            "likely fewer" if ci[1] < 1 else "likely more" if ci[0] > 1 else "no clear difference"
        )
    messages.append(
        "Not randomised: nights with and without the technique may differ in other ways "
        "(worse evenings, drift over weeks). Run `legwatch trial plan` for a fair test."
    )
    effects = session_effects(nights, [s for s in sessions if s.technique == tech], params)
    return Comparison(
        kind="observational",
        technique=_label(tech),
        measure=measure,
        verdict=verdict,
        rate_ratio=rr,
        ci95=ci,
        n_technique=len(t_pts),
        n_control=len(c_pts),
        evidence="weak: not randomised; drift, autocorrelation and regression to the mean can "
        "create or hide a difference",
        method=method,
        denominator="; ".join(sorted(denominators)) or "analysable time in bed",
        points=tuple(points),
        noise_sigma_log=_sigma([p.rate_per_h for p in c_pts]),
        noise_source=f"1.4826 * MAD of ln rate, {len(c_pts)} nights without the technique",
        within=tuple(effects),
        pooled=pool_sessions(effects, measure),
        messages=tuple(messages),
    )


def _label(tech: str) -> str:
    from legwatch.nights.diary import CATALOGUE

    return CATALOGUE[tech].label


def _check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise ParameterError("measure", ", ".join(MEASURES), measure)


# -- the randomised trial -----------------------------------------------------------------------
@dataclass(frozen=True)
class TrialSetup:
    """The trial as fixed before its first night, stored in ``trial.json`` (owner-only).

    The allocation is not written out: it is re-derived from the seed by
    :func:`legwatch.nights.trial_plan.plan_trial`, and ``schedule_sha256`` (a hash of it)
    proves it never changed. legwatch shows one night's allocation only at that evening's
    check-in.
    """

    technique: str
    measure: str
    first_night: str
    runin_nights: tuple[str, ...]
    runin_log_rates: tuple[float, ...]
    target_reduction: float
    alpha: float
    power: float
    max_pairs: int
    block_nights: int
    drop_first_nights: int
    seed: int
    created_utc: str
    legwatch_version: str
    rules: str
    band_sides: tuple[str, ...]
    band_leg: str
    schedule_sha256: str = ""

    def plan(self) -> TrialPlan:
        """The plan (same seed, same inputs: the same allocation)."""
        return plan_trial(
            list(self.runin_log_rates),
            target_reduction=self.target_reduction,
            alpha=self.alpha,
            power=self.power,
            max_pairs=self.max_pairs,
            block_nights=self.block_nights,
            drop_first_nights=self.drop_first_nights,
            seed=self.seed,
        )

    def night_index(self, night: str) -> int:
        """0-based trial night of an evening date (negative before the trial starts)."""
        return (parse_night(night) - date.fromisoformat(self.first_night)).days


def _schedule_hash(plan: TrialPlan) -> str:
    import hashlib

    text = "".join("T" if x else "C" for x in plan.schedule) + f"|{plan.seed}"
    return hashlib.sha256(text.encode()).hexdigest()


def create_trial(
    folder: str | Path,
    technique: str,
    *,
    first_night: str,
    measure: str = "plm",
    target_reduction: float = 0.5,
    alpha: float = 0.05,
    power: float = 0.8,
    max_pairs: int = 28,
    block_nights: int = 1,
    drop_first_nights: int = 0,
    seed: int | None = None,
    now: datetime | None = None,
) -> tuple[TrialSetup, TrialPlan]:
    """Plan a randomised trial from the run-in nights in ``folder`` and write ``trial.json``.

    Run-in nights: saved nights before ``first_night`` with no session of any technique and not
    excluded by the rules; night 1 is dropped by the planner (first-night effect). Refused when a
    trial file already exists (a plan is never overwritten) or with fewer than 4 run-in nights.
    """
    tech, _ = check_technique(technique, "", "x")
    _check_measure(measure)
    first = parse_night(first_night, "--first-night")
    path = Path(folder) / TRIAL_FILE
    if path.exists():
        raise DiaryError(
            f"{path} already exists: a trial plan is fixed once and never overwritten. Move it "
            "away to start a new trial."
        )
    diary = Diary(folder)
    nights, _ = load_nights(folder)
    with_sessions = {s.night(diary.tz) for s in diary.sessions()}
    mornings = diary.mornings()
    runin = []
    for n in nights:
        if date.fromisoformat(n.night) >= first or n.night in with_sessions:
            continue
        iv, _d = n.window(mornings.get(n.night))
        hours = _hours(iv)
        if _rule_exclusion(n, hours, diary.evening(n.night), None):
            continue
        runin.append((n, math.log((n.count(measure, iv) + 0.5) / hours)))
    if len(runin) < MIN_RUNIN_NIGHTS:
        raise ParameterError(
            "run-in nights",
            f"at least {MIN_RUNIN_NIGHTS} analysable nights without the technique before "
            f"{first_night} (comparisons.md suggests ~7)",
            f"{len(runin)} in {folder}",
        )
    last = runin[-1][0]
    ev = diary.evening(last.night)
    setup = TrialSetup(
        technique=tech,
        measure=measure,
        first_night=first.isoformat(),
        runin_nights=tuple(n.night for n, _ in runin),
        runin_log_rates=tuple(round(x, 12) for _, x in runin),
        target_reduction=target_reduction,
        alpha=alpha,
        power=power,
        max_pairs=max_pairs,
        block_nights=block_nights,
        drop_first_nights=drop_first_nights,
        seed=secrets.randbelow(2**31) if seed is None else seed,
        created_utc=(now or datetime.now(UTC)).isoformat(),
        legwatch_version=last.legwatch_version,
        rules=last.rules,
        band_sides=last.band_sides,
        band_leg=ev.band_leg if ev is not None else "+".join(last.band_sides),
    )
    plan = setup.plan()
    setup = TrialSetup(**{**asdict(setup), "schedule_sha256": _schedule_hash(plan)})
    doc = {"schema": TRIAL_SCHEMA, **asdict(setup), "plan_notes": list(plan.notes)}
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=1) + "\n")
    log.info("trial plan written to %s: %d pairs", path, plan.n_pairs)
    return setup, plan


def load_trial(folder: str | Path) -> tuple[TrialSetup, TrialPlan]:
    """Read ``trial.json`` and re-derive its plan; refuses a plan whose allocation changed."""
    path = Path(folder) / TRIAL_FILE
    if not path.exists():
        raise ParameterError(
            "NIGHTS_DIR",
            f"a folder with a trial plan ({TRIAL_FILE}); run `legwatch trial plan`",
            str(folder),
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("schema") != TRIAL_SCHEMA:
            raise ValueError(f"schema {doc.get('schema')!r}, expected {TRIAL_SCHEMA}")
        doc.pop("schema")
        doc.pop("plan_notes", None)
        for k in ("runin_nights", "runin_log_rates", "band_sides"):
            doc[k] = tuple(doc[k])
        setup = TrialSetup(**doc)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise DiaryError(f"{path}: not a readable trial plan ({err}).") from err
    plan = setup.plan()
    if _schedule_hash(plan) != setup.schedule_sha256:
        raise DiaryError(
            f"{path}: the allocation derived from this file does not match the hash fixed when "
            "the trial was planned; the file was edited. Restore the original."
        )
    return setup, plan


def trial_allocation(folder: str | Path, night: str) -> tuple[int, str] | None:
    """At the evening check-in: the trial night index and its allocation ("technique" or
    "no technique"), or None when no trial covers that night."""
    if not (Path(folder) / TRIAL_FILE).exists():
        return None
    setup, plan = load_trial(folder)
    i = setup.night_index(night)
    if not 0 <= i < plan.n_nights:
        return None
    return i, "technique" if plan.reveal(i) else "no technique"


@dataclass(frozen=True)
class TrialStatus:
    """Where a trial stands tonight."""

    tonight: str
    tonight_index: int | None
    tonight_allocation: str
    nights_done: int
    nights_planned: int
    nights_still_needed: int
    lines: tuple[str, ...]


def trial_status(folder: str | Path, *, today: str | None = None) -> TrialStatus:
    """Tonight's trial night, its allocation if already revealed, nights done and still needed."""
    setup, plan = load_trial(folder)
    diary = Diary(folder)
    tonight = today or tonight_night()
    i = setup.night_index(tonight)
    nights, _ = load_nights(folder)
    recorded = {n.night for n in nights}
    done = sum(
        1
        for k in range(plan.n_nights)
        if (date.fromisoformat(setup.first_night) + timedelta(days=k)).isoformat() in recorded
    )
    ev = diary.evening(tonight)
    if not 0 <= i < plan.n_nights:
        alloc = "not a trial night"
    elif ev is not None and ev.trial_allocation:
        alloc = ev.trial_allocation
    else:
        alloc = "revealed at the evening check-in (`legwatch log evening`)"
    still = max(0, plan.n_nights - max(i, 0)) if i < plan.n_nights else 0
    lines = [
        f"Trial of {_label(setup.technique)} ({MEASURES[setup.measure]}), "
        f"{plan.n_pairs} pairs of {plan.block_nights}-night blocks, {plan.n_nights} nights from "
        f"{setup.first_night}.",
        f"Tonight ({tonight}): "
        + (
            f"trial night {i + 1} of {plan.n_nights}, {alloc}." if 0 <= i < plan.n_nights else alloc
        ),
        f"Trial nights with a saved recording: {done} of {plan.n_nights}.",
        f"Nights still to go in the plan: {still}.",
        f"Planned power {plan.stated_power:.0%} for a {setup.target_reduction:.0%} reduction.",
    ]
    return TrialStatus(
        tonight,
        i if 0 <= i < plan.n_nights else None,
        alloc,
        done,
        plan.n_nights,
        still,
        tuple(lines),
    )


def trial_comparison(
    folder: str | Path,
    *,
    today: str | None = None,
    params: WithinNightParams = WithinNightParams(),
    seed: int = 0,
) -> Comparison:
    """Analyse the trial by the rules fixed in advance (stats.analyze_trial).

    Exclusion rules (pre-declared, listed with every result): < 4 h analysable, band off for more
    than half the recording, leg switched (other band side than the trial's), algorithm version
    changed (legwatch version or rule set), no recording saved for a past trial night; washout
    nights of a block are excluded by the plan.
    """
    setup, plan = load_trial(folder)
    diary = Diary(folder)
    nights, problems = load_nights(folder)
    by_night = {n.night: n for n in nights}
    mornings = diary.mornings()
    sessions = diary.sessions()
    tonight = today or night_date(datetime.now(UTC))
    ref = {
        "band_sides": setup.band_sides,
        "band_leg": setup.band_leg,
        "legwatch_version": setup.legwatch_version,
        "rules": setup.rules,
    }
    trial_nights: list[Night] = []
    points: list[NightPoint] = []
    denominators = set()
    messages = list(problems)
    first = date.fromisoformat(setup.first_night)
    for i in range(plan.n_nights):
        day = (first + timedelta(days=i)).isoformat()
        n = by_night.get(day)
        if n is None:
            if day < tonight:
                trial_nights.append(
                    Night(
                        i,
                        plan.schedule[i],
                        0,
                        0.0,
                        excluded=True,
                        exclusion_reason="no recording saved",
                    )
                )
                points.append(
                    NightPoint(day, "", plan.schedule[i], 0, 0.0, "", True, "no recording saved", i)
                )
            continue
        ev = diary.evening(day)
        own = [s for s in sessions if s.night(diary.tz) == day]
        if ev is None:
            messages.append(
                f"Night {day} has no sealed evening context; the sessions logged say "
                "whether the technique was done."
            )
        done = _technique_night(setup.technique, ev, own)
        if ev is not None and ev.trial_allocation and own and not done:
            done = any(s.technique == setup.technique for s in own)
        iv, denom = n.window(mornings.get(day))
        hours = _hours(iv)
        denominators.add(denom)
        reason = _rule_exclusion(n, hours, ev, ref)
        count = n.count(setup.measure, iv)
        trial_nights.append(
            Night(
                i,
                done,
                count,
                hours if hours > 0 else 1.0,
                night_date=date.fromisoformat(day),
                excluded=bool(reason),
                exclusion_reason=reason,
            )
        )
        points.append(NightPoint(day, n.file, done, count, hours, denom, bool(reason), reason, i))
    res = analyze_trial(trial_nights, plan, seed=seed)
    # washout exclusions come from the plan: mark those points too
    washout = {e.night_index: e.reason for e in res.excluded}
    points = [
        p
        if p.excluded or p.trial_index not in washout
        else NightPoint(
            p.night,
            p.file,
            p.technique,
            p.count,
            p.exposure_h,
            p.denominator,
            True,
            washout[p.trial_index],
            p.trial_index,
        )
        for p in points
    ]
    effects = session_effects(
        [by_night[p.night] for p in points if p.file and p.night in by_night],
        [s for s in sessions if s.technique == setup.technique],
        params,
    )
    return Comparison(
        kind="trial",
        technique=_label(setup.technique),
        measure=setup.measure,
        verdict=res.verdict,
        rate_ratio=res.rate_ratio,
        ci95=res.ci95,
        n_technique=res.n_nights_technique,
        n_control=res.n_nights_control,
        evidence="randomised: within-pair allocation drawn at random, revealed each evening",
        method=(
            "negative-binomial GLM with a time trend, log(hours) offset and Newey-West (HAC) "
            "errors; within-pair randomisation test; BCa bootstrap over pairs"
        ),
        denominator="; ".join(sorted(denominators)) or "analysable time in bed",
        points=tuple(points),
        noise_sigma_log=plan.sigma_log,
        noise_source=plan.sigma_source,
        within=tuple(effects),
        pooled=pool_sessions(effects, setup.measure),
        messages=tuple(messages) + res.messages,
        trial=res,
        plan=plan,
        setup=setup,
    )
