"""From raw samples to 0.1 s frames and their slow statistics, one chunk at a time.

Everything here is causal and chunk-invariant: feeding a night in one piece or in chunks of any
size gives bit-identical frames. That is what makes the streaming and offline detectors agree.
Small pushes cost little: samples that only extend the open frame are held until a frame can
complete, and frames that complete no 1 s block reuse the open block's statistics.

Channels per frame
------------------
- ``lp``: mean of the low-passed acceleration (g, band axes). Gravity plus leg rotation; partner
  vibration (8-20 Hz) and most MEMS noise are filtered out.
- ``hf2``: mean squared magnitude of raw minus low-passed acceleration (g^2): vibration, spasm
  transients, noise.
- ``jerk``: largest sample-to-sample change of raw acceleration times the rate (g/s).
- ``base``: the resting orientation, a per-axis causal running median of 1 s block means (g).
  After a turn-over, until the slow statistics re-acquire the new resting orientation, it is a
  provisional reference: the orientation at which the turned leg first came to rest.
- ``activity_mg``: |lp - base| in mg (breathing taken out), the movement envelope that
  thresholds act on.
- ``floor_mg``: the adaptive noise floor, a causal running median of per-block maximum activity
  (mg).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from scipy import ndimage, signal

from legwatch.recording import GAP_FACTOR
from legwatch.signal.params import FrontEndParams, ThresholdParams

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
#: Frames handled in one vectorised pass of the slow statistics (bounds the work redone when a
#: re-acquisition splits a pass; any value gives the same frames).
_PIECE_FRAMES = 6000


@dataclass(frozen=True)
class Frames:
    """A run of consecutive frames (see the module docstring for the channels)."""

    k: I64  # absolute frame index: floor(t / frame_s)
    seg: I64  # segment number; increases after every gap in the samples
    n: I64  # samples in the frame
    lp: F64  # (m, 3) g
    raw: F64  # (m, 3) g
    hf2: F64  # g^2
    jerk: F64  # g/s
    base: F64  # (m, 3) g
    activity_mg: F64
    floor_mg: F64

    def __len__(self) -> int:
        return int(self.k.size)

    @staticmethod
    def empty() -> Frames:
        z = np.empty(0)
        z3 = np.empty((0, 3))
        zi = np.empty(0, dtype=np.int64)
        return Frames(zi, zi, zi, z3, z3, z, z, z3, z, z)

    @staticmethod
    def concat(parts: list[Frames]) -> Frames:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Frames.empty()
        if len(parts) == 1:
            return parts[0]
        return Frames(
            *(
                np.concatenate([getattr(p, name) for p in parts])
                for name in Frames.__dataclass_fields__
            )
        )

    def slice(self, i0: int, i1: int) -> Frames:
        return Frames(*(getattr(self, name)[i0:i1] for name in Frames.__dataclass_fields__))


def _group_starts(keys: list[I64]) -> I64:
    """Indices where any of the key arrays changes value (0 included)."""
    change = np.zeros(keys[0].size, dtype=bool)
    change[0] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(change)


def _trailing_median(seq: F64, w: int) -> F64:
    """``np.nanmedian`` of every window of ``w`` consecutive rows of ``seq``, bit for bit.

    Row ``i`` of the result is the median of ``seq[i : i + w]`` along axis 0 (per column of a 2-D
    ``seq``), ignoring NaN; NaN where a window holds nothing else. Windows without NaN (nearly all)
    are ranked by ``scipy.ndimage.rank_filter``, which keeps its window sorted as it slides
    instead of partitioning every window afresh (the columns laid end to end, one call per rank:
    windows across two columns are dropped); the mean of the two middle values of an even window
    is taken as ``np.median`` takes it. Which path a window takes depends only on that window, so
    the result does not depend on how the rows were batched.
    """
    x = np.ascontiguousarray(np.atleast_2d(seq.T), dtype=np.float64)  # (columns, rows)
    n_col, n_row = x.shape
    n = n_row - w + 1
    if n <= 0:
        return np.empty((0, n_col) if seq.ndim == 2 else 0)
    nan = np.isnan(x)
    if nan.any():
        c = np.concatenate((np.zeros((n_col, 1), dtype=np.int64), np.cumsum(nan, axis=1)), axis=1)
        holed = c[:, w:] > c[:, :n]
        clean = np.where(nan, 0.0, x)  # windows with NaN are redone below
    else:
        holed = None
        clean = x
    # ndimage centres a window of size w on index w // 2 of it: window i is centred on i + w // 2
    flat = clean.ravel()
    c0 = w // 2

    def rank(r: int) -> F64:
        return ndimage.rank_filter(flat, r, size=w, mode="nearest").reshape(n_col, n_row)[
            :, c0 : c0 + n
        ]

    med = rank(w // 2) if w % 2 else (rank(w // 2 - 1) + rank(w // 2)) / 2.0
    if holed is not None and holed.any():
        med[holed] = _sorted_nanmedian(sliding_window_view(x, w, axis=1)[holed])
    return np.ascontiguousarray(med.T) if seq.ndim == 2 else med[0]


def _sorted_nanmedian(win: F64) -> F64:
    """``np.nanmedian(win, axis=-1)`` by a sort (NaN sorts last), without its warning."""
    s = np.sort(win, axis=-1)
    k = np.count_nonzero(~np.isnan(s), axis=-1)
    rows = np.arange(s.shape[0])
    lo = s[rows, np.maximum(k - 1, 0) // 2]
    hi = s[rows, k // 2]
    med = (lo + hi) / 2.0  # an odd count takes one value twice: (x + x) / 2 == x
    med[k == 0] = np.nan
    return np.asarray(med, dtype=np.float64)


def _median_axis1(x: F64) -> F64:
    """``np.median(x, axis=1)`` by a sort, bit for bit (NaN wherever the values hold one)."""
    m = x.shape[1]
    ranked = np.sort(x, axis=1)
    med = ranked[:, (m - 1) // 2]
    if m % 2 == 0:
        med = (med + ranked[:, m // 2]) / 2.0
    med[np.isnan(x).any(axis=1)] = np.nan
    return np.asarray(med, dtype=np.float64)


def _window_sum(seq: F64, w: int) -> F64:
    """Sum of every window of ``w`` consecutive rows of ``seq`` (axis 0), added row by row in
    order. This is the order in which numpy 2 sums ``sliding_window_view(seq, w, axis=0)`` along
    its last (strided) axis, so the two agree bit for bit; this is several times faster."""
    n = seq.shape[0] - w + 1
    out = seq[:n].copy()
    for k in range(1, w):
        out += seq[k : k + n]
    return out


def _dot(u: F64, v: F64) -> F64:
    """Row-wise dot product of two (n, 3) arrays: the three products summed in order, as
    ``(u * v).sum(axis=1)`` sums them, a column at a time (several times faster)."""
    p = u * v
    return np.asarray(p[:, 0] + p[:, 1] + p[:, 2], dtype=np.float64)


def _sq_norm_rows(v: F64) -> F64:
    """Squared norm of each column of a channels-first (3, n) array, computed in ``v``'s own
    memory: the three squares added x, y, z, as ``(u * u).sum(axis=1)`` adds them for the
    (n, 3) array ``u = v.T``."""
    v *= v
    out = v[0] + v[1]
    out += v[2]
    return out


def _sq_step(x: F64, prev: F64) -> F64:
    """Squared norm of each sample's step from the sample before (``prev`` before the first),
    for channels-first (3, n) samples."""
    d = np.empty_like(x)
    np.subtract(x[:, :1], prev[:, None], out=d[:, :1])
    np.subtract(x[:, 1:], x[:, :-1], out=d[:, 1:])
    return _sq_norm_rows(d)


def _votes(d: F64, starts: I64) -> F64:
    """Each block's trace-normalised second moment of deviations: one direction vote per block.

    Always summed with the same reduction over a block's frames, so the result does not depend on
    how the frames arrived.
    """
    outer = (d[:, :, None] * d[:, None, :]).reshape(d.shape[0], 9)
    votes = np.add.reduceat(outer, starts, axis=0).reshape(-1, 3, 3)
    trace = np.trace(votes, axis1=1, axis2=2)
    return np.asarray(votes / np.where(trace > 0, trace, 1.0)[:, None, None], dtype=np.float64)


class FrameStream:
    """Turns samples into frames with baseline and noise floor, incrementally.

    Parameters
    ----------
    fs_hz : float
        The band's sampling rate in Hz (the effective one where known).
    """

    def __init__(
        self,
        fs_hz: float,
        front_end: FrontEndParams | None = None,
        thresholds: ThresholdParams | None = None,
    ) -> None:
        self.fs_hz = float(fs_hz)
        self.p = front_end or FrontEndParams()
        self.th = thresholds or ThresholdParams()
        cutoff = min(self.p.lowpass_hz, 0.4 * self.fs_hz)
        self._sos = signal.butter(self.p.lowpass_order, cutoff, fs=self.fs_hz, output="sos")
        self._zi_unit = signal.sosfilt_zi(self._sos)
        #: Group delay of the low-pass at 0 Hz, s: subtracted from event times.
        _w, gd = signal.group_delay(signal.sos2tf(self._sos), w=[0.01], fs=self.fs_hz)
        self.delay_s = float(gd[0]) / self.fs_hz
        self._frames_per_block = max(1, round(self.p.block_s / self.p.frame_s))
        self._base_blocks = max(1, round(self.th.baseline_window_s / self.p.block_s))
        self._floor_blocks = max(1, round(self.th.floor_window_s / self.p.block_s))
        self._fast_blocks = max(1, min(self._floor_blocks, round(self.th.floor_fast_window_s)))
        self._floor_min_blocks = max(1, round(self.th.floor_min_s / self.p.block_s))
        self._still_blocks = max(
            1, min(self._base_blocks, round(self.th.reacquire_still_s / self.p.block_s))
        )
        self._cos_reacquire = float(np.cos(np.radians(self.th.reacquire_deg)))
        self._settle_n = max(1, round(self.th.settle_s / self.p.frame_s))
        # sample-level state
        self._zi: F64 | None = None
        self._last_t: float | None = None
        self._last_raw: F64 | None = None
        self._seg = -1
        self._seg_gap: dict[int, float] = {}  # segment -> length of the gap before it, s
        self._carry: tuple[F64, F64, F64, F64, I64, I64] | None = None
        self._unfiltered: tuple[F64, F64] | None = None  # samples held back by push()
        # block-level state (per current segment), set by _start_segment
        self._cur_seg = -1
        self._start_segment(-1)

    # -- samples -> raw frames ----------------------------------------------------------------
    # Per-sample arrays are held channels first, (3, n): the filter runs along contiguous rows
    # and every per-sample sum adds three contiguous rows, in the order a row-wise sum of an
    # (n, 3) array adds them (x, y, z), so the values are those of the (n, 3) computation.
    def _filter(self, t: F64, a: F64) -> tuple[F64, F64, F64, F64, I64]:
        """Low-pass and squared step per sample, restarting the filter after every gap.

        ``a`` is (n, 3); the samples and their low-pass come back channels first, (3, n). The
        step is carried squared (g^2): a frame's jerk is the square root of its largest step
        times the rate, which is the largest of the samples' jerks (both are monotone), with one
        square root per frame instead of one per sample.
        """
        x = np.ascontiguousarray(a.T)
        prev = np.nan if self._last_t is None else self._last_t
        steps = np.diff(np.concatenate(([prev], t)))
        starts = np.flatnonzero(~(steps <= GAP_FACTOR / self.fs_hz))  # NaN -> new segment
        bounds = [*starts.tolist(), t.size]
        lp_parts: list[F64] = []
        step2 = np.empty(t.size)
        seg = np.empty(t.size, dtype=np.int64)
        first = t.size if not starts.size else int(starts[0])
        if first > 0:  # continue the current segment
            part, self._zi = signal.sosfilt(self._sos, x[:, :first], axis=-1, zi=self._zi)
            lp_parts.append(part)
            prev_raw = self._last_raw if self._last_raw is not None else x[:, 0]
            step2[:first] = _sq_step(x[:, :first], prev_raw)
            seg[:first] = self._seg
        for s0, s1 in itertools.pairwise(bounds):
            if s0 >= s1:
                continue
            self._seg += 1
            gap = (
                np.inf
                if self._last_t is None and s0 == 0
                else float(t[s0])
                - (
                    float(t[s0 - 1]) if s0 > 0 else float(self._last_t)  # type: ignore[arg-type]
                )
            )
            self._seg_gap[self._seg] = gap
            zi = self._zi_unit[:, None, :] * x[:, s0][None, :, None]
            part, self._zi = signal.sosfilt(self._sos, x[:, s0:s1], axis=-1, zi=zi)
            lp_parts.append(part)
            step2[s0:s1] = _sq_step(x[:, s0:s1], x[:, s0])
            step2[s0] = 0.0  # a segment's first sample has no step
            seg[s0:s1] = self._seg
        lp = lp_parts[0] if len(lp_parts) == 1 else np.concatenate(lp_parts, axis=1)
        self._last_t = float(t[-1])
        self._last_raw = x[:, -1].copy()
        return t, x, lp, step2, seg

    def _raw_frames(self, t: F64, x: F64, lp: F64, step2: F64, seg: I64, final: bool) -> Frames:
        """Frames of these samples (channels first); the last one is kept back unless ``final``,
        since the next chunk may add to it."""
        k = np.floor(t / self.p.frame_s).astype(np.int64)
        parts = []
        if self._carry is not None:
            # the kept frame and the new samples that continue it form one frame, summed on its
            # own: a frame's sums do not depend on the samples around it
            ct, cx, clp, cs2, cs, ck = self._carry
            self._carry = None
            same = (k == ck[0]) & (seg == cs[0])
            j = t.size if same.all() else int(np.argmin(same))
            joined = (
                np.concatenate([ct, t[:j]]),
                np.concatenate([cx, x[:, :j]], axis=1),
                np.concatenate([clp, lp[:, :j]], axis=1),
                np.concatenate([cs2, step2[:j]]),
                np.concatenate([cs, seg[:j]]),
                np.concatenate([ck, k[:j]]),
            )
            if j == t.size and not final:  # it is still open
                self._carry = joined
                return Frames.empty()
            parts.append(self._frames_of(*joined, np.zeros(1, dtype=np.int64)))
            t, x, lp, step2, seg, k = t[j:], x[:, j:], lp[:, j:], step2[j:], seg[j:], k[j:]
        if t.size:
            starts = _group_starts([k, seg])
            if not final:
                cut = int(starts[-1])
                self._carry = (
                    t[cut:].copy(),
                    x[:, cut:].copy(),
                    lp[:, cut:].copy(),
                    step2[cut:].copy(),
                    seg[cut:].copy(),
                    k[cut:].copy(),
                )
                t, x, lp, step2, seg, k = (
                    t[:cut],
                    x[:, :cut],
                    lp[:, :cut],
                    step2[:cut],
                    seg[:cut],
                    k[:cut],
                )
                starts = starts[:-1]
            if t.size:
                parts.append(self._frames_of(t, x, lp, step2, seg, k, starts))
        return Frames.concat(parts)

    def _frames_of(
        self, t: F64, x: F64, lp: F64, step2: F64, seg: I64, k: I64, starts: I64
    ) -> Frames:
        """One frame per group of samples starting at ``starts`` (raw statistics only)."""
        n = np.diff(np.append(starts, t.size)).astype(np.int64)
        hf2 = _sq_norm_rows(x - lp)
        lp_m = np.ascontiguousarray(np.add.reduceat(lp, starts, axis=1).T) / n[:, None]
        raw_m = np.ascontiguousarray(np.add.reduceat(x, starts, axis=1).T) / n[:, None]
        hf2_m = np.add.reduceat(hf2, starts) / n
        jerk_m = np.sqrt(np.maximum.reduceat(step2, starts)) * self.fs_hz
        m = starts.size
        z = np.zeros(m)
        return Frames(
            k[starts], seg[starts], n, lp_m, raw_m, hf2_m, jerk_m, np.zeros((m, 3)), z, z.copy()
        )

    # -- frames -> baseline, activity, floor (block statistics) --------------------------------
    def _slow(self, fr: Frames) -> Frames:
        """Fill base, activity and floor; all causal over completed 1 s blocks."""
        m = len(fr)
        if m == 0:
            return fr
        base = np.empty((m, 3))
        act = np.empty(m)
        floor = np.empty(m)
        seg_starts = _group_starts([fr.seg])
        seg_ends = np.append(seg_starts[1:], m)
        for s0, s1 in zip(seg_starts.tolist(), seg_ends.tolist(), strict=True):
            seg = int(fr.seg[s0])
            if seg != self._cur_seg:
                if self._seg_gap.get(seg, np.inf) >= self.th.keep_state_gap_s:
                    self._start_segment(seg)
                else:  # a short dropout: restart the filter only, keep the slow statistics
                    self._cur_seg = seg
                for old in [k for k in self._seg_gap if k < seg]:  # looked up once, in order
                    del self._seg_gap[old]
            # in pieces: a re-acquisition recomputes the rest of its piece
            for p0 in range(s0, s1, _PIECE_FRAMES):
                self._slow_run(fr, p0, min(p0 + _PIECE_FRAMES, s1), base, act, floor)
        return Frames(fr.k, fr.seg, fr.n, fr.lp, fr.raw, fr.hf2, fr.jerk, base, act, floor)

    def _start_segment(self, seg: int) -> None:
        # NaN-padded histories: the windows fill up with real blocks as the segment goes on.
        self._cur_seg = seg
        self._hist_lp = np.full((self._base_blocks, 3), np.nan)
        self._hist_still = np.zeros(self._still_blocks, dtype=bool)
        self._hist_act = np.full(self._floor_blocks, np.nan)
        self._hist_v = np.zeros((self._floor_blocks, 3, 3))
        self._hist_par = np.full(self._floor_blocks, np.nan)
        self._open_max_par = 0.0
        self._open_base = np.zeros(3)
        self._open_blk: int | None = None
        self._seg_first_lp: F64 | None = None
        # frames of the block still being filled: its mean is always summed from the frames
        # themselves, in one pass, so chunk boundaries cannot change a single bit of it
        self._open_lp: F64 = np.empty((0, 3))
        self._open_max_act = 0.0
        # the open block's breathing direction, breathing amplitude and noise floor, as the last
        # run computed them: frames that only add to the open block reuse them (_slow_open)
        self._open_u = np.zeros(3)
        self._open_amp = 0.0
        self._open_floor = np.inf
        self._reset_provisional()

    def _reset_provisional(self) -> None:
        self._prov: F64 | None = None  # provisional reference after a turn (g), or None
        self._turned_lp: F64 = np.empty((0, 3))  # last frames of the current turned run

    def _reacquire(self) -> None:
        """The leg has come to rest in a new orientation: start the slow statistics afresh.

        The baseline becomes the still blocks' median at once instead of after half its window;
        the noise floor and the breathing direction, both measured against the old orientation,
        restart empty (no onset until ``floor_min_s`` of blocks have completed).
        """
        still = self._hist_lp[-self._still_blocks :].copy()
        self._hist_lp = np.full((self._base_blocks, 3), np.nan)
        self._hist_lp[-self._still_blocks :] = still
        self._hist_act = np.full(self._floor_blocks, np.nan)
        self._hist_v = np.zeros((self._floor_blocks, 3, 3))
        self._hist_par = np.full(self._floor_blocks, np.nan)
        self._reset_provisional()

    def _first_due(self, seq_lp: F64, still: NDArray[np.bool_], blk_base: F64, closed: bool) -> int:
        """The first block position at which re-acquisition is due, or -1.

        Position p is the window of the last ``S = _still_blocks`` completed blocks ending just
        before this run's block p (p = 0: the block closed at the start of the run). Due when
        every block of the window is still, the window's means agree within ``still_mg``, and
        their median is turned from the baseline of block p by more than ``reacquire_deg``.
        """
        s = self._still_blocks
        st_seq = np.concatenate([self._hist_still, still])  # (s + n_blk - 1,)
        all_still = np.array(sliding_window_view(st_seq, s).all(axis=1))  # (n_blk,)
        if not closed:
            all_still[0] = False
        cand = np.flatnonzero(all_still)
        if cand.size == 0:
            return -1
        w = seq_lp.shape[0] - st_seq.size  # seq_lp holds W history rows + the run's blocks
        m_seq = seq_lp[w:]
        means = np.moveaxis(sliding_window_view(m_seq, s, axis=0), -1, 1)[cand]  # (c, s, 3)
        centre = _median_axis1(means)
        spread = np.sqrt(((means - centre[:, None, :]) ** 2).sum(axis=2)).max(axis=1)
        ref = blk_base[cand]
        with np.errstate(all="ignore"):
            cos = (centre * ref).sum(axis=1) / (
                np.linalg.norm(centre, axis=1) * np.linalg.norm(ref, axis=1)
            )
            due = (spread * 1000.0 <= self.th.still_mg) & (cos < self._cos_reacquire)
        hit = np.flatnonzero(due)
        return int(cand[hit[0]]) if hit.size else -1

    def _slow_run(self, fr: Frames, s0: int, s1: int, base: F64, act: F64, floor: F64) -> None:
        blk = fr.k[s0:s1] // self._frames_per_block
        starts = _group_starts([blk])
        ids = blk[starts]
        n_blk = ids.size
        closed = self._open_blk is not None and int(ids[0]) != self._open_blk
        if closed:
            self._close_open_block()  # the open block ended with the previous push
        cont = self._open_blk is not None
        if cont and n_blk == 1:  # no block completes (closed implies ids[0] is a new block)
            self._slow_open(fr.lp[s0:s1], base[s0:s1], act[s0:s1], floor[s0:s1])
            return
        lp = fr.lp[s0:s1]
        n_run = s1 - s0
        if cont:
            n_open = self._open_lp.shape[0]
            lp_ext = np.vstack([self._open_lp, lp])
            starts_ext = starts + n_open
            starts_ext[0] = 0
        else:
            lp_ext, starts_ext = lp, starts
        sum_lp = np.add.reduceat(lp_ext, starts_ext, axis=0)
        cnt = np.diff(np.append(starts_ext, lp_ext.shape[0]))
        # every block but the last is complete; the last stays open
        mean_lp = sum_lp / cnt[:, None]
        seq_lp = np.vstack([self._hist_lp, mean_lp[:-1]])
        blk_base = _trailing_median(seq_lp, self._base_blocks)  # (n_blk, 3)
        # Re-acquisition, checked at every block completed so far: the one closed above (p = 0,
        # only if closed now) and those completed inside this run (p >= 1). It takes effect from
        # the next block on; a run is cut there so that state changes only between runs.
        still = self._still(lp_ext, starts_ext)[:-1]
        p_due = self._first_due(seq_lp, still, blk_base, closed)
        if p_due == 0:
            self._reacquire()
            self._slow_run(fr, s0, s1, base, act, floor)
            return
        rest: tuple[int, int] | None = None
        if p_due > 0:
            # Finish here the blocks before p_due, cutting what is computed to them: exactly what
            # a run ending at the start of block p_due would compute. Re-acquire from there on.
            rest = (s0 + int(starts[p_due]), s1)
            s1, n_blk, n_run = rest[0], p_due, rest[0] - s0
            starts, ids, lp = starts[:p_due], ids[:p_due], lp[:n_run]
            lp_ext, starts_ext = lp_ext[: int(starts_ext[p_due])], starts_ext[:p_due]
            seq_lp = seq_lp[: self._base_blocks + p_due - 1]
            blk_base, still = blk_base[:p_due], still[: p_due - 1]
        if self._seg_first_lp is None:
            self._seg_first_lp = lp[0].copy()
        empty = np.isnan(blk_base[:, 0])
        if empty.any():  # no completed block yet in this segment: its first frame is the rest
            blk_base[empty] = self._seg_first_lp
        frame_blk = np.repeat(np.arange(n_blk), np.diff(np.append(starts, n_run)))
        b = blk_base[frame_blk]
        d = lp - b
        a, amp = self._activity(d, lp_ext, starts_ext, blk_base, cont, frame_blk, starts)
        b, a = self._provisional(lp, b, a, amp)
        # block statistic of activity: its maximum. Breathing moves the ankle by a few mg in a
        # slow oscillation; the median over a minute of per-second maxima sits near its peaks, so
        # thresholds above it reject breathing while a movement in a few blocks cannot raise it.
        max_act = np.maximum.reduceat(a, starts)
        if cont:
            max_act[0] = max(max_act[0], self._open_max_act)
        seq_act = np.concatenate([self._hist_act, max_act[:-1]])
        blk_floor = _trailing_median(seq_act, self._floor_blocks)
        # breathing can swell within a few breaths: a short window lets the floor rise fast
        fast = self._fast_blocks
        blk_floor = np.fmax(blk_floor, _trailing_median(seq_act[self._floor_blocks - fast :], fast))
        # too few completed blocks in this segment (or since a re-acquisition) to know the floor
        # and the breathing: no onset yet
        n_known = np.concatenate(([0], np.cumsum(~np.isnan(seq_act))))
        w = self._floor_blocks
        known = n_known[w:] - n_known[:-w] >= self._floor_min_blocks
        blk_floor = np.where(known, blk_floor, np.inf)
        base[s0:s1] = b
        act[s0:s1] = a
        floor[s0:s1] = blk_floor[frame_blk]
        self._hist_lp = seq_lp[-self._base_blocks :]
        self._hist_still = np.concatenate([self._hist_still, still])[-self._still_blocks :]
        self._hist_act = seq_act[-self._floor_blocks :]
        self._open_blk = int(ids[-1])
        self._open_lp = lp_ext[int(starts_ext[-1]) :].copy()
        self._open_base = blk_base[-1].copy()
        self._open_max_act = float(max_act[-1])
        self._open_floor = float(blk_floor[-1])
        if rest is not None:
            # what a run starting at rest[0] would do first, without checking again: close block
            # p_due - 1 and make the check made above at it, which is due
            self._close_open_block()
            self._reacquire()
            self._slow_run(fr, *rest, base, act, floor)

    def _activity(
        self,
        d: F64,
        lp_ext: F64,
        starts_ext: I64,
        blk_base: F64,
        cont: bool,
        frame_blk: I64,
        starts: I64,
    ) -> tuple[F64, F64]:
        """Movement activity (mg) with breathing taken out, and the breathing amplitude (g).

        Breathing rocks the ankle back and forth along one direction (the second singular value of
        its deviations is at noise level). That direction ``u`` is estimated, causally, from the
        last minute of 1 s blocks, each block casting one trace-normalised vote (so a large
        movement cannot outvote a minute of breathing). Activity is the deviation across ``u``
        plus whatever along ``u`` exceeds ``breath_margin`` times the recent breathing amplitude.
        """
        # direction votes of every block in this run (the open block's earlier frames included)
        n_ext = lp_ext.shape[0]
        blk_ext = np.repeat(np.arange(starts_ext.size), np.diff(np.append(starts_ext, n_ext)))
        d_ext = lp_ext - blk_base[blk_ext]
        votes = _votes(d_ext, starts_ext)
        seq_v = np.concatenate([self._hist_v, votes[:-1]])
        vals, vecs = np.linalg.eigh(_window_sum(seq_v, self._floor_blocks))
        u_blk = vecs[:, :, -1]  # largest eigenvalue's vector
        # breathing is there only if the minute's votes agree on one direction; otherwise (noise
        # alone, or a tremor burst in the window) every direction counts fully
        share = vals[:, -1] / np.maximum(vals.sum(axis=1), 1e-12)
        u_blk = np.where((share >= self.th.breath_share)[:, None], u_blk, 0.0)
        u = u_blk[frame_blk]
        par = (d * u).sum(axis=1)
        perp = d - par[:, None] * u
        max_par = np.maximum.reduceat(np.abs(par), starts)
        if cont:
            max_par[0] = max(max_par[0], self._open_max_par)
        seq_p = np.concatenate([self._hist_par, max_par[:-1]])
        amp_blk = np.nan_to_num(_trailing_median(seq_p, self._floor_blocks), nan=0.0)
        amp = amp_blk[frame_blk]
        self._hist_v = seq_v[-self._floor_blocks :]
        self._hist_par = seq_p[-self._floor_blocks :]
        self._open_max_par = float(max_par[-1])
        self._open_u = u_blk[-1].copy()
        self._open_amp = float(amp_blk[-1])
        return self._activity_mg(par, perp, amp), amp

    def _activity_mg(self, par: F64, perp: F64, amp: F64) -> F64:
        """Activity (mg) from the deviation along and across the breathing direction."""
        excess = np.maximum(0.0, np.abs(par) - self.th.breath_margin * amp)
        return np.asarray(np.sqrt((perp * perp).sum(axis=1) + excess * excess) * 1000.0)

    def _slow_open(self, lp: F64, base: F64, act: F64, floor: F64) -> None:
        """Frames that all fall in the open block (streaming in small pushes, mostly).

        No block completes, so no history changes: the open block's baseline, breathing
        direction and amplitude and noise floor are what the last run computed for it, and only
        the per-frame quantities and the open block's running maxima are computed, by the same
        operations as ``_slow_run``. Bit for bit what a full run would give, in a fraction of the
        time (no running medians, no eigenvectors).
        """
        n = lp.shape[0]
        b = np.repeat(self._open_base[None, :], n, axis=0)
        d = lp - b
        u = np.repeat(self._open_u[None, :], n, axis=0)
        par = (d * u).sum(axis=1)
        perp = d - par[:, None] * u
        self._open_max_par = max(float(np.abs(par).max()), self._open_max_par)
        amp = np.full(n, self._open_amp)
        a = self._activity_mg(par, perp, amp)
        b, a = self._provisional(lp, b, a, amp)
        base[:] = b
        act[:] = a
        floor[:] = self._open_floor
        self._open_max_act = max(float(a.max()), self._open_max_act)
        self._open_lp = np.vstack([self._open_lp, lp])

    def _provisional(self, lp: F64, b: F64, a: F64, amp: F64) -> tuple[F64, F64]:
        """Reference and activity of frames turned from the baseline, before re-acquisition.

        Re-acquisition waits for ``reacquire_still_s`` of stillness; until then activity measured
        from the old baseline stays near 1 g and would swallow any movement made soon after a
        turn. So, frame by frame: once a leg turned by more than ``reacquire_deg`` from the
        baseline has stayed within ``settle_mg`` for ``settle_s``, that orientation becomes the
        reference, and activity is the distance from it less the breathing's peak-to-peak
        amplitude (the breathing direction turned with the leg). Settling again at an
        orientation turned by more than ``reacquire_deg`` from the reference moves it there.
        Any frame back within ``reacquire_deg`` of the baseline ends it (that was a held leg
        movement, not a new posture; the detector joins its two halves).

        Sequential over turned frames only, with its state carried between calls: the result
        does not depend on how frames arrived.
        """
        with np.errstate(all="ignore"):
            cos = _dot(lp, b) / (np.sqrt(_dot(lp, lp)) * np.sqrt(_dot(b, b)))
        turned = cos < self._cos_reacquire
        idx = np.flatnonzero(turned)
        if idx.size == 0:
            self._reset_provisional()
            return b, a
        n = self._settle_n
        prov = self._prov if idx[0] == 0 else None
        hist = self._turned_lp if idx[0] == 0 else np.empty((0, 3))
        # settled[j]: frames j-n+1..j of ext (hist then this run) all turned and within settle_mg
        ext = np.vstack([hist, lp])
        ok = np.concatenate([np.ones(hist.shape[0], dtype=bool), turned])
        settled = np.zeros(ext.shape[0], dtype=bool)
        centre = np.zeros_like(ext)
        if ext.shape[0] >= n:
            ends = np.flatnonzero(sliding_window_view(ok, n).all(axis=1))  # turned windows only
            win = sliding_window_view(ext, n, axis=0)[ends]  # (c, 3, n)
            span = win.max(axis=-1) - win.min(axis=-1)
            still = np.sqrt(_dot(span, span)) * 1000.0 <= self.th.settle_mg
            settled[ends[still] + n - 1] = True
            centre[ends[still] + n - 1] = win[still].mean(axis=-1)
        off = hist.shape[0]
        b, a = b.copy(), a.copy()
        prev = int(idx[0]) - 1
        cos_re = self._cos_reacquire
        for i, is_settled in zip(idx.tolist(), settled[idx + off].tolist(), strict=True):
            if i != prev + 1:  # a frame back near the baseline in between
                prov = None
            prev = i
            if is_settled:
                c = centre[i + off]
                if prov is None or float(c @ prov) < cos_re * (
                    math.sqrt(float(c @ c)) * math.sqrt(float(prov @ prov))
                ):
                    prov = c
            if prov is not None:
                dv = lp[i] - prov
                a[i] = max(0.0, math.sqrt(float(dv @ dv)) * 1000.0 - 2000.0 * float(amp[i]))
                b[i] = prov
        if turned[-1]:
            breaks = np.flatnonzero(~ok)
            r0 = int(breaks[-1]) + 1 if breaks.size else 0
            self._prov, self._turned_lp = prov, ext[max(r0, ext.shape[0] - (n - 1)) :]
        else:
            self._reset_provisional()
        return b, a

    def _still(self, lp: F64, starts: I64) -> NDArray[np.bool_]:
        """Per block: does the low-passed acceleration stay within ``still_mg`` (all axes)?"""
        span = np.maximum.reduceat(lp, starts, axis=0) - np.minimum.reduceat(lp, starts, axis=0)
        return np.asarray(np.sqrt((span * span).sum(axis=1)) * 1000.0 <= self.th.still_mg)

    def _close_open_block(self) -> None:
        """Push the finished open block into the histories (``_slow_run`` then checks whether
        re-acquisition is due at it)."""
        open_lp = self._open_lp
        mean = np.add.reduceat(open_lp, [0], axis=0)[0] / open_lp.shape[0]
        self._hist_lp = np.vstack([self._hist_lp, mean[None, :]])[-self._base_blocks :]
        self._hist_act = np.append(self._hist_act, self._open_max_act)[-self._floor_blocks :]
        # the finished block's vote and breathing amplitude: recomputed from its frames
        vote = _votes(open_lp - self._open_base, np.zeros(1, dtype=np.int64))
        self._hist_v = np.concatenate([self._hist_v, vote])[-self._floor_blocks :]
        self._hist_par = np.append(self._hist_par, self._open_max_par)[-self._floor_blocks :]
        still = self._still(open_lp, np.zeros(1, dtype=np.int64))
        self._hist_still = np.concatenate([self._hist_still, still])[-self._still_blocks :]
        self._open_blk = None

    # -- public -------------------------------------------------------------------------------
    def push(self, t_s: F64, accel_g: F64) -> Frames:
        """Frames completed by these samples (possibly none)."""
        if t_s.size == 0:
            return Frames.empty()
        if self._unfiltered is not None:
            held_t, held_a = self._unfiltered
            t_s, accel_g = np.concatenate([held_t, t_s]), np.vstack([held_a, accel_g])
            self._unfiltered = None
        if self._inside_open_frame(t_s):
            # nothing can complete: hold the samples and filter them with the next push, which
            # gives the same values (the filter runs on unchanged), once per frame, not per push
            self._unfiltered = (t_s.copy(), accel_g.copy())
            return Frames.empty()
        return self._slow(self._raw_frames(*self._filter(t_s, accel_g), final=False))

    def _inside_open_frame(self, t: F64) -> bool:
        """Do all these samples extend the frame still open, without a gap?"""
        if self._carry is None or self._last_t is None:
            return False
        steps = np.diff(t, prepend=self._last_t)
        if not (np.all(steps > 0.0) and np.all(steps <= GAP_FACTOR / self.fs_hz)):
            return False
        open_k = np.floor(self._carry[0][:1] / self.p.frame_s)
        return bool(np.floor(t[-1:] / self.p.frame_s) == open_k)

    def flush(self) -> Frames:
        """The last, incomplete frame, at the end of the data."""
        if self._unfiltered is not None:  # they only extend the open frame: nothing completes
            self._raw_frames(*self._filter(*self._unfiltered), final=False)
            self._unfiltered = None
        z = np.empty(0)
        fr = self._raw_frames(z, np.empty((3, 0)), np.empty((3, 0)), z, np.empty(0, np.int64), True)
        return self._slow(fr) if len(fr) else fr
