"""Movement detection: hysteresis on the activity envelope, then classification of each event.

One algorithm serves both paths. :class:`StreamingDetector` takes chunks as they arrive and emits
each event as soon as it is final (0.5 s of quiet after its offset, plus at most one frame);
:func:`detect_movements` feeds a whole recording through the same object. Because every stage is
causal and chunk-invariant, both give identical events on the same data.

Rules (adapted from the EMG rules of WASM 2016 to acceleration; thresholds in ``ThresholdParams``)
-------------------------------------------------------------------------------------------------
- onset: activity rises above the high threshold; the onset time is where it last crossed the low
  threshold before that, interpolated inside the frame, minus the low-pass group delay;
- offset: the start of at least 0.5 s at or below the low threshold;
- dropouts: an event runs on across a gap in the samples of at most ``max_bridge_s`` (5 s); one
  still moving when the gap began and quiet after it ended unseen (``at_gap``: its offset is the
  last frame seen moving, its resting orientation is read after the gap). A longer gap ends the
  event where the samples stop, with nothing after it to read;
- morphology: a counted leg movement must contain a 0.5 s window whose median activity is at or
  above the low threshold;
- classification (``classify_event``): posture change, gross body movement, tremor, vibration,
  spasm, too short, or leg movement.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from legwatch.errors import ParameterError
from legwatch.events import SIDES, EventTable
from legwatch.recording import Recording
from legwatch.signal.frames import Frames, FrameStream
from legwatch.signal.params import DetectorParams

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]

#: Kinds of detected events. Only "lm" is counted as a leg movement, "spasm" as a spasm.
KINDS = ("lm", "spasm", "posture_change", "gross_body", "tremor", "vibration", "short")
#: Property columns of every detected event.
PROPS = (
    "peak_mg",
    "tilt_deg",
    "jerk_g_per_s",
    "hf_ratio",
    "cycles",
    "magnitude_ratio",
    "morphology_ok",
    "at_gap",
)


@dataclass(frozen=True)
class _Candidate:
    i_on: int  # first frame above low (index into the buffer)
    i_off: int  # first quiet frame (exclusive end)
    closed_by_gap: bool  # ended by a gap too long to bridge: nothing after it to read
    censored: bool = False  # still moving when a bridged dropout began, quiet after it


def _interp_cross(a0: float, a1: float, level: float) -> float:
    """Fraction (0..1) of the way from a0 to a1 at which ``level`` is crossed."""
    if a1 == a0:
        return 0.5
    return float(min(1.0, max(0.0, (level - a0) / (a1 - a0))))


def classify_event(f: dict[str, float], params: DetectorParams) -> str:
    """The kind of one detected event, from its measured properties (see PROPS).

    Order matters: a turn-over that also shakes the bed is a posture change first.
    """
    c, sp = params.classify, params.spasm
    dur = f["duration_s"]
    if f["tilt_deg"] > c.posture_deg:
        return "posture_change"
    if dur > c.gross_min_s and f["peak_mg"] >= c.gross_peak_mg:
        return "gross_body"
    if dur >= c.tremor_min_s and f["cycles"] >= c.tremor_min_cycles:
        return "tremor"
    if (
        dur <= sp.max_s
        and f["jerk_g_per_s"] >= sp.min_jerk_g_per_s
        and f["peak_raw_mg"] >= sp.min_peak_mg
    ):
        return "spasm"
    if f["hf_ratio"] > c.vibration_hf_ratio and dur < 2 * params.events.min_quiet_s:
        return "vibration"
    if dur < 0.5 or not f["morphology_ok"]:
        return "short"
    return "lm"


@dataclass
class StreamingDetector:
    """Detect movements in one band's samples as they arrive.

    Parameters
    ----------
    fs_hz : float
        Sampling rate of the band, Hz.
    side : str
        "left", "right" or "unknown": copied into every event.
    params : DetectorParams
        Detector parameters.
    """

    fs_hz: float
    side: str = "unknown"
    params: DetectorParams = field(default_factory=DetectorParams)
    #: Keep the per-frame envelope (activity, floor, orientation) for reports and quality checks.
    #: Off for the live collector, whose memory must not grow with the night.
    keep_envelope: bool = False

    def __post_init__(self) -> None:
        if not (np.isfinite(self.fs_hz) and 1.0 <= self.fs_hz <= 4000.0):
            raise ParameterError("fs_hz", "a sampling rate between 1 and 4000 Hz", self.fs_hz)
        if self.side not in SIDES:
            raise ParameterError("side", f"one of {SIDES}", self.side)
        p = self.params
        self._stream = FrameStream(self.fs_hz, p.front_end, p.thresholds)
        self._frame_s = p.front_end.frame_s
        self._quiet_n = max(1, round(p.events.min_quiet_s / self._frame_s))
        self._morph_n = max(1, round(p.events.morphology_window_s / self._frame_s))
        self._after_n = max(1, round(p.events.after_s / self._frame_s))
        self._max_n = max(1, round(p.events.max_event_s / self._frame_s))
        self._pre_n = 2  # frames kept before an onset for interpolation and jerk
        self._buf = Frames.empty()
        self._start = 0
        self._off_runs: list[tuple[float, float]] = []  # detection switched off (s)
        self._off_open: float | None = None
        self._pending: dict[str, Any] | None = None  # a posture change held back (_join_held)
        self._buf_scale = np.empty(0)  # movement gain in effect at each buffered frame
        self._gain = 1.0
        self._lm_peaks: deque[float] = deque(maxlen=p.gain.window_lms)
        self.frames_seen = 0
        self._env: list[tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]] = []
        self._none = EventTable.empty(PROPS)  # read-only, so one instance serves every call

    # -- public -------------------------------------------------------------------------------
    def push(self, t_s: F64, accel_g: F64) -> EventTable:
        """Feed samples (times in s, acceleration (n, 3) in g); returns the events now final."""
        fr = self._stream.push(np.asarray(t_s, dtype=np.float64), np.asarray(accel_g, np.float64))
        return self._consume(fr, final=False)

    def flush(self) -> EventTable:
        """End of data: close and return whatever is still open."""
        return self._consume(self._stream.flush(), final=True)

    @property
    def gain(self) -> float:
        """The movement gain now in effect (``params.GainParams``): 1 until enough leg movements."""
        return self._gain

    @property
    def detection_off(self) -> list[tuple[float, float]]:
        """Stretches (s) where the noise floor was too high to detect anything."""
        return list(self._off_runs)

    def envelope(self) -> Envelope:
        """The per-frame envelope kept so far (needs ``keep_envelope=True``)."""
        if not self._env:
            z = np.empty(0, np.float32)
            return Envelope(np.empty(0), z, z, np.empty((0, 3), np.float32))
        k = np.concatenate([e[0] for e in self._env])
        af = np.concatenate([e[1] for e in self._env])
        lp = np.concatenate([e[2] for e in self._env])
        return Envelope((k + 0.5) * self._frame_s, af[:, 0], af[:, 1], lp)

    # -- internals ----------------------------------------------------------------------------
    def _track_off(self, fr: Frames, final: bool) -> None:
        off = np.isfinite(fr.floor_mg) & (fr.floor_mg > self.params.thresholds.max_floor_mg)
        t0 = fr.k * self._frame_s
        if off.size:
            change = np.flatnonzero(np.diff(np.concatenate(([self._off_open is not None], off))))
            for i in change.tolist():
                if off[i]:
                    self._off_open = float(t0[i])
                elif self._off_open is not None:
                    self._off_runs.append((self._off_open, float(t0[i])))
                    self._off_open = None
        if final and self._off_open is not None and off.size:
            self._off_runs.append((self._off_open, float(t0[-1] + self._frame_s)))
            self._off_open = None

    def _consume(self, fr: Frames, final: bool) -> EventTable:
        if not len(fr) and not final:
            # no new frame: the buffer, and so everything decided from it, is as the last call
            # left it (a push smaller than a frame, when streaming sample by sample)
            return self._none
        self.frames_seen += len(fr)
        self._track_off(fr, final)
        if self.keep_envelope and len(fr):
            self._env.append(
                (
                    fr.k.copy(),
                    np.column_stack([fr.activity_mg, fr.floor_mg]).astype(np.float32),
                    fr.lp.astype(np.float32),
                )
            )
        buf = Frames.concat([self._buf, fr])
        scale = np.concatenate([self._buf_scale, np.full(len(fr), self._gain)])
        if not len(buf):
            return EventTable.empty(PROPS)
        th = self.params.thresholds
        off = np.isfinite(buf.floor_mg) & (buf.floor_mg > th.max_floor_mg)
        a = buf.activity_mg
        new_seg = buf.seg[1:] != buf.seg[:-1]
        missing_s = (np.diff(buf.k) - 1) * self._frame_s  # whole frames lost between frames
        # a frame where a segment ends that no event runs on across (a gap longer than
        # max_bridge_s, or the end of the recording)
        seg_end = np.append(new_seg & (missing_s > self.params.events.max_bridge_s), final)
        n = len(buf)
        ends = np.flatnonzero(seg_end)
        low, quiet, ups, qs = self._levels(buf, scale, off)
        events: list[dict[str, Any]] = []
        pos = self._start  # frames before pos are context only (belong to earlier events)
        open_at: int | None = None
        while True:
            j = int(np.searchsorted(ups, pos))
            if j >= ups.size:
                break
            i_up = int(ups[j])
            # onset: back to the last frame at or below low (never before pos)
            i_on = i_up
            while i_on > pos and not quiet[i_on - 1] and not seg_end[i_on - 1]:
                i_on -= 1
            jq = int(np.searchsorted(qs, i_up))
            je = int(np.searchsorted(ends, i_up))
            i_q = int(qs[jq]) if jq < qs.size else n + 1
            # a quiet run is only known once all its frames are in the buffer
            if i_q + self._quiet_n > n and not final:
                i_q = n + 1
            i_e = int(ends[je]) + 1 if je < ends.size else n + 1
            i_off = min(i_q, i_e, i_on + self._max_n)
            gap = i_e <= i_q and i_e <= i_on + self._max_n
            need_after = 0 if gap else self._after_n
            if i_off > n or (i_off + need_after > n and not final):
                open_at = i_on
                break
            # quiet from the first frame after a bridged dropout: it ended unseen in the dropout
            censored = not gap and i_off < n and bool(new_seg[i_off - 1])
            events.append(self._measure(buf, _Candidate(i_on, i_off, gap, censored), low, a))
            pos = i_off
            # the movement gain moves from the frame after which this event was known
            if events[-1]["kind"] == "lm" and self._update_gain(events[-1]["peak_mg"]):
                i_known = i_off + max(self._quiet_n, need_after)
                if i_known < n:
                    scale[i_known:] = self._gain
                    low, quiet, ups, qs = self._levels(
                        buf, scale, off, (i_known, low, quiet, ups, qs)
                    )
        if final:
            self._buf = Frames.empty()
            self._buf_scale = np.empty(0)
            self._start = 0
            earliest_next_s = np.inf
        else:
            if open_at is not None:
                new_start = open_at
            else:
                # no event open: a later onset backtracks at most to the last quiet frame
                q_idx = np.flatnonzero(quiet[pos:])
                new_start = pos + int(q_idx[-1]) + 1 if q_idx.size else pos
                new_start = min(max(new_start, n - self._max_n), n)
            keep_from = max(0, new_start - self._pre_n)
            self._buf = buf.slice(keep_from, n)
            self._buf_scale = scale[keep_from:n]
            self._start = new_start - keep_from
            # a later event's onset lies after this (interpolation reaches one frame back)
            k_next = int(buf.k[new_start]) if new_start < n else int(buf.k[-1]) + 1
            earliest_next_s = (k_next - 1) * self._frame_s - self._stream.delay_s
        events = self._join_held(events, earliest_next_s, final)
        if not events:
            return EventTable.empty(PROPS)
        return EventTable.from_records(events, prop_names=PROPS)

    def _levels(
        self,
        buf: Frames,
        scale: F64,
        off: NDArray[np.bool_],
        since: tuple[int, F64, NDArray[np.bool_], NDArray[np.intp], NDArray[np.intp]] | None = None,
    ) -> tuple[F64, NDArray[np.bool_], NDArray[np.intp], NDArray[np.intp]]:
        """Low threshold, quiet frames, frames above the high threshold and frames where a quiet
        run starts, with the thresholds' minima multiplied by the movement gain per frame.

        ``since`` = (i, low, quiet, ups, qs): the levels so far, of which only frames from i on
        are recomputed (the gain changed there).
        """
        th = self.params.thresholds
        i0 = 0 if since is None else since[0]
        q = self._quiet_n
        j0 = max(0, i0 - q + 1)  # quiet runs starting here may reach frame i0
        sc, fl, a = scale[j0:], buf.floor_mg[j0:], buf.activity_mg[j0:]
        high = np.maximum(th.high_min_mg * sc, th.high_factor * fl)
        low = np.maximum(th.low_min_mg * sc, th.low_factor * fl)
        quiet = a <= low
        run = np.convolve(quiet.astype(np.int64), np.ones(q, np.int64), "full")
        quiet_start = run[q - 1 :] >= q  # quiet[i:i+q] all True
        ups = np.flatnonzero((a > high) & ~off[j0:]) + j0
        qs = np.flatnonzero(quiet_start) + j0
        if since is not None:
            _, low0, quiet0, ups0, qs0 = since
            low = np.concatenate([low0[:j0], low])
            quiet = np.concatenate([quiet0[:j0], quiet])
            ups = np.concatenate([ups0[ups0 < j0], ups])
            qs = np.concatenate([qs0[qs0 < j0], qs])
        return low, quiet, ups, qs

    def _update_gain(self, peak_mg: float) -> bool:
        """Add a leg movement's peak; True if the movement gain changed."""
        g = self.params.gain
        self._lm_peaks.append(peak_mg)
        if len(self._lm_peaks) < g.min_lms:
            return False
        est = float(np.quantile(np.fromiter(self._lm_peaks, float), g.quantile)) / g.ref_mg
        new = round(round(min(max(est, g.min_gain), g.max_gain) / g.step) * g.step, 9)
        if new == self._gain:
            return False
        self._gain = new
        return True

    def _measure(self, buf: Frames, c: _Candidate, low: F64, a: F64) -> dict[str, Any]:
        fs = self._frame_s
        i_on, i_off = c.i_on, c.i_off

        def centre(i: int) -> float:  # of frame i, s
            return (float(buf.k[i]) + 0.5) * fs

        # onset interpolated where activity crossed the low threshold
        if i_on > 0 and buf.seg[i_on - 1] == buf.seg[i_on]:
            frac = _interp_cross(a[i_on - 1], a[i_on], low[i_on])
            onset = centre(i_on - 1) + frac * fs
        else:
            onset = centre(i_on) - 0.5 * fs
        last = i_off - 1
        if i_off < len(buf) and not (c.closed_by_gap or c.censored):
            frac = _interp_cross(a[last], a[i_off], low[i_off])
            offset = centre(last) + frac * fs
        else:
            offset = centre(last) + 0.5 * fs
        delay = self._stream.delay_s
        onset, offset = onset - delay, offset - delay
        duration = max(offset - onset, fs / 2)
        ev_a = a[i_on:i_off]
        peak = float(ev_a.max())
        # resting orientation before vs after
        before = buf.base[i_on]
        if c.closed_by_gap:
            after = before
            tilt = 0.0
        else:
            after = buf.lp[i_off : i_off + self._after_n].mean(axis=0)
            tilt = _angle_deg(before, after)
        j0 = max(0, i_on - 1)
        jerk = float(buf.jerk[j0:i_off].max())
        raw_dev = buf.raw[j0:i_off] - before
        peak_raw = float(np.sqrt((raw_dev * raw_dev).sum(axis=1)).max()) * 1000.0
        # a rotation (a leg movement) turns gravity without changing its size; a translation of
        # the whole body (a gross movement) changes the size: share of the peak due to that
        mag = np.sqrt((buf.lp[i_on:i_off] ** 2).sum(axis=1))
        mag_ratio = float(np.abs(mag - np.linalg.norm(before)).max()) * 1000.0 / max(peak, 1e-9)
        lf_energy = float(((ev_a / 1000.0) ** 2).sum())
        hf_energy = float(buf.hf2[i_on:i_off].sum())
        cycles = _oscillation_cycles(buf.lp[i_on:i_off] - before)
        w = self._morph_n
        if ev_a.size >= w:
            windows = np.lib.stride_tricks.sliding_window_view(ev_a, w)
            morph = bool((np.median(windows, axis=1) >= low[i_on : i_off - w + 1]).any())
        else:
            morph = False
        return self._event(
            onset=onset,
            duration=duration,
            peak=peak,
            peak_raw=peak_raw,
            tilt=tilt,
            jerk=jerk,
            energy=(lf_energy, hf_energy),
            cycles=cycles,
            morph=morph,
            mag_ratio=mag_ratio,
            at_gap=c.closed_by_gap or c.censored,
            rest=(before.copy(), after.copy()),
        )

    def _event(
        self,
        *,
        onset: float,
        duration: float,
        peak: float,
        peak_raw: float,
        tilt: float,
        jerk: float,
        energy: tuple[float, float],
        cycles: float,
        morph: bool,
        mag_ratio: float,
        at_gap: bool,
        rest: tuple[F64, F64],
    ) -> dict[str, Any]:
        """An event's record, classified. Keys starting with "_" are kept for joining the two
        halves of a held movement (:meth:`_join_held`) and are not part of the table."""
        lf_energy, hf_energy = energy
        hf_ratio = hf_energy / lf_energy if lf_energy > 0 else np.inf
        features = {
            "duration_s": duration,
            "peak_mg": peak,
            "peak_raw_mg": peak_raw,
            "tilt_deg": tilt,
            "jerk_g_per_s": jerk,
            "hf_ratio": hf_ratio,
            "cycles": cycles,
            "morphology_ok": morph,
            "magnitude_ratio": mag_ratio,
        }
        kind = classify_event(features, self.params)
        return {
            "onset_s": onset,
            "duration_s": duration,
            "kind": kind,
            "side": self.side,
            "peak_mg": peak,
            "tilt_deg": tilt,
            "jerk_g_per_s": jerk,
            "hf_ratio": min(hf_ratio, 1e6),
            "cycles": cycles,
            "magnitude_ratio": mag_ratio,
            "morphology_ok": morph,
            "at_gap": at_gap,
            "_peak_raw": peak_raw,
            "_energy": energy,
            "_rest": rest,
        }

    def _join_held(
        self, events: list[dict[str, Any]], earliest_next_s: float, final: bool
    ) -> list[dict[str, Any]]:
        """Hold back each posture change until it is clear it was not half of a held movement.

        A leg movement held longer than ``settle_s`` in an orientation turned by more than
        ``reacquire_deg`` looks, with the provisional reference (``frames.FrameStream``), like a
        turn followed by a turn back. An event that starts within ``reacquire_still_s`` of a
        posture change's offset and brings the leg back within ``posture_deg`` of where it
        rested before is joined to it, and the whole is classified again. A posture change is
        released as soon as no later event can join it (``earliest_next_s``, the earliest onset
        a later event can still have, is past the window): only posture changes wait, every
        other event is emitted on time.
        """
        window = self.params.thresholds.reacquire_still_s
        out: list[dict[str, Any]] = []
        for e in events:
            p = self._pending
            if p is not None:
                p_off = p["onset_s"] + p["duration_s"]
                back = _angle_deg(p["_rest"][0], e["_rest"][1])
                if e["onset_s"] - p_off <= window and back <= self.params.classify.posture_deg:
                    e = self._joined(p, e)
                else:
                    out.append(p)
                self._pending = None
            if e["kind"] == "posture_change":
                self._pending = e
            else:
                out.append(e)
        p = self._pending
        if p is not None and (final or earliest_next_s > p["onset_s"] + p["duration_s"] + window):
            out.append(p)
            self._pending = None
        return out

    def _joined(self, p: dict[str, Any], e: dict[str, Any]) -> dict[str, Any]:
        """The two halves of a held movement as one event."""
        peak = max(p["peak_mg"], e["peak_mg"])
        return self._event(
            onset=p["onset_s"],
            duration=e["onset_s"] + e["duration_s"] - p["onset_s"],
            peak=peak,
            peak_raw=max(p["_peak_raw"], e["_peak_raw"]),
            tilt=_angle_deg(p["_rest"][0], e["_rest"][1]),
            jerk=max(p["jerk_g_per_s"], e["jerk_g_per_s"]),
            energy=(p["_energy"][0] + e["_energy"][0], p["_energy"][1] + e["_energy"][1]),
            cycles=p["cycles"] + e["cycles"],
            morph=bool(p["morphology_ok"] or e["morphology_ok"]),
            mag_ratio=max(p["magnitude_ratio"] * p["peak_mg"], e["magnitude_ratio"] * e["peak_mg"])
            / max(peak, 1e-9),
            at_gap=bool(e["at_gap"]),
            rest=(p["_rest"][0], e["_rest"][1]),
        )


def _angle_deg(u: F64, v: F64) -> float:
    """Angle between two orientations (gravity vectors), degrees."""
    cosang = float(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0))))


def _oscillation_cycles(dev: F64) -> float:
    """Oscillation cycles of a movement along its main direction (half the zero crossings).

    A leg movement goes out, holds and returns: about one crossing of its own mean each way. Tremor
    and ALMA bursts cross many times.
    """
    if dev.shape[0] < 4:
        return 0.0
    centred = dev - dev.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    x = centred @ vt[0]
    # ignore wiggles smaller than a quarter of the range (noise on a hold)
    hyst = 0.25 * (x.max() - x.min())
    state = 0
    crossings = 0
    for v in x:
        s = 1 if v > hyst else (-1 if v < -hyst else 0)
        if s and s != state:
            if state:
                crossings += 1
            state = s
    return crossings / 2.0


@dataclass(frozen=True)
class Envelope:
    """Per-frame movement envelope of a band (frame centres in s)."""

    t_s: F64
    activity_mg: NDArray[np.float32]
    floor_mg: NDArray[np.float32]
    lp_g: NDArray[np.float32]  # (m, 3) low-passed acceleration: orientation


@dataclass(frozen=True)
class Detection:
    """Everything found in one band's recording."""

    events: EventTable
    detection_off: tuple[tuple[float, float], ...]
    params: DetectorParams
    fs_hz: float
    envelope: Envelope
    #: The movement gain in effect at the end of the recording (``params.GainParams``).
    movement_gain: float = 1.0

    @property
    def leg_movements(self) -> EventTable:
        return self.events.of_kind("lm")

    @property
    def spasms(self) -> EventTable:
        return self.events.of_kind("spasm")


def detect_movements(
    recording: Recording,
    params: DetectorParams | None = None,
    *,
    chunk_s: float = 3600.0,
) -> Detection:
    """Detect every movement in a recording (the offline path).

    The recording is fed through :class:`StreamingDetector` in chunks of ``chunk_s`` seconds, which
    bounds memory and gives exactly the events the live collector gets.
    """
    params = params or DetectorParams()
    det = StreamingDetector(recording.fs_effective_hz, recording.side, params, keep_envelope=True)
    parts: list[EventTable] = []
    for i0, i1 in _chunks(recording.t_s, chunk_s):
        parts.append(det.push(recording.t_s[i0:i1], recording.accel_g[i0:i1]))
    parts.append(det.flush())
    events = EventTable.concat(parts) if any(len(p) for p in parts) else EventTable.empty(PROPS)
    return Detection(
        events,
        tuple(det.detection_off),
        params,
        recording.fs_effective_hz,
        det.envelope(),
        movement_gain=det.gain,
    )


def _chunks(t_s: F64, chunk_s: float) -> Iterable[tuple[int, int]]:
    edges = np.searchsorted(t_s, np.arange(t_s[0], t_s[-1] + chunk_s, chunk_s))
    edges = np.unique(np.append(edges, t_s.size))
    return zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)
