"""The diary: catalogue, sealing, refusals with clear messages, nothing overwritten."""

from __future__ import annotations

import json
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from legwatch.errors import LegwatchError, ParameterError
from legwatch.nights.diary import (
    DIARY_FILE,
    Diary,
    DiaryError,
    EveningContext,
    MorningEntry,
    SealedEntryError,
    SessionEntry,
    night_date,
)

EVENING = datetime(2025, 3, 4, 21, 0, tzinfo=UTC)


def _night_file(folder: Path, start: datetime, hours: float) -> None:
    doc = {"schema": "legwatch.night/1", "start_utc": start.isoformat(),
           "recording_s": hours * 3600.0}  # fmt: skip
    (folder / f"{start:%Y%m%d}.night.json").write_text(json.dumps(doc), encoding="utf-8")


def test_diary_file_is_owner_only_and_append_only(tmp_path: Path) -> None:
    d = Diary(tmp_path)
    mode = stat.S_IMODE((tmp_path / DIARY_FILE).stat().st_mode)
    assert mode == 0o600
    d.seal_evening(EveningContext("2025-03-04", technique_tonight="none"), now=EVENING)
    with sqlite3.connect(tmp_path / DIARY_FILE) as db, pytest.raises(sqlite3.DatabaseError):
        db.execute("UPDATE evening SET entry = '{}'")
    with sqlite3.connect(tmp_path / DIARY_FILE) as db, pytest.raises(sqlite3.DatabaseError):
        db.execute("DELETE FROM evening")
    assert d.verify() == []


def test_sealed_evening_cannot_be_edited_and_is_kept(tmp_path: Path) -> None:
    d = Diary(tmp_path)
    first = d.seal_evening(
        EveningContext("2025-03-04", technique_tonight="percussive_spinal_massage",
                       caffeine_drinks=1, band_leg="left"),
        now=EVENING,
    )  # fmt: skip
    assert len(first.content_sha256) == 64 and first.sealed_utc == EVENING
    with pytest.raises(SealedEntryError, match=r"sealed at 2025-03-04T21:00.*cannot be changed"):
        d.seal_evening(EveningContext("2025-03-04", caffeine_drinks=3), now=EVENING)
    kept = d.evening("2025-03-04")
    assert kept is not None
    assert kept.caffeine_drinks == 1 and kept.content_sha256 == first.content_sha256


def test_evening_must_be_sealed_before_the_recording_starts(tmp_path: Path) -> None:
    _night_file(tmp_path, datetime(2025, 3, 4, 22, 30, tzinfo=UTC), 8.0)
    d = Diary(tmp_path)
    with pytest.raises(SealedEntryError, match="before the recording starts"):
        d.seal_evening(EveningContext("2025-03-04"), now=datetime(2025, 3, 5, 7, tzinfo=UTC))
    assert d.evening("2025-03-04") is None
    # an hour before the recording is fine
    d.seal_evening(EveningContext("2025-03-04"), now=datetime(2025, 3, 4, 21, 30, tzinfo=UTC))


def test_unknown_technique_lists_the_catalogue(tmp_path: Path) -> None:
    d = Diary(tmp_path)
    with pytest.raises(DiaryError) as err:
        d.add_session(SessionEntry("reiki", EVENING, 60.0))
    text = str(err.value)
    for name in ("percussive_spinal_massage", "skin_rolling", "inversion", "foam_roller_or_ball",
                 "stretching", "custom", "mid_back"):  # fmt: skip
        assert name in text
    assert d.sessions() == []
    with pytest.raises(ParameterError, match="region"):
        d.add_session(SessionEntry("percussive spinal massage", EVENING, 60.0, region="knee"))
    with pytest.raises(ParameterError, match="custom_name"):
        d.add_session(SessionEntry("custom", EVENING, 60.0))
    s = d.add_session(
        SessionEntry("percussive-spinal-massage", EVENING, 120.0, region="lower_thoracic",
                     count=150, performed_by="partner")
    )  # fmt: skip
    assert s.region == "mid_back" and s.label == "percussive spinal massage (mid back)"
    c = d.add_session(SessionEntry("custom", EVENING, 60.0, custom_name="Epsom bath"))
    assert c.label == "Epsom bath"
    assert [x.label for x in d.sessions("2025-03-04")] == [s.label, "Epsom bath"]


def test_session_contradicting_sealed_evening_is_refused_then_marked(tmp_path: Path) -> None:
    d = Diary(tmp_path)
    d.seal_evening(EveningContext("2025-03-04", technique_tonight="none",
                                  trial_allocation="no technique"), now=EVENING)  # fmt: skip
    during = datetime(2025, 3, 5, 2, 15, tzinfo=UTC)  # during an episode, after midnight
    with pytest.raises(SealedEntryError, match=r"contradicts the sealed evening context.*no "
                       r"technique.*Nothing was written"):  # fmt: skip
        d.add_session(SessionEntry("inversion", during, 240.0, count=6))
    assert d.sessions() == []
    kept = d.add_session(
        SessionEntry("inversion", during, 240.0, count=6), deviation="bad episode at 2 am"
    )
    assert kept.deviation == "bad episode at 2 am"
    ev = d.evening("2025-03-04")
    assert ev is not None and ev.technique_tonight == "none"  # the seal is untouched
    assert d.verify() == []


def test_session_outside_every_recording(tmp_path: Path) -> None:
    _night_file(tmp_path, datetime(2025, 3, 4, 22, 0, tzinfo=UTC), 8.0)
    _night_file(tmp_path, datetime(2025, 3, 6, 22, 0, tzinfo=UTC), 8.0)
    d = Diary(tmp_path)
    with pytest.raises(DiaryError, match=r"outside every saved recording.*nearest"):
        d.add_session(SessionEntry("stretching", datetime(2025, 3, 5, 15, tzinfo=UTC), 600.0))
    # at bedtime just before a recording, inside one, and tonight (after the last): accepted
    d.add_session(SessionEntry("stretching", datetime(2025, 3, 4, 21, 30, tzinfo=UTC), 600.0))
    d.add_session(SessionEntry("stretching", datetime(2025, 3, 5, 1, 30, tzinfo=UTC), 600.0))
    d.add_session(SessionEntry("stretching", datetime(2025, 3, 7, 22, 30, tzinfo=UTC), 600.0))
    assert len(d.sessions()) == 3


def test_morning_entry_checks_and_is_never_overwritten(tmp_path: Path) -> None:
    d = Diary(tmp_path)
    bed = datetime(2025, 3, 4, 22, 15, tzinfo=UTC)
    with pytest.raises(ParameterError, match="wake time"):
        d.add_morning(MorningEntry("2025-03-04", bed, bed - timedelta(hours=1), 5))
    with pytest.raises(ParameterError, match="0 to 10"):
        d.add_morning(MorningEntry("2025-03-04", bed, bed + timedelta(hours=8), 11))
    d.add_morning(MorningEntry("2025-03-04", bed, bed + timedelta(hours=8), 4, partner_rating=6))
    with pytest.raises(DiaryError, match="already has a morning entry"):
        d.add_morning(MorningEntry("2025-03-04", bed, bed + timedelta(hours=7), 2))
    m = d.morning("2025-03-04")
    assert m is not None and m.rls_rating == 4 and m.partner_rating == 6


def test_night_date_and_errors_share_the_root() -> None:
    assert night_date(datetime(2025, 3, 5, 3, 0, tzinfo=UTC)) == "2025-03-04"
    assert night_date(datetime(2025, 3, 4, 23, 0, tzinfo=UTC)) == "2025-03-04"
    assert issubclass(SealedEntryError, LegwatchError)
    with pytest.raises(ParameterError, match="timezone-aware"):
        night_date(datetime(2025, 3, 5, 3, 0))


@pytest.mark.parametrize(
    ("clock", "tonight_is", "last_night_is"),
    [
        ("2026-03-04T21:00", "2026-03-04", "2026-03-03"),  # the evening itself
        ("2026-03-05T00:30", "2026-03-04", "2026-03-04"),  # still in that night
        ("2026-03-05T07:00", "2026-03-05", "2026-03-04"),  # morning: tonight is the next one
        ("2026-03-05T19:00", "2026-03-05", "2026-03-04"),  # a late morning entry
    ],
)
def test_tonight_and_last_night_agree_for_every_command(
    clock: str, tonight_is: str, last_night_is: str
) -> None:
    from legwatch.nights.diary import last_night, tonight

    now = datetime.fromisoformat(clock).replace(tzinfo=UTC)
    assert tonight(now) == tonight_is
    assert last_night(now) == last_night_is
