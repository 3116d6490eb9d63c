"""The diary kept with the nights: technique sessions, a sealed evening context, a morning entry.

Stored as ``diary.sqlite`` in the nights folder, owner-only (0600). SQLite rather than JSON lines
because (1) a session can be logged in the middle of the night while the collector writes in the
same folder, and SQLite gives atomic appends that survive a crash half-way through a write;
(2) the rule "a sealed evening context is never changed" is enforced by the file itself: triggers
abort every UPDATE and DELETE, so no later code path (ours or a hand-run ``sqlite3``) can quietly
overwrite an entry; (3) the collector already stores raw packets in SQLite, so no new dependency.

Every table is append-only. An evening context is *sealed* when it is written: the SHA-256 of its
canonical JSON and the UTC time are stored with it, and :meth:`Diary.verify` recomputes the hashes.
It must be sealed before that night's recording starts (comparisons.md: "evening context sealed
before recording starts"), so the outcome cannot influence what was declared.

Times are timezone-aware datetimes stored as UTC ISO 8601. A night is named by the date of the
evening it began (a time before noon belongs to the previous evening), as in the nights table.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from legwatch.errors import DiaryError, ParameterError, SealedEntryError

log = logging.getLogger(__name__)

DIARY_FILE = "diary.sqlite"
SCHEMA_VERSION = 1
NIGHT_PATTERN = "*.night.json"

#: A session up to this long before a recording starts still belongs to that night (a massage at
#: bedtime before the band is switched on), s. It can enter across-night comparisons but has no
#: "before" window for the within-night analysis.
BEDTIME_MARGIN_S = 3600.0


@dataclass(frozen=True)
class Technique:
    """One entry of the technique catalogue (techniques.md)."""

    name: str
    label: str
    regions: tuple[str, ...]
    counted: str  # what --count means: "strokes" or "repetitions"


#: The techniques people asked to test (techniques.md). "custom" needs a name of its own.
CATALOGUE: dict[str, Technique] = {
    t.name: t
    for t in (
        Technique(
            "percussive_spinal_massage",
            "percussive spinal massage",
            ("mid_back", "neck_upper_back", "lower_back"),
            "strokes",
        ),
        Technique("skin_rolling", "skin rolling", (), "repetitions"),
        Technique("inversion", "inversion", (), "repetitions"),
        Technique("foam_roller_or_ball", "foam roller or ball", (), "repetitions"),
        Technique("stretching", "stretching", (), "repetitions"),
        Technique("custom", "custom (give it a name)", (), "repetitions"),
    )
}
#: Region aliases a person may type; "lower thoracic" is the mid-back area of techniques.md.
REGION_ALIASES = {"lower_thoracic": "mid_back", "neck": "neck_upper_back"}
PERFORMERS = ("self", "partner")
LEGS = ("left", "right", "both")


def catalogue_text() -> str:
    """The catalogue as one line per technique, for error messages and ``--help``."""
    lines = []
    for t in CATALOGUE.values():
        regions = f" (region: {', '.join(t.regions)})" if t.regions else ""
        lines.append(f"  {t.name}: {t.label}{regions}")
    return "\n".join(lines)


def check_technique(name: str, region: str = "", custom_name: str = "") -> tuple[str, str]:
    """Validate a technique (and its region) against the catalogue.

    Returns
    -------
    (name, region)
        The catalogue name and the canonical region ("" when the technique has no regions).
    """
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in CATALOGUE:
        raise DiaryError(
            f"Unknown technique {name!r}. The catalogue has:\n{catalogue_text()}\n"
            "Use 'custom' with a name for anything else."
        )
    tech = CATALOGUE[key]
    reg = REGION_ALIASES.get(region.strip().lower(), region.strip().lower()).replace("-", "_")
    if tech.regions:
        reg = reg or tech.regions[0]
        if reg not in tech.regions:
            raise ParameterError(
                "region", f"one of {', '.join(tech.regions)} for {tech.label}", region
            )
    elif reg:
        raise ParameterError("region", f"no region for {tech.label}", region)
    if key == "custom" and not custom_name.strip():
        raise ParameterError("custom_name", "a name for the custom technique", custom_name)
    return key, reg


def parse_night(text: str, name: str = "--night") -> date:
    """An evening date given by a person (YYYY-MM-DD), or a ParameterError naming the option."""
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ParameterError(name, "an evening date YYYY-MM-DD, e.g. 2026-03-04", text) from None


def night_date(t: datetime, tz: tzinfo = UTC) -> str:
    """The evening a moment belongs to, YYYY-MM-DD (before noon: the previous evening)."""
    _aware("time", t)
    local = t.astimezone(tz)
    if local.hour < 12:
        local -= timedelta(days=1)
    return local.strftime("%Y-%m-%d")


def tonight(now: datetime | None = None, tz: tzinfo = UTC) -> str:
    """The night in progress at ``now``, or, once it is over (06:00), the coming evening's.

    What "tonight" means for the evening check-in, trial status and a new plan: at 00:30 it is
    still the night that began the evening before; at 07:00 it is the night to come.
    """
    return night_date((now or datetime.now(UTC)) + timedelta(hours=6), tz)


def last_night(now: datetime | None = None, tz: tzinfo = UTC) -> str:
    """The most recent night begun at least 12 h before ``now``: what a morning entry is about."""
    return night_date((now or datetime.now(UTC)) - timedelta(hours=12), tz)


def _aware(name: str, t: datetime) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ParameterError(name, "a timezone-aware datetime", t)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def _now() -> datetime:
    return datetime.now(UTC)


# -- entries ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionEntry:
    """One technique session.

    Attributes
    ----------
    technique : str
        Catalogue name (:data:`CATALOGUE`).
    start_utc : datetime
        When the session started (timezone-aware).
    duration_s : float
        How long it lasted, s.
    region : str
        Body region (percussive spinal massage only).
    custom_name : str
        Name of a "custom" technique.
    count : int or None
        Strokes (massage) or repetitions (other techniques), when counted.
    performed_by : str
        "self" or "partner".
    notes : str
        Free text.
    deviation : str
        Why it was stored although it contradicts the sealed evening context or lies outside
        every recording ("" for a normal entry).
    logged_utc : datetime or None
        When it was written (set by the diary).
    """

    technique: str
    start_utc: datetime
    duration_s: float
    region: str = ""
    custom_name: str = ""
    count: int | None = None
    performed_by: str = "self"
    notes: str = ""
    deviation: str = ""
    logged_utc: datetime | None = None

    @property
    def label(self) -> str:
        """What a person calls it: "percussive spinal massage (mid back)", or the custom name."""
        if self.technique == "custom":
            return self.custom_name
        base = CATALOGUE[self.technique].label
        return f"{base} ({self.region.replace('_', ' ')})" if self.region else base

    @property
    def key(self) -> str:
        """Grouping key for pooling: technique, region or custom name."""
        if self.technique == "custom":
            return f"custom:{self.custom_name.strip().lower()}"
        return f"{self.technique}:{self.region}" if self.region else self.technique

    def night(self, tz: tzinfo = UTC) -> str:
        """The night (evening date) the session belongs to."""
        return night_date(self.start_utc, tz)


@dataclass(frozen=True)
class EveningContext:
    """What was true on the evening before a night; sealed, never edited.

    Attributes
    ----------
    night : str
        Evening date, YYYY-MM-DD.
    technique_tonight : str
        "none", a catalogue name, or "" (not stated). A session logged that night that
        contradicts it is refused (or stored marked as a deviation).
    caffeine_drinks, alcohol_drinks : int
        Drinks since noon.
    exercise : str
        "none", "light" or "hard".
    medication : str
        Medication and iron taken that day, free text ("" = none).
    band_leg : str
        Leg the band is worn on: "left", "right" or "both".
    partner_in_bed : bool
        Whether a partner shares the bed (their movements can reach the band).
    trial_allocation : str
        For a trial night, the allocation revealed at this check-in ("technique" or
        "no technique"); "" otherwise.
    notes : str
        Free text.
    sealed_utc, content_sha256 : set when sealed.
    """

    night: str
    technique_tonight: str = ""
    caffeine_drinks: int = 0
    alcohol_drinks: int = 0
    exercise: str = "none"
    medication: str = ""
    band_leg: str = "left"
    partner_in_bed: bool = False
    trial_allocation: str = ""
    notes: str = ""
    sealed_utc: datetime | None = None
    content_sha256: str = ""

    def content(self) -> dict[str, Any]:
        """The sealed fields (everything but the seal itself)."""
        d = asdict(self)
        d.pop("sealed_utc")
        d.pop("content_sha256")
        return d

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`content`."""
        text = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MorningEntry:
    """The morning after: time in bed and ratings.

    Attributes
    ----------
    night : str
        Evening date, YYYY-MM-DD.
    bed_utc, wake_utc : datetime
        Into bed and up, timezone-aware. They give the in-bed window used as the denominator.
    rls_rating : int
        Restless-legs severity last night, 0 (none) to 10 (worst imaginable).
    partner_rating : int or None
        The partner's 0-10 rating of the night's leg movements, if any.
    notes : str
        Free text.
    """

    night: str
    bed_utc: datetime
    wake_utc: datetime
    rls_rating: int
    partner_rating: int | None = None
    notes: str = ""
    logged_utc: datetime | None = None


# -- recordings the diary checks against -------------------------------------------------------
@dataclass(frozen=True)
class RecordingSpan:
    """Start and end of one saved night's recording."""

    file: str
    start_utc: datetime
    end_utc: datetime


def recording_spans(folder: str | Path) -> list[RecordingSpan]:
    """Recording spans of the ``*.night.json`` documents under ``folder`` (unreadable ones skipped,
    with a log message: the nights table lists them)."""
    spans = []
    base = Path(folder)
    for path in sorted(base.rglob(NIGHT_PATTERN)):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            start = datetime.fromisoformat(doc["start_utc"])
            end = start + timedelta(seconds=float(doc["recording_s"]))
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.info("%s: skipped for the diary's checks: %s", path, err)
            continue
        spans.append(RecordingSpan(str(path.relative_to(base)), start, end))
    return sorted(spans, key=lambda s: s.start_utc)


# -- the diary ----------------------------------------------------------------------------------
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS session (
    id INTEGER PRIMARY KEY, night TEXT NOT NULL, logged_utc TEXT NOT NULL, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evening (
    night TEXT PRIMARY KEY, sealed_utc TEXT NOT NULL, content_sha256 TEXT NOT NULL,
    entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS morning (
    night TEXT PRIMARY KEY, logged_utc TEXT NOT NULL, entry TEXT NOT NULL);
"""
_TRIGGERS = "".join(
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op} BEFORE {op.upper()} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, 'legwatch diary entries are append-only'); END;\n"
    for t in ("session", "evening", "morning")
    for op in ("update", "delete")
)


class Diary:
    """The append-only diary of one nights folder.

    Parameters
    ----------
    folder : str or Path
        The nights folder; ``diary.sqlite`` is created in it (owner-only) when missing.
    tz : tzinfo
        Zone used to name nights by their evening date (default UTC, as the nights table).
    """

    def __init__(self, folder: str | Path, *, tz: tzinfo = UTC) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ParameterError("folder", "an existing nights folder", str(self.folder))
        self.path = self.folder / DIARY_FILE
        self.tz = tz
        if not self.path.exists():
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        os.chmod(self.path, 0o600)
        with self._db() as db:
            db.executescript(_TABLES + _TRIGGERS)
            db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=10.0)
        except sqlite3.Error as err:
            raise DiaryError(f"{self.path}: cannot open the diary ({err}).") from err
        try:
            with db:
                yield db
        except sqlite3.DatabaseError as err:
            raise DiaryError(f"{self.path}: the diary could not be written ({err}).") from err
        finally:
            db.close()

    # -- sessions -------------------------------------------------------------------------------
    def add_session(
        self,
        session: SessionEntry,
        *,
        deviation: str = "",
        now: datetime | None = None,
    ) -> SessionEntry:
        """Validate and append a technique session.

        Refused (nothing written) when the technique is unknown, when the night's sealed evening
        context says otherwise (no technique, or another one), or when saved recordings exist and
        the session lies outside all of them (more than :data:`BEDTIME_MARGIN_S` before a start)
        but not after the last one (tonight's recording may still be running). Give
        ``deviation`` (why) to store such a session anyway, marked.
        """
        tech, region = check_technique(session.technique, session.region, session.custom_name)
        _aware("start_utc", session.start_utc)
        if not session.duration_s >= 0:
            raise ParameterError("duration_s", "a duration >= 0 s", session.duration_s)
        if session.count is not None and session.count < 0:
            raise ParameterError("count", "a number of strokes or repetitions >= 0", session.count)
        if session.performed_by not in PERFORMERS:
            raise ParameterError("performed_by", " or ".join(PERFORMERS), session.performed_by)
        entry = replace(session, technique=tech, region=region, deviation=deviation)
        problems = self._session_problems(entry)
        if problems and not deviation:
            first = problems[0]
            raise (SealedEntryError if first[0] == "sealed" else DiaryError)(
                f"{first[1]} Nothing was written. If it really happened, log it again with a "
                "deviation note (--deviation 'why') and it is stored marked as such."
            )
        logged = now or _now()
        entry = replace(entry, logged_utc=logged)
        with self._db() as db:
            db.execute(
                "INSERT INTO session (night, logged_utc, entry) VALUES (?, ?, ?)",
                (entry.night(self.tz), _iso(logged), _dump(entry)),
            )
        log.info("diary: session %s at %s", entry.label, _iso(entry.start_utc))
        return entry

    def _session_problems(self, s: SessionEntry) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        night = s.night(self.tz)
        ev = self.evening(night)
        if ev is not None and ev.technique_tonight:
            said = ev.technique_tonight
            if said == "none" or said != s.technique:
                what = "no technique" if said == "none" else f"the technique {said!r}"
                alloc = f" (trial allocation: {ev.trial_allocation})" if ev.trial_allocation else ""
                problems.append(
                    (
                        "sealed",
                        f"This {s.label} session on the night of {night} contradicts the sealed "
                        f"evening context, which says {what} tonight{alloc}; it was sealed at "
                        f"{_iso(ev.sealed_utc) if ev.sealed_utc else '?'}.",
                    )
                )
        spans = recording_spans(self.folder)
        if spans:
            t = s.start_utc
            margin = timedelta(seconds=BEDTIME_MARGIN_S)
            inside = any(sp.start_utc - margin <= t <= sp.end_utc for sp in spans)
            if not inside and t <= spans[-1].end_utc:
                near = min(spans, key=lambda sp: abs((sp.start_utc - t).total_seconds()))
                problems.append(
                    (
                        "outside",
                        f"The session at {_iso(t)} is outside every saved recording (the nearest,"
                        f" {near.file}, ran {_iso(near.start_utc)} to {_iso(near.end_utc)}). "
                        "Check the date and time zone of --at.",
                    )
                )
        return problems

    def sessions(self, night: str | None = None) -> list[SessionEntry]:
        """Sessions in logging order, optionally of one night."""
        with self._db() as db:
            if night is None:
                rows = db.execute("SELECT entry FROM session ORDER BY id").fetchall()
            else:
                rows = db.execute(
                    "SELECT entry FROM session WHERE night = ? ORDER BY id", (night,)
                ).fetchall()
        return [_load_session(r[0]) for r in rows]

    # -- evening --------------------------------------------------------------------------------
    def seal_evening(self, ctx: EveningContext, *, now: datetime | None = None) -> EveningContext:
        """Seal the evening context of ``ctx.night``: hash + time, written once, never changed.

        Refused when that night already has a sealed context (whatever the new content), or when a
        saved recording of that night started before now.
        """
        _check_night("night", ctx.night)
        if ctx.technique_tonight not in ("", "none"):
            check_technique(ctx.technique_tonight, "", "x")
        if ctx.band_leg not in LEGS:
            raise ParameterError("band_leg", " or ".join(LEGS), ctx.band_leg)
        if ctx.exercise not in ("none", "light", "hard"):
            raise ParameterError("exercise", "none, light or hard", ctx.exercise)
        for name in ("caffeine_drinks", "alcohol_drinks"):
            if getattr(ctx, name) < 0:
                raise ParameterError(name, "a number of drinks >= 0", getattr(ctx, name))
        sealed_at = now or _now()
        old = self.evening(ctx.night)
        if old is not None:
            raise SealedEntryError(
                f"The evening context of the night of {ctx.night} was sealed at "
                f"{_iso(old.sealed_utc) if old.sealed_utc else '?'} (sha256 "
                f"{old.content_sha256[:12]}...) and cannot be changed; nothing was overwritten. "
                "Put corrections in the morning entry's notes."
            )
        for sp in recording_spans(self.folder):
            if night_date(sp.start_utc, self.tz) == ctx.night and sp.start_utc <= sealed_at:
                raise SealedEntryError(
                    f"The recording of the night of {ctx.night} ({sp.file}) started at "
                    f"{_iso(sp.start_utc)}, before this check-in ({_iso(sealed_at)}): an evening "
                    "context must be sealed before the recording starts, so it cannot be "
                    "influenced by the night. Nothing was written."
                )
        sealed = replace(ctx, sealed_utc=sealed_at, content_sha256=ctx.digest())
        with self._db() as db:
            db.execute(
                "INSERT INTO evening (night, sealed_utc, content_sha256, entry) VALUES (?,?,?,?)",
                (sealed.night, _iso(sealed_at), sealed.content_sha256, _dump(sealed)),
            )
        log.info("diary: evening of %s sealed (%s)", sealed.night, sealed.content_sha256[:12])
        return sealed

    def evening(self, night: str) -> EveningContext | None:
        """The sealed evening context of a night, or None."""
        with self._db() as db:
            row = db.execute("SELECT entry FROM evening WHERE night = ?", (night,)).fetchone()
        return None if row is None else _load_evening(row[0])

    def evenings(self) -> list[EveningContext]:
        """All sealed evening contexts, by night."""
        with self._db() as db:
            rows = db.execute("SELECT entry FROM evening ORDER BY night").fetchall()
        return [_load_evening(r[0]) for r in rows]

    def verify(self) -> list[str]:
        """Recompute every seal; returns one line per evening whose content no longer matches."""
        bad = []
        with self._db() as db:
            rows = db.execute("SELECT night, content_sha256, entry FROM evening").fetchall()
        for night, digest, text in rows:
            ev = _load_evening(text)
            if ev.digest() != digest or ev.content_sha256 != digest:
                bad.append(f"evening of {night}: content does not match its seal")
        return bad

    # -- morning --------------------------------------------------------------------------------
    def add_morning(self, entry: MorningEntry, *, now: datetime | None = None) -> MorningEntry:
        """Append the morning entry of a night (one per night; a second one is refused)."""
        _check_night("night", entry.night)
        _aware("bed_utc", entry.bed_utc)
        _aware("wake_utc", entry.wake_utc)
        if entry.wake_utc <= entry.bed_utc:
            raise ParameterError(
                "wake time", f"after the bed time {_iso(entry.bed_utc)}", _iso(entry.wake_utc)
            )
        if entry.wake_utc - entry.bed_utc > timedelta(hours=16):
            raise ParameterError("bed/wake times", "at most 16 h in bed", entry.wake_utc)
        for name in ("rls_rating", "partner_rating"):
            v = getattr(entry, name)
            if v is not None and not 0 <= v <= 10:
                raise ParameterError(name, "a rating from 0 to 10", v)
        ev = self.evening(entry.night)
        if (
            ev is not None
            and ev.sealed_utc is not None
            and entry.bed_utc < ev.sealed_utc - (timedelta(hours=12))
        ):
            raise SealedEntryError(
                f"The bed time {_iso(entry.bed_utc)} is more than 12 h before the evening "
                f"check-in of {entry.night} ({_iso(ev.sealed_utc)}): is the date right?"
            )
        if self.morning(entry.night) is not None:
            raise DiaryError(
                f"The night of {entry.night} already has a morning entry; diary entries are never "
                "overwritten."
            )
        entry = replace(entry, logged_utc=now or _now())
        with self._db() as db:
            db.execute(
                "INSERT INTO morning (night, logged_utc, entry) VALUES (?, ?, ?)",
                (entry.night, _iso(entry.logged_utc or _now()), _dump(entry)),
            )
        return entry

    def morning(self, night: str) -> MorningEntry | None:
        """The morning entry of a night, or None."""
        with self._db() as db:
            row = db.execute("SELECT entry FROM morning WHERE night = ?", (night,)).fetchone()
        return None if row is None else _load_morning(row[0])

    def mornings(self) -> dict[str, MorningEntry]:
        """All morning entries by night."""
        with self._db() as db:
            rows = db.execute("SELECT entry FROM morning ORDER BY night").fetchall()
        return {m.night: m for m in (_load_morning(r[0]) for r in rows)}


# -- (de)serialisation --------------------------------------------------------------------------
def _check_night(name: str, night: str) -> None:
    try:
        datetime.strptime(night, "%Y-%m-%d")
    except ValueError:
        raise ParameterError(name, "a date YYYY-MM-DD (the evening)", night) from None


def _dump(entry: Any) -> str:
    d = asdict(entry)
    for k, v in d.items():
        if isinstance(v, datetime):
            d[k] = _iso(v)
    return json.dumps(d, sort_keys=True)


def _times(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    for k in keys:
        if d.get(k) is not None:
            d[k] = datetime.fromisoformat(d[k])
    return d


def _load_session(text: str) -> SessionEntry:
    return SessionEntry(**_times(json.loads(text), "start_utc", "logged_utc"))


def _load_evening(text: str) -> EveningContext:
    return EveningContext(**_times(json.loads(text), "sealed_utc"))


def _load_morning(text: str) -> MorningEntry:
    return MorningEntry(**_times(json.loads(text), "bed_utc", "wake_utc", "logged_utc"))


__all__ = [
    "BEDTIME_MARGIN_S",
    "CATALOGUE",
    "DIARY_FILE",
    "Diary",
    "DiaryError",
    "EveningContext",
    "MorningEntry",
    "RecordingSpan",
    "SealedEntryError",
    "SessionEntry",
    "Technique",
    "catalogue_text",
    "check_technique",
    "night_date",
    "recording_spans",
]
