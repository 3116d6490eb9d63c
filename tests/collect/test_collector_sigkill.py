"""A collector killed with SIGKILL mid-night loses at most ~1 s and the night continues.

The collector runs in a subprocess on a paced packet feed that behaves like a band that keeps
streaming: it starts from the collector's resume index (what BACKFILL after a reconnect gives).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from legwatch.collect.store import open_or_resume

SCRIPT = """
import asyncio, sys, time, numpy as np
from legwatch.bench.collector_speed import encoded_packets
from legwatch.collect.collector import BandSpec, Collector, CollectorParams
from legwatch.collect.store import open_or_resume
PACKETS_PER_S = 400.0
packets = encoded_packets(np.random.default_rng(1).normal(0, 0.01, (104 * 3600, 3)) + [0, 0, 1])

class Feed:
    def __init__(self, spec, resume_index):
        self.resume_index = resume_index
        self.is_connected = True
        self.closed = asyncio.Event()
    async def __aenter__(self): return self
    async def __aexit__(self, *exc): pass
    async def close(self, timeout_s=10.0): self.closed.set()
    async def backfill(self, first, count): return None
    async def notifications(self):
        start = (self.resume_index() or 0) // 26
        loop = asyncio.get_running_loop(); t0 = loop.time()
        for k in range(start, len(packets)):
            if self.closed.is_set(): return
            await asyncio.sleep(max(0.0, t0 + (k - start) / PACKETS_PER_S - loop.time()))
            yield time.monotonic_ns(), packets[k]
            print(k * 26 + 25, flush=True)

async def main():
    store = open_or_resume(sys.argv[1], "night")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(15, stop.set)
    params = CollectorParams(clock_speed=PACKETS_PER_S / 4)
    c = Collector(store, [BandSpec("left")], link_factory=Feed, params=params)
    await c.run(stop)
asyncio.run(main())
"""


def _start(tmp_path: Path) -> subprocess.Popen[str]:
    script = tmp_path / "collect.py"
    script.write_text(SCRIPT)
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "rec")], stdout=subprocess.PIPE, text=True
    )


def _last_line(proc: subprocess.Popen[str], min_index: int, timeout_s: float = 30.0) -> int:
    """Read the feed's progress until it passed ``min_index`` received."""
    assert proc.stdout is not None
    last = -1
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and last < min_index:
        line = proc.stdout.readline()
        if not line:
            break
        last = int(line)
    return last


def test_sigkill_loses_at_most_a_second_and_the_night_continues(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    received = _last_line(proc, 3 * 400 * 26)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.stdout is not None
    for line in proc.stdout:  # anything printed before the kill landed
        received = int(line)
    proc.stdout.close()
    store = open_or_resume(tmp_path / "rec", "night")
    stored = store.last_sample_index("left")
    store.close()
    assert stored is not None and received > 0
    samples_per_s = 400 * 26
    assert received - stored <= 1.3 * samples_per_s, (received, stored)

    proc = _start(tmp_path)
    _last_line(proc, stored + 2 * 400 * 26)
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)
    assert proc.returncode == 0
    assert proc.stdout is not None
    proc.stdout.close()
    # (Replay's clock fit cannot be used here: the feed does not replay the downtime as a
    # band would, so receive times jump between sessions; check the journal's indices.)
    db = tmp_path / "rec" / "night" / "night.sqlite"
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT first_index, n_samples FROM packets ORDER BY first_index"
        ).fetchall()
        sessions = con.execute("SELECT closed_utc FROM sessions ORDER BY session_id").fetchall()
    assert [closed is None for (closed,) in sessions] == [True, False, False]  # +our check
    starts = [a for a, _ in rows]
    ends = [a + n for a, n in rows]
    # The night continued from where the journal ended: contiguous, nothing twice.
    assert starts[0] == 0 and starts[1:] == ends[:-1]
    assert ends[-1] - 1 > stored + 400 * 26
    assert (tmp_path / "rec" / "night" / "summary.json").is_file()
