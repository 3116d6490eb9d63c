"""The crash-safe per-night recording store: an append-only SQLite journal of raw band packets.

One night is one folder under a root (``recordings/`` by default), created for the owner only
(folder 0700, files 0600), holding ``night.sqlite`` in WAL mode. The journal keeps every
notification exactly as it came off the link, with its host receive time and receive order;
everything else (samples, times, gaps) is derived from it by :mod:`legwatch.collect.replay`, so a
better replay can always be rerun on old nights.

Durability
----------
Appends are buffered in memory and committed in one transaction once the oldest may be
``StoreParams.commit_interval_s`` (0.5 s) old, checked at every append and by the collector
(:meth:`NightStore.flush_if_due`, every quarter second), so a SIGKILL loses less than the last
1 s received: the interval, plus the check's period, plus one commit (tests/collect/
test_collector_sigkill.py measures it). A committed WAL transaction survives the death of the
process (it is in the WAL file). With ``synchronous=FULL`` (the default here) each commit also
fsyncs the WAL, so a power cut (a bedside computer unplugged at 3 am) loses the same; at two
commits per second this costs two fsyncs per second. ``synchronous=NORMAL`` skips that fsync:
still safe against a killed process, but a power cut may roll back to the last checkpoint.

Pure standard library plus the band codec: no BLE, no asyncio.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from legwatch.band.legwatch_v1 import RATE_HZ, PacketReassembler
from legwatch.errors import PacketDecodeError, ParameterError, StoreError
from legwatch.recording import BodySite

logger = logging.getLogger(__name__)

#: Layout version of night.sqlite; bump on any schema change (readers refuse newer ones).
SCHEMA_VERSION: Final = 1
DB_NAME: Final = "night.sqlite"
LOCK_NAME: Final = "night.lock"
DEFAULT_ROOT: Final = Path("recordings")
#: A night belongs to the date on which it started; a clock time before noon still belongs to
#: the previous evening's night (a restart at 02:00 resumes the night begun at 23:00).
NIGHT_BOUNDARY_HOUR: Final = 12
_NIGHT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

RxClock = Literal["monotonic", "unix"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS night (
    night_id TEXT NOT NULL,
    created_utc TEXT NOT NULL,
    legwatch_version TEXT NOT NULL,
    schema_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    session_id INTEGER PRIMARY KEY,
    started_utc TEXT NOT NULL,
    closed_utc TEXT,
    legwatch_version TEXT NOT NULL,
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    rx_clock TEXT NOT NULL,
    anchor_unix_ns INTEGER NOT NULL,
    anchor_rx_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bands (
    band_id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    rate_code INTEGER NOT NULL,
    nominal_rate_hz REAL NOT NULL,
    range_code INTEGER NOT NULL,
    serial TEXT,
    added_utc TEXT NOT NULL,
    extra_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS packets (
    rx_order INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    band_id TEXT NOT NULL,
    rx_ns INTEGER NOT NULL,
    payload BLOB NOT NULL,
    first_index INTEGER,
    n_samples INTEGER
);
CREATE INDEX IF NOT EXISTS packets_band ON packets (band_id, rx_order);
CREATE TABLE IF NOT EXISTS corrupt_packets (
    rx_order INTEGER PRIMARY KEY,
    band_id TEXT NOT NULL,
    rx_ns INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    event_id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    band_id TEXT,
    rx_ns INTEGER NOT NULL,
    event_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS status (
    status_id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    band_id TEXT,
    rx_ns INTEGER NOT NULL,
    status_json TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoreParams:
    """How the store trades durability against write cost.

    Attributes
    ----------
    commit_interval_s : float
        Longest time buffered appends wait before a commit, seconds. Default 0.5 s: the
        collector promises that a SIGKILL loses at most the last 1 s received (issue 4), and a
        row can wait the interval plus the collector's check period (a quarter of a second)
        plus the commit itself; 0.5 s keeps that under 1 s with room for a busy host (domain
        notes ble-and-data.md: fsync every 1-5 s is usual; two per second cost nothing at a
        band's 4 packets/s).
    max_buffered : int
        Rows buffered before a commit regardless of time. Default 4096 (about 8 min of one
        104 Hz band, so time, not size, normally triggers the commit; it caps memory in replays
        of a backlog).
    synchronous : {"FULL", "NORMAL"}
        SQLite ``PRAGMA synchronous`` in WAL mode. Default FULL: one fsync per commit, so a
        power cut loses no more than a SIGKILL (SQLite docs, "PRAGMA synchronous": NORMAL in WAL
        mode is durable against application crashes but not power loss).
    busy_timeout_s : float
        How long to wait for another connection's lock, seconds. Default 5 s.
    rx_clock : {"monotonic", "unix"}
        Which clock the host receive times given to :meth:`NightStore.append_packet` come from.
        Default "monotonic" (``time.monotonic_ns()``, what the BLE callback stamps: see
        ble-and-data.md); each session stores a (unix, rx) anchor so replay maps them to UTC.
    """

    commit_interval_s: float = 0.5
    max_buffered: int = 4096
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    busy_timeout_s: float = 5.0
    rx_clock: RxClock = "monotonic"

    def __post_init__(self) -> None:
        if not 0.0 < self.commit_interval_s <= 60.0:
            raise ParameterError("commit_interval_s", "0 < seconds <= 60", self.commit_interval_s)
        if self.max_buffered < 1:
            raise ParameterError("max_buffered", "a positive number of rows", self.max_buffered)
        if self.synchronous not in ("FULL", "NORMAL"):
            raise ParameterError("synchronous", "'FULL' or 'NORMAL'", self.synchronous)
        if self.busy_timeout_s < 0:
            raise ParameterError("busy_timeout_s", "seconds >= 0", self.busy_timeout_s)
        if self.rx_clock not in ("monotonic", "unix"):
            raise ParameterError("rx_clock", "'monotonic' or 'unix'", self.rx_clock)


def _legwatch_version() -> str:
    from legwatch import __version__

    return __version__


def _utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def tonight_id(now: datetime | None = None) -> str:
    """The id of the night in progress at ``now`` (local time): its evening's date, YYYY-MM-DD.

    Times before NIGHT_BOUNDARY_HOUR (noon) belong to the previous evening's night.
    """
    local = (now or datetime.now()).astimezone()
    return (local - timedelta(hours=NIGHT_BOUNDARY_HOUR)).date().isoformat()


def _check_night_id(night_id: str) -> str:
    if not isinstance(night_id, str) or not _NIGHT_ID.match(night_id):
        raise ParameterError(
            "night_id",
            "'tonight' or a folder name of letters, digits, '.', '_' or '-' (at most 64, "
            "not starting with '.')",
            night_id,
        )
    return night_id


def _mkdir_private(path: Path) -> None:
    """Create ``path`` (and parents) as 0700; tighten an existing folder we own."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_uid == os.getuid():
            os.chmod(path, 0o700)
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot create the recording folder ({exc.strerror or exc}); choose a "
            f"writable root folder."
        ) from exc


def _connect(db_path: Path, *, read_only: bool, busy_timeout_s: float) -> sqlite3.Connection:
    """Open the database, turning sqlite3 errors into a StoreError naming the file."""
    try:
        if read_only:
            con = sqlite3.connect(
                f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout_s
            )
        else:
            con = sqlite3.connect(db_path, timeout=busy_timeout_s, isolation_level=None)
        con.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        return con
    except sqlite3.Error as exc:
        raise StoreError(f"{db_path}: cannot open the night store: {exc}.") from exc


def _explain(db_path: Path, action: str, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        hint = "another process holds the database; stop it or wait."
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        hint = (
            "the file is damaged (truncated or overwritten); nothing was changed. Copy the "
            "folder and try `sqlite3 night.sqlite .recover` on the copy."
        )
    elif "readonly" in text or "read-only" in text or "unable to open" in text:
        hint = "the file or its folder is not writable by this user."
    else:
        hint = "nothing was changed."
    return StoreError(f"{db_path}: cannot {action}: {text}; {hint}")


def read_night_meta(con: sqlite3.Connection, db_path: Path) -> dict[str, Any]:
    """The night row, checking the schema version. Raises StoreError if absent or too new."""
    try:
        row = con.execute(
            "SELECT night_id, created_utc, legwatch_version, schema_version FROM night"
        ).fetchone()
    except sqlite3.Error as exc:
        raise _explain(db_path, "read the night table", exc) from exc
    if row is None:
        raise StoreError(f"{db_path}: no night row; this is not a legwatch night store.")
    if row[3] > SCHEMA_VERSION:
        raise StoreError(
            f"{db_path}: schema version {row[3]} is newer than this legwatch reads "
            f"({SCHEMA_VERSION}); upgrade legwatch."
        )
    return {
        "night_id": row[0],
        "created_utc": row[1],
        "legwatch_version": row[2],
        "schema_version": row[3],
    }


class NightStore:
    """The open journal of one night, written by one process at a time.

    Create it with :func:`open_or_resume`. Appends are buffered and committed together (see the
    module docstring for the durability bound); call :meth:`close` (or use ``with``) at the end
    of the night to commit the rest and mark the session closed.

    Attributes
    ----------
    night_dir : Path
        The night's folder.
    night_id : str
    session_id : int
        This process's session (a resumed night gets a new one).
    params : StoreParams
    """

    def __init__(self, night_dir: Path, night_id: str, params: StoreParams) -> None:
        self.night_dir = night_dir
        self.night_id = night_id
        self.params = params
        self.db_path = night_dir / DB_NAME
        self._lock_fd = self._take_lock()
        self._buf_packets: list[tuple[int, int, str, int, bytes, int | None, int | None]] = []
        self._buf_corrupt: list[tuple[int, str, int, str]] = []
        self._buf_events: list[tuple[int, str | None, int, str]] = []
        self._buf_status: list[tuple[int, str | None, int, str]] = []
        self._reassemblers: dict[str, PacketReassembler] = {}
        self._last_commit = time.monotonic()
        self._closed = False
        self.packets_appended = 0
        self.corrupt_appended = 0
        try:
            self._con = self._open_writable()
            self._next_order = self._query_next_order()
            self.session_id = self._new_session()
        except BaseException:
            self._release_lock()
            raise

    # -- opening ---------------------------------------------------------------------------
    def _take_lock(self) -> int:
        """An advisory flock so two collectors never write one night; the kernel drops it on
        SIGKILL, so a crashed recorder never blocks its own restart."""
        lock_path = self.night_dir / LOCK_NAME
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"{lock_path}: cannot open the lock file ({exc.strerror}).") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreError(
                f"{self.db_path}: the night {self.night_id!r} is being recorded by another "
                f"process (lock {lock_path} is held); stop that collector first."
            ) from None
        return fd

    def _release_lock(self) -> None:
        if self._lock_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = -1

    def _open_writable(self) -> sqlite3.Connection:
        db = self.db_path
        is_new = not db.exists()
        if is_new:
            # Create the file 0600 first: SQLite gives the -wal and -shm files the main file's
            # permissions, so the whole night stays owner-only regardless of the umask.
            try:
                os.close(os.open(db, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
            except OSError as exc:
                raise StoreError(f"{db}: cannot create the night store ({exc.strerror}).") from exc
        elif not os.access(db, os.R_OK | os.W_OK):
            raise StoreError(f"{db}: the night store is not readable and writable by this user.")
        con = _connect(db, read_only=False, busy_timeout_s=self.params.busy_timeout_s)
        try:
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{db}: could not switch to WAL mode (got {mode!r}).")
            con.execute(f"PRAGMA synchronous = {self.params.synchronous}")
            if not is_new:
                check = con.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise StoreError(
                        f"{db}: the database fails its integrity check ({check}); nothing was "
                        f"changed. Copy the folder and try `sqlite3 night.sqlite .recover`."
                    )
            con.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    con.execute(statement)
            if con.execute("SELECT count(*) FROM night").fetchone()[0] == 0:
                con.execute(
                    "INSERT INTO night VALUES (?, ?, ?, ?)",
                    (self.night_id, _utc_now_iso(), _legwatch_version(), SCHEMA_VERSION),
                )
            con.execute("COMMIT")
            meta = read_night_meta(con, db)
        except sqlite3.Error as exc:
            con.close()
            raise _explain(db, "open the night store", exc) from exc
        except StoreError:
            con.close()
            raise
        if meta["night_id"] != self.night_id:
            con.close()
            raise StoreError(
                f"{db}: holds night {meta['night_id']!r}, expected {self.night_id!r}; the folder "
                f"was renamed or copied. Open it under its own name."
            )
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{db}{suffix}")
            if path.exists() and path.stat().st_uid == os.getuid():
                os.chmod(path, 0o600)
        return con

    def _query_next_order(self) -> int:
        row = self._con.execute("SELECT max(rx_order) FROM packets").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def _new_session(self) -> int:
        unix_ns = time.time_ns()
        rx_ns = time.monotonic_ns() if self.params.rx_clock == "monotonic" else unix_ns
        try:
            cur = self._con.execute(
                "INSERT INTO sessions (started_utc, legwatch_version, hostname, pid, rx_clock, "
                "anchor_unix_ns, anchor_rx_ns) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    _utc_now_iso(),
                    _legwatch_version(),
                    socket.gethostname(),
                    os.getpid(),
                    self.params.rx_clock,
                    unix_ns,
                    rx_ns,
                ),
            )
        except sqlite3.Error as exc:
            raise _explain(self.db_path, "start a session", exc) from exc
        session = int(cur.lastrowid or 0)
        logger.info("night %s: session %d in %s", self.night_id, session, self.night_dir)
        return session

    # -- writing ---------------------------------------------------------------------------
    def register_band(
        self,
        band_id: str,
        site: BodySite | str,
        *,
        rate_code: int = 4,
        range_code: int = 2,
        serial: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Record (or update) a band's site and configured rate/range codes (default 104 Hz,
        +/-8 g: the reference band, PROFILE.md). Committed at once."""
        self._check_open()
        site = BodySite.parse(site)
        if rate_code not in RATE_HZ:
            raise ParameterError("rate_code", f"one of {sorted(RATE_HZ)}", rate_code)
        try:
            self._con.execute(
                "INSERT INTO bands VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(band_id) DO UPDATE "
                "SET site=excluded.site, rate_code=excluded.rate_code, "
                "nominal_rate_hz=excluded.nominal_rate_hz, range_code=excluded.range_code, "
                "serial=excluded.serial, extra_json=excluded.extra_json",
                (
                    str(band_id),
                    site.value,
                    rate_code,
                    RATE_HZ[rate_code],
                    range_code,
                    serial,
                    _utc_now_iso(),
                    json.dumps(dict(extra or {}), sort_keys=True),
                ),
            )
        except sqlite3.Error as exc:
            raise _explain(self.db_path, f"register band {band_id!r}", exc) from exc

    def append_packet(
        self, band_id: str, rx_ns: int, payload: bytes | bytearray | memoryview
    ) -> None:
        """Journal one notification from ``band_id`` received at ``rx_ns`` (host clock, ns).

        The bytes are kept exactly as received, whatever they are. A whole packet (or the last
        fragment of one) also records its first sample index and count, for
        :meth:`last_sample_index`; one that does not decode is logged in ``corrupt_packets``
        with the reason (its bytes stay in the journal).
        """
        self._check_open()
        data = bytes(payload)
        order = self._next_order
        self._next_order += 1
        first: int | None = None
        count: int | None = None
        reassembler = self._reassemblers.get(band_id)
        if reassembler is None:
            reassembler = self._reassemblers[band_id] = PacketReassembler()
        try:
            packet = reassembler.feed(data)
        except PacketDecodeError as exc:
            self._buf_corrupt.append((order, band_id, int(rx_ns), str(exc)))
            self.corrupt_appended += 1
        else:
            if packet is not None:
                first, count = packet.first_sample_index, packet.n_samples
        self._buf_packets.append((order, self.session_id, band_id, int(rx_ns), data, first, count))
        self.packets_appended += 1
        self.flush_if_due()

    def append_event(
        self, event: Mapping[str, Any], *, rx_ns: int, band_id: str | None = None
    ) -> None:
        """Journal a live event (LM, spasm...) as a JSON row; keys are the caller's."""
        self._check_open()
        text = json.dumps(dict(event), sort_keys=True, default=str)
        self._buf_events.append((self.session_id, band_id, int(rx_ns), text))
        self.flush_if_due()

    def append_status(
        self, status: Mapping[str, Any], *, rx_ns: int, band_id: str | None = None
    ) -> None:
        """Journal a status snapshot (band status record, link counters...) as a JSON row."""
        self._check_open()
        text = json.dumps(dict(status), sort_keys=True, default=str)
        self._buf_status.append((self.session_id, band_id, int(rx_ns), text))
        self.flush_if_due()

    @property
    def buffered(self) -> int:
        """Rows waiting for the next commit."""
        return (
            len(self._buf_packets)
            + len(self._buf_corrupt)
            + len(self._buf_events)
            + len(self._buf_status)
        )

    def flush_if_due(self) -> bool:
        """Commit if the oldest buffered row may be older than the commit interval, or the
        buffer is full. Call it from the collector's periodic tick too. True if it committed."""
        if not self.buffered:
            self._last_commit = time.monotonic()
            return False
        due = time.monotonic() - self._last_commit >= self.params.commit_interval_s
        if due or self.buffered >= self.params.max_buffered:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Commit everything buffered in one transaction."""
        self._check_open()
        if self.buffered:
            con = self._con
            try:
                con.execute("BEGIN IMMEDIATE")
                con.executemany(
                    "INSERT INTO packets VALUES (?, ?, ?, ?, ?, ?, ?)", self._buf_packets
                )
                con.executemany(
                    "INSERT INTO corrupt_packets VALUES (?, ?, ?, ?)", self._buf_corrupt
                )
                con.executemany(
                    "INSERT INTO events (session_id, band_id, rx_ns, event_json) "
                    "VALUES (?, ?, ?, ?)",
                    self._buf_events,
                )
                con.executemany(
                    "INSERT INTO status (session_id, band_id, rx_ns, status_json) "
                    "VALUES (?, ?, ?, ?)",
                    self._buf_status,
                )
                con.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
                # The buffer is kept: a later flush retries (e.g. after a full disk is freed).
                raise _explain(self.db_path, f"commit {self.buffered} buffered rows", exc) from exc
            self._buf_packets.clear()
            self._buf_corrupt.clear()
            self._buf_events.clear()
            self._buf_status.clear()
        self._last_commit = time.monotonic()

    # -- reading back (committed rows only) ------------------------------------------------
    def last_sample_index(self, band_id: str) -> int | None:
        """Index of the newest sample journaled for ``band_id`` (None if none): where the
        collector asks BACKFILL to resume after a restart."""
        self.flush()
        row = self._con.execute(
            "SELECT max(first_index + n_samples - 1) FROM packets WHERE band_id = ?",
            (band_id,),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def count_packets(self, band_id: str | None = None) -> int:
        """Committed notifications (of one band, or all)."""
        if band_id is None:
            row = self._con.execute("SELECT count(*) FROM packets").fetchone()
        else:
            row = self._con.execute(
                "SELECT count(*) FROM packets WHERE band_id = ?", (band_id,)
            ).fetchone()
        return int(row[0])

    # -- closing ---------------------------------------------------------------------------
    def close(self) -> None:
        """Commit the buffer, mark the session closed, checkpoint the WAL and release the night."""
        if self._closed:
            return
        try:
            self.flush()
            self._con.execute(
                "UPDATE sessions SET closed_utc = ? WHERE session_id = ?",
                (_utc_now_iso(), self.session_id),
            )
            self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise _explain(self.db_path, "close the session", exc) from exc
        finally:
            self._closed = True
            self._con.close()
            self._release_lock()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"{self.db_path}: the store is closed; open it again to append.")

    def __enter__(self) -> NightStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_or_resume(
    root: str | Path = DEFAULT_ROOT,
    night_id: str = "tonight",
    params: StoreParams | None = None,
) -> NightStore:
    """Open the night's store for appending, creating it or resuming it after a crash.

    Parameters
    ----------
    root : str or Path
        Folder holding one sub-folder per night (created 0700 if missing).
    night_id : str
        The night's folder name, or "tonight" for :func:`tonight_id` (the evening's date).
    params : StoreParams, optional

    Returns
    -------
    NightStore
        With a new session row; packets already journaled are kept and appending continues
        after them.

    Raises
    ------
    StoreError
        Naming the file, when the store is damaged, locked by another collector, or not
        writable. Nothing recorded is ever deleted.
    """
    params = params or StoreParams()
    night_id = tonight_id() if night_id == "tonight" else _check_night_id(night_id)
    root = Path(root)
    _mkdir_private(root)
    night_dir = root / night_id
    _mkdir_private(night_dir)
    return NightStore(night_dir, night_id, params)


def night_db_path(path: str | Path) -> Path:
    """``night.sqlite`` of a night folder (or the file itself), checked to exist."""
    path = Path(path)
    db = path / DB_NAME if path.is_dir() else path
    if not db.is_file():
        raise StoreError(f"{db}: no night store here (expected a night folder holding {DB_NAME}).")
    return db


@contextlib.contextmanager
def open_read_only(path: str | Path) -> Iterator[tuple[sqlite3.Connection, Path]]:
    """A read-only connection to a night store (safe while a collector is writing it)."""
    db = night_db_path(path)
    con = _connect(db, read_only=True, busy_timeout_s=StoreParams().busy_timeout_s)
    try:
        read_night_meta(con, db)
        yield con, db
    finally:
        con.close()
