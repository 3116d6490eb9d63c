"""The night store on disk: SIGKILL, resume, permissions, locks, damaged files, fuzzed bytes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legwatch.band.legwatch_v1 import BandPacket, PacketFlags, encode_packet
from legwatch.collect import StoreParams, open_or_resume, replay, replay_night, tonight_id
from legwatch.errors import ParameterError, StoreError


def packet(i: int, n: int = 26, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed + i)
    return encode_packet(
        BandPacket(
            flags=PacketFlags.NONE,
            sequence=i % 65536,
            first_sample_index=i * n,
            device_time_us=i * 250_000,
            rate_code=4,
            range_code=2,
            battery_pct=None,
            samples=rng.integers(-4000, 4000, size=(n, 3), dtype=np.int16),
        )
    )


def rx_of(i: int) -> int:
    """Receive time of packet i: 250 ms per 26 samples at 104 Hz, plus 10 ms."""
    return 10**12 + i * 250_000_000 + 10_000_000


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


CHILD = textwrap.dedent(
    """
    import os, sys, time
    from legwatch.collect import open_or_resume
    sys.path.insert(0, {test_dir!r})
    from test_store_durability import packet, rx_of
    store = open_or_resume({root!r}, "n1")
    store.register_band("L", "left_ankle")
    log = os.open({log!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    payloads = [packet(i % 50) for i in range(50)]
    i = 0
    while True:
        store.append_packet("L", rx_of(i), payloads[i % 50])
        os.write(log, f"{{i}} {{time.monotonic_ns()}}\\n".encode())
        i += 1
        time.sleep(0.002)
    """
)


def test_sigkill_loses_at_most_the_last_second_and_the_night_resumes(tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    log = tmp_path / "progress.log"
    script = CHILD.format(test_dir=str(Path(__file__).parent), root=str(root), log=str(log))
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # run until well past two commits
            lines = log.read_bytes().splitlines() if log.exists() else []
            if lines and time.monotonic_ns() - int(lines[0].split()[1]) > 2.8e9:
                break
            assert child.poll() is None, "the child died on its own"
            time.sleep(0.05)
        kill_ns = time.monotonic_ns()
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    progress = [tuple(map(int, line.split())) for line in log.read_text().splitlines()]
    appended = len(progress)
    promised = sum(1 for _, t_ns in progress if t_ns < kill_ns - 1.3e9)  # 1 s + margin
    assert promised > 100, (promised, appended)

    store = open_or_resume(root, "n1")  # no StoreError: the lock died with the child
    try:
        stored = store.count_packets("L")
        assert promised <= stored <= appended
        # What is there is exactly the first `stored` packets, bytes intact, in order.
        con = sqlite3.connect(store.db_path)
        rows = con.execute("SELECT rx_order, rx_ns, payload FROM packets ORDER BY rx_order")
        for k, (order, rx_ns, payload) in enumerate(rows):
            assert (order, rx_ns, payload) == (k, rx_of(k), packet(k % 50))
        con.close()
        # The night goes on in the same folder with a new session.
        assert store.night_dir == root / "n1" and store.session_id == 2
        store.append_packet("L", rx_of(stored), packet(0))
    finally:
        store.close()
    report = replay_night(root / "n1").reports["L"]
    assert report.sessions == 2 and report.unclean_sessions == 1
    assert report.notifications == stored + 1


def test_resume_after_clean_close_continues_the_receive_order(tmp_path: Path) -> None:
    with open_or_resume(tmp_path, "n1") as store:
        store.register_band("L", "left_ankle")
        for i in range(10):
            store.append_packet("L", rx_of(i), packet(i))
        store.append_event({"kind": "LM", "onset_s": 12.5, "duration_s": 1.5}, rx_ns=5)
        store.append_status({"battery_pct": 80}, rx_ns=6, band_id="L")
        store.append_packet("L", 7, packet(3)[:-1])  # truncated: logged corrupt, bytes kept
        assert store.last_sample_index("L") == 10 * 26 - 1
    with open_or_resume(tmp_path, "n1") as store:
        assert store.last_sample_index("L") == 10 * 26 - 1  # where BACKFILL resumes from
        for i in range(10, 20):
            store.append_packet("L", rx_of(i), packet(i))
        db = store.db_path
    con = sqlite3.connect(db)
    orders = [r[0] for r in con.execute("SELECT rx_order FROM packets ORDER BY rx_order")]
    assert orders == list(range(21))
    ((order, reason),) = con.execute("SELECT rx_order, reason FROM corrupt_packets").fetchall()
    assert order == 10 and "178 bytes" in reason and "payload has 155 bytes" in reason
    raw = con.execute("SELECT payload FROM packets WHERE rx_order = 10").fetchone()[0]
    assert raw == packet(3)[:-1]
    assert [r[0] for r in con.execute("SELECT session_id FROM sessions")] == [1, 2]
    (event,) = con.execute("SELECT event_json FROM events").fetchall()
    assert json.loads(event[0]) == {"kind": "LM", "onset_s": 12.5, "duration_s": 1.5}
    assert con.execute("SELECT count(*) FROM status").fetchone()[0] == 1
    con.close()
    result = replay_night(tmp_path / "n1")
    assert result.recordings["L"].n_samples == 20 * 26
    assert result.reports["L"].corrupt_packets == 1


def test_commits_wait_for_the_interval_then_all_go_together(tmp_path: Path) -> None:
    params = StoreParams(commit_interval_s=0.3)
    with open_or_resume(tmp_path, "n1", params) as store:
        store.append_packet("L", rx_of(0), packet(0))
        store.append_packet("L", rx_of(1), packet(1))
        assert store.count_packets() == 0 and store.buffered == 2
        time.sleep(0.35)
        assert store.flush_if_due()
        assert store.count_packets() == 2 and store.buffered == 0


def test_night_folder_and_files_are_owner_only(tmp_path: Path, umask_022: None) -> None:
    root = tmp_path / "recordings"
    with open_or_resume(root, "n1") as store:
        store.append_packet("L", rx_of(0), packet(0))
        store.flush()
        night = store.night_dir
        files = sorted(p.name for p in night.iterdir())
        assert files == ["night.lock", "night.sqlite", "night.sqlite-shm", "night.sqlite-wal"]
        for p in night.iterdir():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(night.stat().st_mode) == 0o700


def test_a_second_collector_on_the_same_night_is_refused(tmp_path: Path) -> None:
    with open_or_resume(tmp_path, "n1"), pytest.raises(StoreError, match="another process"):
        open_or_resume(tmp_path, "n1")
    open_or_resume(tmp_path, "n1").close()  # released on close


def _night_with_data(root: Path) -> Path:
    with open_or_resume(root, "n1") as store:
        store.register_band("L", "left_ankle")
        for i in range(300):
            store.append_packet("L", rx_of(i), packet(i))
        return store.db_path


def test_truncated_database_is_a_store_error_naming_the_file(tmp_path: Path) -> None:
    db = _night_with_data(tmp_path)
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.truncate(size // 3)
    with pytest.raises(StoreError, match=r"night\.sqlite.*(malformed|integrity|damaged)"):
        open_or_resume(tmp_path, "n1")
    with pytest.raises(StoreError, match=r"night\.sqlite"):
        replay(db.parent)
    assert db.stat().st_size == size // 3  # left as it was: nothing deleted or rewritten


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    night = tmp_path / "n1"
    night.mkdir()
    (night / "night.sqlite").write_bytes(b"not sqlite at all " * 100)
    with pytest.raises(StoreError, match=r"n1/night\.sqlite.*not a database"):
        open_or_resume(tmp_path, "n1")
    with pytest.raises(StoreError, match=r"n1/night\.sqlite"):
        replay(night)
    assert (night / "night.sqlite").read_bytes() == b"not sqlite at all " * 100


def test_unusable_root_and_night_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot create the recording folder"):
        open_or_resume(tmp_path / "file", "n1")
    for bad in ("../escape", "a/b", ".hidden", ""):
        with pytest.raises(ParameterError, match="night_id"):
            open_or_resume(tmp_path, bad)
    with pytest.raises(StoreError, match="no night store here"):
        replay(tmp_path)


def test_tonight_is_the_evening_date_until_noon() -> None:
    tz = datetime.now().astimezone().tzinfo
    assert tonight_id(datetime(2026, 3, 5, 23, 0, tzinfo=tz)) == "2026-03-05"
    assert tonight_id(datetime(2026, 3, 6, 2, 30, tzinfo=tz)) == "2026-03-05"
    assert tonight_id(datetime(2026, 3, 6, 12, 0, tzinfo=tz)) == "2026-03-06"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk=st.lists(st.binary(min_size=0, max_size=260), min_size=1, max_size=30))
def test_random_bytes_never_crash_replay(junk: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with open_or_resume(tmp, "n1") as store:
            for k, blob in enumerate(junk):
                store.append_packet("L", rx_of(k), packet(k))  # valid packets between junk
                store.append_packet("L", rx_of(k) + 1, blob)
        result = replay_night(Path(tmp) / "n1")
    rep = result.reports["L"]
    assert rep.notifications == 2 * len(junk)
    assert rep.packets == len(junk)  # every valid packet survives the junk around it
    plainly_bad = sum(1 for b in junk if not b or (b[0] != 0x4C and b[0] & 0xC0 != 0xC0))
    assert rep.corrupt_packets >= plainly_bad
    assert rep.samples == len(junk) * 26
