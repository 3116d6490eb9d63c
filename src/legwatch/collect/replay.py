"""Replay a night's journal into one validated Recording per band, with a report of what it found.

Every stored notification goes through the band decoder again (fragments reassembled per band
and session), samples are placed by their index (see :mod:`legwatch.collect.timeline`), gaps are
the holes in the index, and sample times come from the lower-envelope fit of host receive time
against index, with the band clock as a cross-check.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from legwatch.band.legwatch_v1 import (
    RATE_HZ,
    SENSITIVITY_MG_PER_LSB,
    BandPacket,
    PacketFlags,
    PacketReassembler,
)
from legwatch.collect.store import _explain, open_read_only
from legwatch.collect.timeline import (
    fit_device_clock,
    fit_host_clock,
    index_holes,
    place_samples,
)
from legwatch.errors import InputFileError, PacketDecodeError, ParameterError, StoreError
from legwatch.recording import BodySite, Gap, Recording

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayParams:
    """How replay turns packets into a time axis.

    Attributes
    ----------
    rate_tolerance : float
        Largest accepted relative difference between the fitted and the nominal rate. Default
        0.05: crystal errors are ~1e-4 and the LSM6DS3TR-C's internal ODR oscillator is off by
        at most a few percent; more means a wrong rate code or broken receive times, so replay
        refuses rather than mis-time the night.
    max_windows : int
        Index windows for the receive-time envelope (timeline.fit_host_clock). Default 400.
    min_window_s : float
        Shortest window, nominal seconds. Default 2 s (8 packets of 26 samples at 104 Hz).
    """

    rate_tolerance: float = 0.05
    max_windows: int = 400
    min_window_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.rate_tolerance < 0.5:
            raise ParameterError("rate_tolerance", "a fraction in (0, 0.5)", self.rate_tolerance)
        if self.max_windows < 3:
            raise ParameterError("max_windows", "an integer >= 3", self.max_windows)
        if self.min_window_s <= 0:
            raise ParameterError("min_window_s", "seconds > 0", self.min_window_s)


@dataclass(frozen=True)
class ReplayReport:
    """What replaying one band's journal found.

    Counts are of notifications (as journaled), packets (decoded) and samples (after
    placement). Times in seconds, rates in Hz, drifts in ppm (parts per million).

    ``corrupt_packets`` counts notifications the decoder refused (CRC, layout, a fragment out
    of order), grouped in ``corrupt_reasons`` by message with the numbers blanked.
    ``duplicate_samples`` are identical repeats (BACKFILL, retransmits); ``conflicting_samples``
    repeats that differ (the first received is kept). ``missing_samples`` is exact: the holes in
    the sample index between the first and last sample; ``gap_s`` is the Recording's time inside
    gaps (last sample before to first after, so one period more per gap). ``rate_error_ppm`` is
    the fitted rate against the nominal one; ``device_drift_ppm`` the band clock's rate against
    the host's (positive: the band clock runs fast). ``latency_p50_ms``/``p95`` are receive
    times above the fitted envelope. ``unclean_sessions`` were never closed (a crash or kill).
    """

    band_id: str
    site: str
    notifications: int
    packets: int
    backfill_packets: int
    corrupt_packets: int
    corrupt_reasons: dict[str, int]
    dropped_fragments: int
    samples: int
    duplicate_samples: int
    conflicting_samples: int
    missing_samples: int
    gaps: int
    gap_s: float
    first_index: int | None
    last_index: int | None
    fs_nominal_hz: float | None
    fs_estimated_hz: float | None
    rate_error_ppm: float | None
    fs_device_hz: float | None
    device_drift_ppm: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    sessions: int
    unclean_sessions: int
    params: ReplayParams = field(default_factory=ReplayParams)

    def summary(self) -> dict[str, Any]:
        """The report as plain JSON-ready values."""
        out = asdict(self)
        out["params"] = asdict(self.params)
        return out


@dataclass(frozen=True)
class NightReplay:
    """Recordings (bands with at least 2 samples) and reports (every band seen)."""

    night_id: str
    recordings: dict[str, Recording]
    reports: dict[str, ReplayReport]


@dataclass
class _BandPackets:
    """Decoded packets of one band, in receive order (columns as lists, then arrays)."""

    first: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    device_us: list[int] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)
    rate: list[int] = field(default_factory=list)
    range_: list[int] = field(default_factory=list)
    rx_unix_ns: list[int] = field(default_factory=list)
    rx_order: list[int] = field(default_factory=list)
    #: int16 x, y, z of every sample, packets concatenated (one buffer, not an object each).
    samples: bytearray = field(default_factory=bytearray)
    notifications: int = 0
    corrupt: Counter[str] = field(default_factory=Counter)

    def add(self, packet: BandPacket, rx_unix_ns: int, rx_order: int) -> None:
        self.first.append(packet.first_sample_index)
        self.count.append(packet.n_samples)
        self.device_us.append(packet.device_time_us)
        self.flags.append(int(packet.flags))
        self.rate.append(packet.rate_code)
        self.range_.append(packet.range_code)
        self.rx_unix_ns.append(rx_unix_ns)
        self.rx_order.append(rx_order)
        self.samples += packet.samples.tobytes()


_NUMBER = re.compile(r"0x[0-9A-Fa-f]+|\d+")


def _reason_key(message: str) -> str:
    """A corrupt packet's reason with the numbers taken out, to count alike failures together."""
    return _NUMBER.sub("#", message)[:100]


def _load_sessions(con: sqlite3.Connection) -> tuple[dict[int, int], int]:
    """Session id -> offset (ns) from its receive clock to Unix time; and unclean sessions."""
    offsets: dict[int, int] = {}
    unclean = 0
    for sid, anchor_unix, anchor_rx, closed in con.execute(
        "SELECT session_id, anchor_unix_ns, anchor_rx_ns, closed_utc FROM sessions"
    ):
        offsets[int(sid)] = int(anchor_unix) - int(anchor_rx)
        unclean += closed is None
    return offsets, unclean


def _read_band(
    con: sqlite3.Connection, band_id: str, offsets: dict[int, int]
) -> tuple[_BandPackets, int]:
    data = _BandPackets()
    dropped = 0
    reassembler = PacketReassembler()
    session = None
    rows = con.execute(
        "SELECT rx_order, session_id, rx_ns, payload FROM packets WHERE band_id = ? "
        "ORDER BY rx_order",
        (band_id,),
    )
    for rx_order, sid, rx_ns, payload in rows:
        data.notifications += 1
        if sid != session:
            reassembler.reset()  # a fragment never continues across a restart
            session = sid
        try:
            packet = reassembler.feed(bytes(payload))
        except PacketDecodeError as exc:
            data.corrupt[_reason_key(str(exc))] += 1
            logger.debug("band %s rx_order %d: %s", band_id, rx_order, exc)
            continue
        if packet is not None:
            data.add(packet, int(rx_ns) + offsets.get(int(sid), 0), int(rx_order))
    dropped = reassembler.dropped_fragments
    return data, dropped


def _replay_band(
    band_id: str,
    site: BodySite,
    nominal_hz: float | None,
    data: _BandPackets,
    dropped: int,
    sessions: int,
    unclean: int,
    params: ReplayParams,
    db: Path,
) -> tuple[Recording | None, ReplayReport]:
    n_packets = len(data.first)
    report = ReplayReport(
        band_id=band_id,
        site=site.value,
        notifications=data.notifications,
        packets=n_packets,
        backfill_packets=sum(bool(f & PacketFlags.BACKFILL) for f in data.flags),
        corrupt_packets=sum(data.corrupt.values()),
        corrupt_reasons=dict(data.corrupt),
        dropped_fragments=dropped,
        samples=0,
        duplicate_samples=0,
        conflicting_samples=0,
        missing_samples=0,
        gaps=0,
        gap_s=0.0,
        first_index=None,
        last_index=None,
        fs_nominal_hz=nominal_hz,
        fs_estimated_hz=None,
        rate_error_ppm=None,
        fs_device_hz=None,
        device_drift_ppm=None,
        latency_p50_ms=None,
        latency_p95_ms=None,
        sessions=sessions,
        unclean_sessions=unclean,
        params=params,
    )
    if n_packets == 0:
        return None, report
    rates = np.asarray(data.rate)
    codes, votes = np.unique(rates, return_counts=True)
    rate_code = int(codes[np.argmax(votes)])
    if codes.size > 1:
        odd = int(np.flatnonzero(rates != rate_code)[0])
        raise StoreError(
            f"{db}: band {band_id!r} changed rate code mid-night: {rate_code} "
            f"({RATE_HZ[rate_code]:g} Hz) in most packets, {int(rates[odd])} at rx_order "
            f"{data.rx_order[odd]}; replay handles one rate per band and night."
        )
    nominal = nominal_hz if nominal_hz is not None else RATE_HZ[rate_code]
    if nominal != RATE_HZ[rate_code]:
        logger.warning(
            "band %s registered at %g Hz but its packets say %g Hz; using the packets",
            band_id,
            nominal,
            RATE_HZ[rate_code],
        )
        nominal = RATE_HZ[rate_code]

    first = np.asarray(data.first, dtype=np.int64)
    count = np.asarray(data.count, dtype=np.int64)
    total = int(count.sum())
    starts = np.repeat(first - np.cumsum(count) + count, count)
    index = starts + np.arange(total, dtype=np.int64)
    del starts
    counts = np.frombuffer(data.samples, dtype=np.int16).reshape(total, 3)
    ranges = np.repeat(np.asarray(data.range_, dtype=np.int8), count)
    placed = place_samples(index, counts, ranges)
    del counts, index, ranges
    data.samples = bytearray()
    if placed.conflicts:
        logger.warning(
            "band %s: %d repeated samples differ from the first received (kept the first); "
            "first indices %s",
            band_id,
            placed.conflicts,
            placed.conflict_indices,
        )
    idx = placed.index
    holes = index_holes(idx)
    missing = int(np.sum(idx[holes + 1] - idx[holes] - 1))
    report = replace(
        report,
        fs_nominal_hz=nominal,
        samples=int(idx.size),
        duplicate_samples=placed.duplicates,
        conflicting_samples=placed.conflicts,
        missing_samples=missing,
        gaps=int(holes.size),
        first_index=int(idx[0]),
        last_index=int(idx[-1]),
    )
    if idx.size < 2:
        return None, report

    flags = np.asarray(data.flags, dtype=np.int64)
    rx = np.asarray(data.rx_unix_ns, dtype=np.int64)
    live = (flags & int(PacketFlags.BACKFILL)) == 0
    if np.count_nonzero(live) < 3:  # too few live packets: the backfilled ones must do
        live[:] = True
    host = fit_host_clock(
        first[live] + count[live] - 1,
        rx[live],
        nominal,
        max_windows=params.max_windows,
        min_window_s=params.min_window_s,
    )
    rate_error = host.fs_hz / nominal - 1.0
    if abs(rate_error) > params.rate_tolerance:
        raise StoreError(
            f"{db}: band {band_id!r}: receive times imply {host.fs_hz:.3f} Hz, nominal "
            f"{nominal:g} Hz ({rate_error * 100:+.1f} %, tolerance "
            f"{params.rate_tolerance * 100:g} %); the rate code or the host clock is wrong."
        )
    device = fit_device_clock(
        first,
        np.asarray(data.device_us, dtype=np.uint64),
        (flags & int(PacketFlags.CLOCK_SYNCED)) != 0,
        nominal,
    )
    drift_ppm = None if device is None else (device.period_us * 1e3 / (host.period_s * 1e9) - 1)
    period = host.period_s
    t_s = (idx - idx[0]).astype(np.float64) * period
    gaps = tuple(Gap(float(t_s[i]), float(t_s[i + 1])) for i in holes)
    start = datetime.fromtimestamp(float(host.time_unix_s(int(idx[0]))), UTC)
    sens = np.asarray([SENSITIVITY_MG_PER_LSB[c] for c in range(4)]) / 1000.0
    if np.all(placed.range_code == placed.range_code[0]):
        accel_g = placed.counts * sens[placed.range_code[0]]
    else:
        accel_g = placed.counts * sens[placed.range_code][:, None]
    del placed, idx  # Recording copies its arrays: free ours first to lower the peak
    recording = Recording(
        accel_g=accel_g,
        t_s=t_s,
        start_utc=start,
        fs_nominal_hz=nominal,
        band_id=band_id,
        site=site,
        gaps=gaps,
    )
    report = replace(
        report,
        gap_s=recording.gap_s,
        fs_estimated_hz=host.fs_hz,
        rate_error_ppm=rate_error * 1e6,
        fs_device_hz=None if device is None else device.fs_hz,
        device_drift_ppm=None if drift_ppm is None else drift_ppm * 1e6,
        latency_p50_ms=host.latency_p50_ms,
        latency_p95_ms=host.latency_p95_ms,
    )
    return recording, report


def replay_night(night_dir: str | Path, params: ReplayParams | None = None) -> NightReplay:
    """Decode a night's journal into one Recording per band and a ReplayReport per band.

    Parameters
    ----------
    night_dir : str or Path
        The night's folder (or its ``night.sqlite``). Opened read-only: safe while a collector
        is still writing it (it sees what was committed).
    params : ReplayParams, optional

    Returns
    -------
    NightReplay

    Raises
    ------
    StoreError
        Naming the file, when the store cannot be read, or a band's packets cannot form one
        time axis (rate code changed, receive times far off the nominal rate).
    """
    params = params or ReplayParams()
    with open_read_only(night_dir) as (con, db):
        try:
            night_id = str(con.execute("SELECT night_id FROM night").fetchone()[0])
            offsets, unclean = _load_sessions(con)
            registered = {
                str(b): (BodySite.parse(site), float(hz))
                for b, site, hz in con.execute(
                    "SELECT band_id, site, nominal_rate_hz FROM bands ORDER BY band_id"
                )
            }
            seen = [str(b) for (b,) in con.execute("SELECT DISTINCT band_id FROM packets")]
            recordings: dict[str, Recording] = {}
            reports: dict[str, ReplayReport] = {}
            for band_id in sorted(set(registered) | set(seen)):
                site, nominal = registered.get(band_id, (BodySite.OTHER, None))
                data, dropped = _read_band(con, band_id, offsets)
                recording, report = _replay_band(
                    band_id, site, nominal, data, dropped, len(offsets), unclean, params, db
                )
                reports[band_id] = report
                if recording is not None:
                    recordings[band_id] = recording
                logger.info("replayed band %s: %s", band_id, report.summary())
        except sqlite3.Error as exc:
            raise _explain(db, "replay the night", exc) from exc
    return NightReplay(night_id=night_id, recordings=recordings, reports=reports)


def replay(night_dir: str | Path, params: ReplayParams | None = None) -> dict[str, Recording]:
    """One Recording per band of the night (bands with fewer than 2 samples are left out)."""
    return replay_night(night_dir, params).recordings


def read_night(
    path: str | Path,
    *,
    start_utc: datetime | None = None,
    band_id: str | None = None,
    site: BodySite | str | None = None,
    fs_nominal_hz: float | None = None,
) -> Recording:
    """Read one band of a native night store, with the keywords of the io readers.

    Parameters
    ----------
    path : str or Path
        A night folder or its ``night.sqlite``.
    start_utc : datetime, optional
        Overrides the start found from the receive times.
    band_id : str, optional
        Which band; needed when the night holds more than one.
    site : BodySite or str, optional
        Overrides the registered body site.
    fs_nominal_hz : float, optional
        Overrides the nominal rate (the time axis still comes from the fit).

    Raises
    ------
    InputFileError
        Naming the file, for anything replay refuses, and for a missing or ambiguous band.
    """
    try:
        recordings = replay(path)
    except StoreError as exc:
        raise InputFileError(str(exc), path=None) from exc
    if not recordings:
        raise InputFileError("the night store holds no band with at least 2 samples.", path=path)
    if band_id is None:
        if len(recordings) > 1:
            raise InputFileError(
                f"the night holds several bands ({', '.join(sorted(recordings))}); pass "
                f"band_id= to choose one.",
                path=path,
            )
        band_id = next(iter(recordings))
    if band_id not in recordings:
        raise InputFileError(
            f"no band {band_id!r} with samples in this night; it has "
            f"{', '.join(sorted(recordings))}.",
            path=path,
        )
    rec = recordings[band_id]
    changes: dict[str, Any] = {}
    if start_utc is not None:
        changes["start_utc"] = start_utc
    if site is not None:
        changes["site"] = BodySite.parse(site)
    if fs_nominal_hz is not None:
        changes["fs_nominal_hz"] = fs_nominal_hz
    return replace(rec, **changes) if changes else rec
