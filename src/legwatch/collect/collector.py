"""The overnight collector: bands -> journal -> sample placement -> live detection -> events.

One readable orchestration per night (``legwatch record``)::

    store = open_or_resume("recordings", "tonight")
    collector = Collector(store, [BandSpec("left", "left_ankle", name="legwatch-1A2B")])
    summary = await collector.run(stop_event)      # until stop_event is set (SIGINT/SIGTERM)

Per band, one supervised task owns a link (:class:`~legwatch.band.link.BandLink` for real or
virtual bands) and a :class:`BandIngest`, the synchronous heart of the collector:

1. every notification is journaled first, raw, with its host receive time
   (:meth:`~legwatch.collect.store.NightStore.append_packet`), whatever it contains;
2. it is reassembled and decoded (:class:`~legwatch.band.legwatch_v1.PacketReassembler`);
   undecodable bytes are counted and logged, never raised;
3. samples are placed by their index: an index above the next expected one opens a hole (a gap,
   counted, and asked again with BACKFILL after ``backfill_delay_s``); an index below it fills a
   hole (recovered) or is a duplicate (counted, dropped);
4. sample times are ``index / rate`` from the band's START (index 0); the night's start in Unix
   time is the lower envelope of ``receive time - last index / rate`` over packets (the least
   delayed packet), and the band clock (``device_time_us``) is kept as a cross-check;
5. samples reach the :class:`~legwatch.signal.detect.StreamingDetector` in index order, each at most
   once, after a hold-back of ``holdback_s`` band seconds that lets BACKFILL fill small holes
   first; whatever arrives later is only in the journal (replay sees it);
6. final events are journaled and handed to the publisher (MQTT, optional).

A committer checks the journal four times a second
(:meth:`~legwatch.collect.store.NightStore.flush_if_due`: a commit at least every 0.5 s while rows
wait, so a SIGKILL loses less than the last 1 s received); a one-second ticker builds a status
snapshot per band and passes it to ``on_status`` (the CLI draws it) and the
publisher. On stop each link sends STOP and disconnects, the detectors are flushed, a night
summary is journaled, written beside the store (``summary.json``) and published, and the store is
closed. A restarted collector continues the same night: the journal tells each band where it was
(:meth:`~legwatch.collect.store.NightStore.last_sample_index`).

Memory per band is bounded by the hold-back buffer, the open-hole list (``max_open_holes``) and
the link queue; nothing grows with the length of the night.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from legwatch.band.legwatch_v1 import (
    BATTERY_UNKNOWN,
    RATE_HZ,
    BandPacket,
    PacketFlags,
    PacketReassembler,
    ResultCode,
)
from legwatch.collect.store import NightStore
from legwatch.errors import PacketDecodeError, ParameterError
from legwatch.recording import BodySite
from legwatch.signal.detect import StreamingDetector
from legwatch.signal.params import DetectorParams

logger = logging.getLogger(__name__)

SUMMARY_NAME = "summary.json"


# -- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectorParams:
    """How the collector runs.

    Attributes
    ----------
    tick_s : float
        Host seconds between two status snapshots (CLI line, MQTT status). Default 1 s.
    commit_check_s : float
        Host seconds between two journal commit checks. Default 0.25 s: with the store's
        0.5-s commit interval a received row waits at most ~0.75 s plus one commit, under the
        1 s a SIGKILL may lose (store.py, "Durability").
    status_journal_every_s : float
        Host seconds between two status snapshots written to the journal. Default 60 s (the
        band's own status interval, PROFILE.md §4).
    holdback_s : float
        Band seconds a sample waits before the live detector sees it, so that BACKFILL can fill
        a hole first. Default 5 s: a BACKFILL round trip takes a few 30-50 ms connection
        intervals (ble-and-data.md), well under 5 s at real speed.
    detect_batch_s : float
        Band seconds of samples given to the detector per call. Default 10 s: the detector's
        cost is mostly per call (bench.collector_speed, one core: ~2900 packets/s at 1 s,
        ~12900 at 10 s, ~18700 at 30 s); live events come at most holdback + batch = 15 s
        after their samples.
    backfill : bool
        Ask the band with BACKFILL for holes in the sample index. Default True.
    backfill_delay_s : float
        Host seconds a hole waits before it is asked for (the link's own resume BACKFILL after a
        reconnect usually fills it first). Default 0.5 s.
    backfill_retry_s, backfill_max_tries : float, int
        A hole still open after ``backfill_retry_s`` host seconds is asked again, at most
        ``backfill_max_tries`` times. Defaults 2 s and 3.
    max_open_holes : int
        Open holes tracked per band; beyond that the oldest is given up (counted in
        ``abandoned_holes``; its samples, if they still come, count as duplicates live, while
        replay places them). A hole is also given up when the band answers NOT_AVAILABLE (its
        ring buffer, >= 120 s on the reference band, no longer holds it) or after
        ``backfill_max_tries`` unanswered tries. Default 1000 (bounded memory: ~100 kB).
    restart_initial_s, restart_max_s : float
        Backoff before a crashed band task is restarted, doubling up to the maximum. Defaults
        1 s and 30 s (the link's own reconnect backoff, band/link.py).
    clock_speed : float
        Host receive times are stretched by this factor around the collector's start before
        they are journaled, for a virtual band played faster than real time (the journal then
        holds band-time receive times and replays to a correctly timed night). Default 1:
        real bands.
    stop_timeout_s : float
        Host seconds each band gets to send STOP and drain at shutdown. Default 10 s.
    """

    tick_s: float = 1.0
    commit_check_s: float = 0.25
    status_journal_every_s: float = 60.0
    holdback_s: float = 5.0
    detect_batch_s: float = 10.0
    backfill: bool = True
    backfill_delay_s: float = 0.5
    backfill_retry_s: float = 2.0
    backfill_max_tries: int = 3
    max_open_holes: int = 1000
    restart_initial_s: float = 1.0
    restart_max_s: float = 30.0
    clock_speed: float = 1.0
    stop_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        for name in (
            "tick_s",
            "commit_check_s",
            "status_journal_every_s",
            "detect_batch_s",
            "backfill_retry_s",
            "restart_initial_s",
            "clock_speed",
            "stop_timeout_s",
        ):
            if not getattr(self, name) > 0:
                raise ParameterError(name, "a value > 0", getattr(self, name))
        if self.holdback_s < 0 or self.backfill_delay_s < 0:
            raise ParameterError("holdback_s/backfill_delay_s", "seconds >= 0", self.holdback_s)
        if self.backfill_max_tries < 1 or self.max_open_holes < 1:
            raise ParameterError(
                "backfill_max_tries/max_open_holes", "integers >= 1", self.backfill_max_tries
            )
        if self.restart_max_s < self.restart_initial_s:
            raise ParameterError(
                "restart_max_s",
                f"seconds >= restart_initial_s ({self.restart_initial_s})",
                self.restart_max_s,
            )


@dataclass(frozen=True)
class BandSpec:
    """One band of the night.

    Attributes
    ----------
    band_id : str
        Its key in the journal and in MQTT topics, e.g. "left".
    site : BodySite or str
        Where it is worn (left_ankle, right_ankle, left_wrist...).
    name : str or None
        BLE name to scan for (real bands), e.g. "legwatch-1A2B"; None: any legwatch band.
    rate_code, range_code : int
        START parameters. Defaults 4 (104 Hz) and 2 (+/-8 g): the reference band (PROFILE.md).
    """

    band_id: str
    site: BodySite | str = BodySite.LEFT_ANKLE
    name: str | None = None
    rate_code: int = 4
    range_code: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "site", BodySite.parse(self.site))
        if not self.band_id or "/" in self.band_id or "+" in self.band_id or "#" in self.band_id:
            raise ParameterError(
                "band_id", "a non-empty name without '/', '+' or '#'", self.band_id
            )
        if self.rate_code not in RATE_HZ:
            raise ParameterError("rate_code", f"one of {sorted(RATE_HZ)}", self.rate_code)

    @property
    def rate_hz(self) -> float:
        return RATE_HZ[self.rate_code]

    @property
    def body_site(self) -> BodySite:
        return BodySite.parse(self.site)


# -- what the collector talks to -------------------------------------------------------------


class BandSource(Protocol):
    """What a band task needs from a link (:class:`~legwatch.band.link.BandLink` fits)."""

    @property
    def is_connected(self) -> bool: ...

    async def __aenter__(self) -> BandSource: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    def notifications(self) -> AsyncIterator[tuple[int, bytes]]: ...

    async def backfill(self, from_index: int, count: int) -> Any: ...

    async def close(self, timeout_s: float = 10.0) -> None: ...


#: ``factory(spec, resume_index)`` -> a new, not yet entered, BandSource.
LinkFactory = Callable[[BandSpec, Callable[[], int | None] | None], BandSource]


class Publisher(Protocol):
    """Where events and status go besides the journal (MQTT: :mod:`legwatch.collect.broker`).

    Every method is synchronous and never blocks: a publisher queues and sends on its own.
    """

    def publish_event(self, band_id: str, event: Mapping[str, Any]) -> None: ...

    def publish_status(self, band_id: str, status: Mapping[str, Any]) -> None: ...

    def publish_raw(self, band_id: str, rx_ns: int, payload: bytes) -> None: ...

    def publish_night(self, band_id: str, summary: Mapping[str, Any]) -> None: ...


def ble_link_factory(
    backend: Any = None, finder: Callable[[BandSpec], Any] | None = None, **link_kwargs: Any
) -> LinkFactory:
    """A :data:`LinkFactory` of :class:`~legwatch.band.link.BandLink` objects.

    Parameters
    ----------
    backend : type of bleak BaseBleakClient, optional
        ``BleakClient(backend=...)``; None is the platform's (BlueZ on Linux).
    finder : callable, optional
        ``finder(spec)`` -> the link's Finder. Default: scan by ``spec.name`` and the legwatch
        service UUID (:func:`~legwatch.band.link.scan_finder`).
    link_kwargs
        More keywords for ``BandLink`` (``client_kwargs=...``); ``config`` may be a
        :class:`~legwatch.band.link.LinkConfig` whose rate and range codes are replaced by the
        band's.
    """
    from dataclasses import replace

    from legwatch.band.link import BandLink, LinkConfig, scan_finder

    def make(spec: BandSpec, resume_index: Callable[[], int | None] | None) -> BandSource:
        base = link_kwargs.get("config") or LinkConfig()
        config = replace(base, rate_code=spec.rate_code, range_code=spec.range_code)
        find = finder(spec) if finder is not None else scan_finder(name=spec.name)
        extra = {k: v for k, v in link_kwargs.items() if k != "config"}
        return BandLink(find, backend=backend, config=config, resume_index=resume_index, **extra)

    return make


# -- the synchronous ingest path -------------------------------------------------------------


@dataclass
class BandStats:
    """Counters of one band since the collector started (samples are sample indices)."""

    notifications: int = 0
    packets: int = 0
    backfill_packets: int = 0
    corrupt: int = 0
    samples: int = 0
    duplicate_samples: int = 0
    recovered_samples: int = 0
    missing_samples: int = 0
    gaps: int = 0
    abandoned_holes: int = 0
    late_samples: int = 0
    backfill_requests: int = 0
    events: dict[str, int] = field(default_factory=dict)
    battery_pct: int | None = None
    last_index: int | None = None
    start_unix_s: float | None = None
    device_drift_ppm: float | None = None
    link_state: str = "starting"
    restarts: int = 0
    fifo_overflows: int = 0


@dataclass
class _Hole:
    first: int
    end: int
    opened_ns: int
    requested_ns: int = 0
    tries: int = 0


class _DetectFeed:
    """Samples in index order, each once, to the streaming detector after a hold-back."""

    def __init__(
        self, detector: StreamingDetector, rate_hz: float, start: int, hold_n: int, batch_n: int
    ) -> None:
        self.detector = detector
        self.rate_hz = rate_hz
        self.base = start  # next index the detector will see
        self.top = start  # one past the newest index held
        self.hold_n = hold_n
        self.batch_n = batch_n
        self.cap = hold_n + batch_n + 4096  # room for a packet or a backfill burst
        self.buf = np.zeros((self.cap, 3), dtype=np.float64)
        self.have = np.zeros(self.cap, dtype=bool)
        self.late = 0

    def add(self, first: int, accel_g: NDArray[np.float64]) -> list[Any]:
        """Hold samples ``first..``; return the event tables the detector made final."""
        tables: list[Any] = []
        end = first + accel_g.shape[0]
        if end - self.base > self.cap:
            tables.append(self.release(end - self.hold_n))
        lo = max(first, self.base)
        self.late += min(lo, end) - first
        if end > lo:
            self.buf[lo - self.base : end - self.base] = accel_g[lo - first :]
            self.have[lo - self.base : end - self.base] = True
            self.top = max(self.top, end)
        if self.top - self.base >= self.hold_n + self.batch_n:
            tables.append(self.release(self.top - self.hold_n))
        return tables

    def release(self, upto: int) -> Any:
        """Give the detector every held sample below ``upto`` (holes are time gaps to it)."""
        k = min(max(0, upto - self.base), self.cap)
        sel = np.flatnonzero(self.have[:k])
        events = None
        if sel.size:
            t_s = (self.base + sel) / self.rate_hz
            events = self.detector.push(t_s, self.buf[sel])
        self.buf[: self.cap - k] = self.buf[k:]
        self.have[: self.cap - k] = self.have[k:]
        self.have[self.cap - k :] = False
        self.base = max(self.base, upto)
        self.top = max(self.top, self.base)
        return events

    def finish(self) -> list[Any]:
        return [self.release(self.top), self.detector.flush()]


class BandIngest:
    """Everything the collector does with one band's notifications, synchronously.

    Parameters
    ----------
    spec : BandSpec
    store : NightStore
        The night's journal (the band is registered in it).
    params : CollectorParams
    detector_params : DetectorParams, optional
        Live detector parameters (defaults of legwatch.signal.params).
    on_event : callable, optional
        ``on_event(band_id, event)`` for each final live event (after it is journaled).
    resume_from : int, optional
        Next sample index expected (one past the last journaled, on a restarted night).
    unix_offset_ns : int
        Added to the receive times (host clock, ns) to get Unix time, ns.
    """

    def __init__(
        self,
        spec: BandSpec,
        store: NightStore,
        params: CollectorParams | None = None,
        *,
        detector_params: DetectorParams | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        resume_from: int | None = None,
        unix_offset_ns: int = 0,
    ) -> None:
        self.spec = spec
        self.band_id = spec.band_id
        self.params = params or CollectorParams()
        self.store = store
        self.stats = BandStats()
        self.rate_hz = spec.rate_hz
        self._on_event = on_event
        self._unix_offset_ns = unix_offset_ns
        self._reassembler = PacketReassembler()
        self._head = 0 if resume_from is None else int(resume_from)
        self._holes: list[_Hole] = []
        detector = StreamingDetector(
            self.rate_hz, spec.body_site.side, detector_params or DetectorParams()
        )
        self._feed = _DetectFeed(
            detector,
            self.rate_hz,
            self._head,
            round(self.params.holdback_s * self.rate_hz),
            max(1, round(self.params.detect_batch_s * self.rate_hz)),
        )
        self._device_ref: tuple[int, int] | None = None  # (index, device us)
        self._warned_rate = False
        self._corrupt_logged = 0
        self.finished = False

    # -- feeding ------------------------------------------------------------------------------
    def next_index(self) -> int | None:
        """One past the newest sample placed (the link's resume point), None before any."""
        return self._head if self.stats.last_index is not None or self._head else None

    def feed(self, rx_ns: int, payload: bytes) -> None:
        """Journal one notification, then decode and place it (see the module docstring)."""
        self.stats.notifications += 1
        self.store.append_packet(self.band_id, rx_ns, payload)
        try:
            packet = self._reassembler.feed(payload)
        except PacketDecodeError as exc:
            self.stats.corrupt += 1
            self._corrupt_logged += 1
            if self._corrupt_logged <= 10 or self._corrupt_logged % 1000 == 0:
                logger.warning(
                    "band %s: undecodable notification #%d (%d bytes): %s",
                    self.band_id,
                    self.stats.corrupt,
                    len(payload),
                    exc,
                )
            return
        if packet is not None:
            self._place(packet, rx_ns)

    def _place(self, packet: BandPacket, rx_ns: int) -> None:
        st = self.stats
        st.packets += 1
        if packet.flags & PacketFlags.BACKFILL:
            st.backfill_packets += 1
        if packet.flags & PacketFlags.FIFO_OVERFLOW:
            st.fifo_overflows += 1
        if packet.battery_pct is not None and packet.battery_pct != BATTERY_UNKNOWN:
            st.battery_pct = packet.battery_pct
        if packet.rate_code != self.spec.rate_code and not self._warned_rate:
            self._warned_rate = True
            logger.warning(
                "band %s: packets at rate code %d (%g Hz), configured %d (%g Hz); times use the "
                "configured rate, replay uses the packets'",
                self.band_id,
                packet.rate_code,
                packet.rate_hz,
                self.spec.rate_code,
                self.rate_hz,
            )
        first = packet.first_sample_index
        end = first + packet.n_samples
        accel = packet.accel_g()
        if first < self._head:
            hi = min(end, self._head)
            recovered = self._fill_holes(first, hi, accel, first)
            st.recovered_samples += recovered
            st.missing_samples -= recovered
            st.samples += recovered
            st.duplicate_samples += (hi - first) - recovered
        if end > self._head:
            lo = max(first, self._head)
            if first > self._head:
                self._open_hole(self._head, first, rx_ns)
            self._release(self._feed.add(lo, accel[lo - first :]), rx_ns)
            st.samples += end - lo
            self._head = end
            st.last_index = end - 1
            self._clock(packet, rx_ns)

    def _clock(self, packet: BandPacket, rx_ns: int) -> None:
        """Start-time envelope from the host clock; band clock drift as the cross-check."""
        if packet.flags & PacketFlags.BACKFILL:
            return
        last = packet.first_sample_index + packet.n_samples - 1
        start = (rx_ns + self._unix_offset_ns) / 1e9 - last / self.rate_hz
        if self.stats.start_unix_s is None or start < self.stats.start_unix_s:
            self.stats.start_unix_s = start
        if packet.flags & PacketFlags.CLOCK_SYNCED:
            ref = self._device_ref
            if ref is None:
                self._device_ref = (packet.first_sample_index, packet.device_time_us)
            elif packet.first_sample_index - ref[0] >= 10 * self.rate_hz:
                by_index_s = (packet.first_sample_index - ref[0]) / self.rate_hz
                by_device_s = (packet.device_time_us - ref[1]) / 1e6
                self.stats.device_drift_ppm = (by_device_s / by_index_s - 1.0) * 1e6

    # -- holes --------------------------------------------------------------------------------
    def _open_hole(self, first: int, end: int, rx_ns: int) -> None:
        self.stats.gaps += 1
        self.stats.missing_samples += end - first
        if not self.params.backfill:
            return  # nobody will ask for it: counted, not tracked
        self._holes.append(_Hole(first, end, rx_ns))
        if len(self._holes) > self.params.max_open_holes:
            self._holes.pop(0)
            self.stats.abandoned_holes += 1

    def _fill_holes(self, lo: int, hi: int, accel: NDArray[np.float64], first: int) -> int:
        """Fill open holes with samples ``lo..hi``; return how many were missing."""
        filled = 0
        kept: list[_Hole] = []
        for hole in self._holes:
            a, b = max(hole.first, lo), min(hole.end, hi)
            if a >= b:
                kept.append(hole)
                continue
            filled += b - a
            self._release(self._feed.add(a, accel[a - first : b - first]), None)
            if hole.first < a:
                kept.append(_Hole(hole.first, a, hole.opened_ns, hole.requested_ns, hole.tries))
            if b < hole.end:
                kept.append(_Hole(b, hole.end, hole.opened_ns, hole.requested_ns, hole.tries))
        self._holes = kept
        return filled

    def abandon(self, first: int, count: int) -> None:
        """Give up the holes inside ``first..first+count`` (the band no longer holds them)."""
        end = first + count
        kept = [h for h in self._holes if not (first <= h.first and h.end <= end)]
        self.stats.abandoned_holes += len(self._holes) - len(kept)
        self._holes = kept

    def _expire_holes(self, now_ns: int) -> None:
        """Drop holes asked for ``backfill_max_tries`` times without an answer."""
        retry_ns = int(self.params.backfill_retry_s * 1e9)
        limit = self.params.backfill_max_tries
        kept = [h for h in self._holes if h.tries < limit or now_ns - h.requested_ns < retry_ns]
        self.stats.abandoned_holes += len(self._holes) - len(kept)
        self._holes = kept

    @property
    def open_holes(self) -> list[tuple[int, int]]:
        """Holes still hoped for, as (first index, count)."""
        return [(h.first, h.end - h.first) for h in self._holes]

    def backfill_requests(self, now_ns: int) -> list[tuple[int, int]]:
        """Holes due to be asked for now (first index, count); marks them asked."""
        if not self.params.backfill:
            return []
        self._expire_holes(now_ns)
        due: list[tuple[int, int]] = []
        delay_ns = int(self.params.backfill_delay_s * 1e9)
        retry_ns = int(self.params.backfill_retry_s * 1e9)
        for hole in self._holes:
            if hole.tries >= self.params.backfill_max_tries:
                continue
            if now_ns - hole.opened_ns < delay_ns:
                continue
            if hole.tries and now_ns - hole.requested_ns < retry_ns:
                continue
            hole.tries += 1
            hole.requested_ns = now_ns
            due.append((hole.first, hole.end - hole.first))
        self.stats.backfill_requests += len(due)
        return due

    # -- events -------------------------------------------------------------------------------
    def _release(self, tables: list[Any], rx_ns: int | None) -> None:
        for table in tables:
            if table is None or not len(table):
                continue
            now_ns = rx_ns if rx_ns is not None else time.monotonic_ns()
            for row in table.records():
                event = self._event_record(row)
                kind = event["kind"]
                self.stats.events[kind] = self.stats.events.get(kind, 0) + 1
                self.store.append_event(event, rx_ns=now_ns, band_id=self.band_id)
                if self._on_event is not None:
                    self._on_event(self.band_id, event)

    def _event_record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        onset_s = float(row["onset_s"])
        event: dict[str, Any] = {
            "band_id": self.band_id,
            "site": self.spec.body_site.value,
            "onset_index": round(onset_s * self.rate_hz),
        }
        for key, value in row.items():
            if isinstance(value, float) and not np.isfinite(value):
                value = None
            event[key] = value
        start = self.stats.start_unix_s
        if start is not None:
            event["onset_utc"] = datetime.fromtimestamp(start + onset_s, UTC).isoformat(
                timespec="milliseconds"
            )
        return event

    def finish(self) -> None:
        """End of the night for this band: the detector gives what it still holds."""
        if not self.finished:
            self.finished = True
            self._release(self._feed.finish(), None)
            self.stats.late_samples = self._feed.late

    def snapshot(self) -> dict[str, Any]:
        """The band's counters as JSON-ready values."""
        self.stats.late_samples = self._feed.late
        out = asdict(self.stats)
        out["band_id"] = self.band_id
        out["site"] = self.spec.body_site.value
        out["open_holes"] = len(self._holes)
        out["hours"] = (
            None
            if self.stats.last_index is None
            else (self.stats.last_index + 1) / 3600 / self.rate_hz
        )
        return out


# -- the asyncio orchestration ---------------------------------------------------------------


class JournalClock(Protocol):
    """Maps a host receive stamp (``time.monotonic_ns()``) to the time journaled for it, ns.

    ``unix_offset_ns`` is Unix time minus journal time at the collector's start.
    """

    unix_offset_ns: int

    def __call__(self, rx_ns: int, /) -> int: ...


class _ScaledClock:
    """Host monotonic ns -> journal clock ns (stretched by ``speed`` around the anchor)."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.anchor_ns = time.monotonic_ns()
        self.unix_offset_ns = time.time_ns() - self.anchor_ns

    def __call__(self, rx_ns: int) -> int:
        if self.speed == 1.0:
            return rx_ns
        return self.anchor_ns + round((rx_ns - self.anchor_ns) * self.speed)


class Collector:
    """Record one night from several bands, each supervised on its own.

    Parameters
    ----------
    store : NightStore
        The night's journal (from :func:`~legwatch.collect.store.open_or_resume`); closed by
        :meth:`run` at the end.
    bands : sequence of BandSpec
        Left and right ankle, optionally a wrist.
    link_factory : LinkFactory, optional
        Makes each band's link. Default :func:`ble_link_factory` (real bands over the platform's
        bleak backend).
    params : CollectorParams, optional
    detector_params : DetectorParams, optional
    publisher : Publisher, optional
        MQTT or any other sink; nothing leaves the machine without one.
    on_status : callable, optional
        ``on_status(snapshot)`` every tick: {band_id: counters} plus "night" metadata.
    raw : bool
        Also pass every raw notification to the publisher (MQTT ``accel`` topic).
    clock : JournalClock, optional
        What receive times are journaled as. Default: the host clock, stretched by
        ``params.clock_speed``. A virtual band's own clock
        (:class:`~legwatch.band.virtual_band.BandClock`) journals its night on band time even
        when the band had to slow down.
    """

    def __init__(
        self,
        store: NightStore,
        bands: Sequence[BandSpec],
        *,
        link_factory: LinkFactory | None = None,
        params: CollectorParams | None = None,
        detector_params: DetectorParams | None = None,
        publisher: Publisher | None = None,
        on_status: Callable[[dict[str, Any]], None] | None = None,
        raw: bool = False,
        clock: JournalClock | None = None,
    ) -> None:
        if not bands:
            raise ParameterError("bands", "at least one BandSpec", bands)
        ids = [b.band_id for b in bands]
        if len(set(ids)) != len(ids):
            raise ParameterError("bands", "distinct band ids", ids)
        self.store = store
        self.bands = list(bands)
        self.params = params or CollectorParams()
        self.publisher = publisher
        self.raw = raw
        self._on_status = on_status
        self._link_factory = link_factory or ble_link_factory()
        self.clock: JournalClock = clock or _ScaledClock(self.params.clock_speed)
        self.ingests: dict[str, BandIngest] = {}
        self.links: dict[str, BandSource | None] = {}
        for spec in self.bands:
            store.register_band(
                spec.band_id, spec.body_site, rate_code=spec.rate_code, range_code=spec.range_code
            )
            last = store.last_sample_index(spec.band_id)
            if last is not None:
                logger.info("band %s: resuming the night after sample %d", spec.band_id, last)
            self.ingests[spec.band_id] = BandIngest(
                spec,
                store,
                self.params,
                detector_params=detector_params,
                on_event=self._publish_event,
                resume_from=None if last is None else last + 1,
                unix_offset_ns=self.clock.unix_offset_ns,
            )
            self.links[spec.band_id] = None
        self.started_utc = datetime.now(UTC)
        self.summary: dict[str, Any] | None = None
        self._last_status_journal = 0.0

    def _publish_event(self, band_id: str, event: dict[str, Any]) -> None:
        if self.publisher is not None:
            self.publisher.publish_event(band_id, event)

    # -- run ----------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> dict[str, Any]:
        """Record until ``stop`` is set; then finalise the night and close the store.

        Returns the night summary (also journaled, written to ``summary.json`` and published).
        """
        band_tasks = {
            spec.band_id: asyncio.create_task(
                self._supervise(spec, stop), name=f"band {spec.band_id}"
            )
            for spec in self.bands
        }
        ticker = asyncio.create_task(self._tick(stop), name="collector ticker")
        committer = asyncio.create_task(self._commit(stop), name="journal committer")
        try:
            await stop.wait()
            await asyncio.wait(
                band_tasks.values(),
                timeout=self.params.stop_timeout_s + 2 * self.params.tick_s,
            )
        finally:
            for task in (*band_tasks.values(), ticker, committer):
                task.cancel()
            await asyncio.gather(*band_tasks.values(), ticker, committer, return_exceptions=True)
            self.summary = self._finalise()
        return self.summary

    async def _supervise(self, spec: BandSpec, stop: asyncio.Event) -> None:
        """Keep one band's link and ingest running; a crash restarts it after a backoff and
        never touches the other bands."""
        ingest = self.ingests[spec.band_id]
        delay_s = self.params.restart_initial_s
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self._run_link(spec, ingest, stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                ingest.stats.restarts += 1
                ingest.stats.link_state = "crashed"
                logger.exception(
                    "band %s: task crashed; restarting in %.1f s", spec.band_id, delay_s
                )
            else:
                return
            if time.monotonic() - started > 60.0:
                delay_s = self.params.restart_initial_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay_s)
            delay_s = min(self.params.restart_max_s, delay_s * 2)

    async def _run_link(self, spec: BandSpec, ingest: BandIngest, stop: asyncio.Event) -> None:
        resume = ingest.next_index if self.params.backfill else None
        link = self._link_factory(spec, resume)
        self.links[spec.band_id] = link
        stopper = asyncio.ensure_future(stop.wait())
        try:
            async with link:
                ingest.stats.link_state = "connecting"
                consumer = asyncio.create_task(self._consume(link, ingest))
                backfiller = asyncio.create_task(self._backfill_loop(link, ingest))
                try:
                    done, _ = await asyncio.wait(
                        {consumer, stopper}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if consumer in done:
                        consumer.result()  # a crash propagates to the supervisor
                        return
                    ingest.stats.link_state = "stopping"
                    await link.close(self.params.stop_timeout_s)  # STOP, then the queue drains
                    await asyncio.wait_for(consumer, self.params.stop_timeout_s)
                finally:
                    for task in (consumer, backfiller):
                        task.cancel()
                    await asyncio.gather(consumer, backfiller, return_exceptions=True)
        finally:
            stopper.cancel()
            ingest.stats.link_state = "stopped"
            self.links[spec.band_id] = None

    async def _consume(self, link: BandSource, ingest: BandIngest) -> None:
        clock = self.clock
        publisher = self.publisher if self.raw else None
        async for rx_ns, payload in link.notifications():
            stamped = clock(rx_ns)
            ingest.feed(stamped, payload)
            if publisher is not None:
                publisher.publish_raw(ingest.band_id, stamped, payload)

    async def _backfill_loop(self, link: BandSource, ingest: BandIngest) -> None:
        from legwatch.band.link import BandLinkError

        while True:
            await asyncio.sleep(min(0.1, self.params.backfill_delay_s or 0.1))
            ingest.stats.link_state = "connected" if link.is_connected else "reconnecting"
            if not link.is_connected:
                continue
            for first, count in ingest.backfill_requests(self.clock(time.monotonic_ns())):
                try:
                    response = await link.backfill(first, count)
                except BandLinkError as exc:
                    logger.info(
                        "band %s: BACKFILL %d+%d failed: %s", ingest.band_id, first, count, exc
                    )
                    continue
                result = getattr(response, "result", None)
                if result == ResultCode.NOT_AVAILABLE:
                    logger.info(
                        "band %s: samples %d+%d no longer on the band; gap kept",
                        ingest.band_id,
                        first,
                        count,
                    )
                    ingest.abandon(first, count)

    async def _commit(self, stop: asyncio.Event) -> None:
        """Commit waiting rows on time even when no notification comes to trigger it (a band
        that went away leaves its last packets buffered otherwise)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.params.commit_check_s)
            self.store.flush_if_due()

    async def _tick(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.params.tick_s)
            snapshot = self.status()
            now = time.monotonic()
            journal = now - self._last_status_journal >= self.params.status_journal_every_s
            for band_id, band_status in snapshot["bands"].items():
                if self.publisher is not None:
                    self.publisher.publish_status(band_id, {"state": "online", **band_status})
                if journal:
                    self.store.append_status(
                        band_status, rx_ns=self.clock(time.monotonic_ns()), band_id=band_id
                    )
            if journal:
                self._last_status_journal = now
            if self._on_status is not None:
                self._on_status(snapshot)

    def status(self) -> dict[str, Any]:
        """A snapshot: night id, folder, and every band's counters and link state."""
        bands: dict[str, Any] = {}
        for band_id, ingest in self.ingests.items():
            snap = ingest.snapshot()
            link = self.links.get(band_id)
            stats = getattr(link, "stats", None)
            if stats is not None:
                snap["link_dropped"] = getattr(stats, "notifications_dropped", 0)
                snap["link_connections"] = getattr(stats, "connections", 0)
            bands[band_id] = snap
        return {
            "night_id": self.store.night_id,
            "night_dir": str(self.store.night_dir),
            "session_id": self.store.session_id,
            "bands": bands,
        }

    def _finalise(self) -> dict[str, Any]:
        for ingest in self.ingests.values():
            try:
                ingest.finish()
            except Exception:
                logger.exception("band %s: detector flush failed", ingest.band_id)
        snapshot = self.status()
        summary = {
            "kind": "night_summary",
            "night_id": self.store.night_id,
            "session_id": self.store.session_id,
            "started_utc": self.started_utc.isoformat(timespec="seconds"),
            "stopped_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "bands": snapshot["bands"],
        }
        now_ns = self.clock(time.monotonic_ns())
        self.store.append_status(summary, rx_ns=now_ns)
        if self.publisher is not None:
            for band_id, band in snapshot["bands"].items():
                self.publisher.publish_night(band_id, band)
                self.publisher.publish_status(band_id, {"state": "stopped", **band})
        path = self.store.night_dir / SUMMARY_NAME
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(summary, fh, indent=2, default=str)
        except OSError as exc:
            logger.warning("%s: night summary not written: %s", path, exc)
        self.store.close()
        logger.info("night %s closed: %s", self.store.night_id, json.dumps(summary, default=str))
        return summary
