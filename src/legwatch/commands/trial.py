"""Diary, comparison and trial commands: ``legwatch log``, ``legwatch compare``, ``legwatch trial``.

Registered in :mod:`legwatch.cli` (``app.command()(log)``, ``app.command()(compare)``,
``app.add_typer(trial_app, name="trial")``). Errors are LegwatchError subclasses with a message a
person can act on; ``legwatch.cli.main`` prints them as one line and exits with code 2.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from legwatch.errors import ParameterError
from legwatch.nights.diary import (
    CATALOGUE,
    Diary,
    EveningContext,
    MorningEntry,
    SessionEntry,
    catalogue_text,
    last_night,
    parse_night,
    tonight,
)

if TYPE_CHECKING:
    from legwatch.nights.compare import Comparison

from legwatch.commands._console import out

NightsDir = Annotated[
    Path,
    typer.Option("--nights", "-n", help="Folder of saved nights (*.night.json) and the diary."),
]
NightsArg = Annotated[
    Path, typer.Argument(help="Folder of saved nights (*.night.json) and the diary.")
]

trial_app = typer.Typer(
    help="A randomised N-of-1 trial: plan it, see what tonight is, report it.",
    no_args_is_help=True,
)


def _local_zone() -> datetime:
    return datetime.now().astimezone()


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """'now', 'HH:MM' (today, or yesterday if that is in the future) or ISO 8601; a time without a
    zone is this computer's local time."""
    now = now or _local_zone()
    if text == "now":
        return now
    try:
        if len(text) <= 5 and ":" in text:
            t = datetime.combine(now.date(), time.fromisoformat(text), tzinfo=now.tzinfo)
            return t - timedelta(days=1) if t > now + timedelta(minutes=5) else t
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ParameterError(
            "--at", "now, HH:MM or an ISO date-time (2025-03-04T23:10)", text
        ) from None
    return t if t.tzinfo is not None else t.astimezone()


def _bed_wake(night: str, bed: str, wake: str) -> tuple[datetime, datetime]:
    zone = _local_zone().tzinfo
    try:
        b, w = time.fromisoformat(bed), time.fromisoformat(wake)
    except ValueError:
        raise ParameterError("--bed/--wake", "clock times HH:MM", (bed, wake)) from None
    day = parse_night(night)
    t_bed = datetime.combine(day + timedelta(days=1 if b.hour < 12 else 0), b, tzinfo=zone)
    t_wake = datetime.combine(day + timedelta(days=1 if w.hour < 18 else 0), w, tzinfo=zone)
    return t_bed, t_wake


def log(
    kind: Annotated[str, typer.Argument(help="session, evening or morning.")],
    nights: NightsDir = Path("."),
    technique: Annotated[
        str | None,
        typer.Option(
            help="session: technique from the catalogue; evening: tonight's technique, or "
            "'none'. Catalogue: " + ", ".join(CATALOGUE)
        ),
    ] = None,
    at: Annotated[str, typer.Option(help="session: start, now / HH:MM / ISO date-time.")] = "now",
    duration_min: Annotated[float, typer.Option(help="session: how long, minutes.")] = 3.0,
    region: Annotated[
        str, typer.Option(help="session: massage region mid_back, neck_upper_back, lower_back.")
    ] = "",
    name: Annotated[str, typer.Option(help="session: name of a custom technique.")] = "",
    count: Annotated[
        int | None, typer.Option(help="session: strokes (massage) or repetitions.")
    ] = None,
    by: Annotated[str, typer.Option(help="session: self or partner.")] = "self",
    notes: Annotated[str, typer.Option(help="Free notes.")] = "",
    deviation: Annotated[
        str, typer.Option(help="session: store it although it contradicts the evening, saying why.")
    ] = "",
    night: Annotated[
        str | None, typer.Option(help="evening/morning: the evening date YYYY-MM-DD.")
    ] = None,
    caffeine: Annotated[int, typer.Option(help="evening: caffeinated drinks since noon.")] = 0,
    alcohol: Annotated[int, typer.Option(help="evening: alcoholic drinks today.")] = 0,
    exercise: Annotated[str, typer.Option(help="evening: none, light or hard.")] = "none",
    medication: Annotated[str, typer.Option(help="evening: medication or iron today.")] = "",
    leg: Annotated[
        str, typer.Option(help="evening: band on the left, right or both legs.")
    ] = "left",
    partner_in_bed: Annotated[
        bool, typer.Option("--partner-in-bed/--alone", help="evening: partner in bed.")
    ] = False,
    bed: Annotated[str | None, typer.Option(help="morning: into bed, HH:MM (local).")] = None,
    wake: Annotated[str | None, typer.Option(help="morning: up, HH:MM (local).")] = None,
    rls: Annotated[int | None, typer.Option(help="morning: RLS last night, 0-10.")] = None,
    partner_rating: Annotated[
        int | None, typer.Option(help="morning: partner's rating of the night, 0-10.")
    ] = None,
) -> None:
    """Write the diary: a technique session, the sealed evening context, or the morning entry."""
    from legwatch.nights.compare import trial_allocation

    diary = Diary(nights)
    if kind == "session":
        if technique is None:
            raise ParameterError(
                "--technique", "a technique from the catalogue:\n" + catalogue_text(), None
            )
        s = diary.add_session(
            SessionEntry(
                technique,
                parse_when(at),
                duration_min * 60.0,
                region=region,
                custom_name=name,
                count=count,
                performed_by=by,
                notes=notes,
            ),
            deviation=deviation,
        )
        mark = f" (marked as a deviation: {s.deviation})" if s.deviation else ""
        out.print(
            f"logged {s.label} at {s.start_utc:%Y-%m-%d %H:%M %Z}, night of "
            f"{s.night(diary.tz)}{mark}"
        )
    elif kind == "evening":
        when = night or tonight()
        alloc = trial_allocation(nights, when)
        tonights_technique = technique or ""
        if alloc is not None:
            tonights_technique = (
                (technique or _trial_technique(nights)) if alloc[1] == "technique" else "none"
            )
        ctx = diary.seal_evening(
            EveningContext(
                when,
                technique_tonight=tonights_technique,
                caffeine_drinks=caffeine,
                alcohol_drinks=alcohol,
                exercise=exercise,
                medication=medication,
                band_leg=leg,
                partner_in_bed=partner_in_bed,
                trial_allocation=alloc[1] if alloc else "",
                notes=notes,
            )
        )
        out.print(
            f"evening of {ctx.night} sealed at {ctx.sealed_utc:%H:%M UTC} "
            f"(sha256 {ctx.content_sha256[:12]}...)"
        )
        if alloc is not None:
            out.print(
                f"[bold]Trial night {alloc[0] + 1}: tonight is a {alloc[1].upper()} night.[/bold]"
            )
    elif kind == "morning":
        when = night or last_night()
        if bed is None or wake is None or rls is None:
            raise ParameterError("morning entry", "--bed HH:MM --wake HH:MM --rls 0-10", None)
        t_bed, t_wake = _bed_wake(when, bed, wake)
        m = diary.add_morning(
            MorningEntry(when, t_bed, t_wake, rls, partner_rating=partner_rating, notes=notes)
        )
        out.print(f"morning entry of the night of {m.night} logged")
    else:
        raise ParameterError("KIND", "session, evening or morning", kind)


def _trial_technique(nights: Path) -> str:
    from legwatch.nights.compare import load_trial

    return load_trial(nights)[0].technique


def compare(
    nights: NightsArg,
    technique: Annotated[str, typer.Option(help="Technique from the catalogue.")],
    measure: Annotated[str, typer.Option(help="plm, lm or spasms.")] = "plm",
    before_min: Annotated[
        float, typer.Option(help="Within a night: window before a session, minutes.")
    ] = 60.0,
    after_h: Annotated[float, typer.Option(help="Within a night: hours after a session.")] = 5.0,
    report: Annotated[
        Path | None, typer.Option(help="Write the HTML comparison report into this folder.")
    ] = None,
) -> None:
    """Nights with vs without a technique (weak evidence: not randomised), and within nights."""
    from legwatch.nights.compare import WithinNightParams, compare_nights

    cmp = compare_nights(
        nights,
        technique,
        measure=measure,
        params=WithinNightParams(before_min * 60.0, after_h * 3600.0),
    )
    out.print(cmp.summary())
    _write_report(cmp, report)


def _write_report(cmp: Comparison, report: Path | None) -> None:
    if report is None:
        return
    from legwatch.report.compare_report import write_compare_report

    out.print(f"wrote {write_compare_report(cmp, report)}")


@trial_app.command("plan")
def trial_plan(
    nights: NightsArg,
    technique: Annotated[str, typer.Option(help="Technique from the catalogue.")],
    first_night: Annotated[
        str | None, typer.Option(help="First trial evening YYYY-MM-DD (default: tonight).")
    ] = None,
    target: Annotated[
        float, typer.Option(help="Reduction you care about, 0-1 (0.5 = half as many).")
    ] = 0.5,
    measure: Annotated[str, typer.Option(help="plm, lm or spasms.")] = "plm",
    power: Annotated[float, typer.Option(help="Chance of detecting it, 0-1.")] = 0.8,
    block_nights: Annotated[
        int, typer.Option(help="Nights per block (3-4 if the effect may carry over).")
    ] = 1,
    drop_first: Annotated[
        int, typer.Option(help="Washout nights left out at the start of each block.")
    ] = 0,
    max_pairs: Annotated[int, typer.Option(help="Cap on the number of pairs.")] = 28,
    seed: Annotated[
        int | None, typer.Option(help="Allocation seed (default: drawn at random).")
    ] = None,
) -> None:
    """Plan a randomised trial from your run-in nights; the allocation stays hidden."""
    from legwatch.nights.compare import create_trial

    first = first_night or tonight()
    setup, plan = create_trial(
        nights,
        technique,
        first_night=first,
        measure=measure,
        target_reduction=target,
        power=power,
        block_nights=block_nights,
        drop_first_nights=drop_first,
        max_pairs=max_pairs,
        seed=seed,
    )
    out.print(
        f"Trial of {CATALOGUE[setup.technique].label} planned from {setup.first_night}: "
        f"{plan.n_pairs} pairs, {plan.n_nights} nights."
    )
    out.print(
        f"Run-in: {len(setup.runin_nights)} nights ({setup.runin_nights[0]} to "
        f"{setup.runin_nights[-1]}), night-to-night SD of log rate {plan.sigma_log:.2f}."
    )
    for note in plan.notes:
        out.print(note)
    out.print(
        "Each evening, `legwatch log evening` reveals whether that night is a technique night."
    )


@trial_app.command("status")
def trial_status_cmd(
    nights: NightsArg,
    today: Annotated[
        str | None, typer.Option(help="Evening date YYYY-MM-DD (default: tonight).")
    ] = None,
) -> None:
    """What tonight is, nights done, nights still needed."""
    from legwatch.nights.compare import trial_status

    for line in trial_status(nights, today=today).lines:
        out.print(line)


@trial_app.command("report")
def trial_report(
    nights: NightsArg,
    report: Annotated[
        Path | None, typer.Option(help="Write the HTML comparison report into this folder.")
    ] = None,
    today: Annotated[
        str | None, typer.Option(help="Evening date YYYY-MM-DD (default: tonight).")
    ] = None,
) -> None:
    """Analyse the trial by the rules fixed when it was planned."""
    from legwatch.nights.compare import trial_comparison

    cmp = trial_comparison(nights, today=today)
    out.print(cmp.summary())
    _write_report(cmp, report)
