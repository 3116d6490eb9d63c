"""Event-level agreement between detected and reference movements.

Matching is one-to-one and chronological: both lists are walked in onset order and a detection
pairs with a reference event when their onsets differ by at most ``tolerance_s`` (default 1.0 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


def match_onsets(
    reference_s: ArrayLike, detected_s: ArrayLike, tolerance_s: float = 1.0
) -> NDArray[np.int64]:
    """Pairs (i_reference, i_detected) of matched onsets, as an (m, 2) array.

    Both inputs must be sorted. Walks the two lists together: when the current pair is within the
    tolerance it is matched and both move on; otherwise the earlier of the two is left unmatched.
    """
    ref = np.asarray(reference_s, dtype=np.float64)
    det = np.asarray(detected_s, dtype=np.float64)
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < ref.size and j < det.size:
        d = det[j] - ref[i]
        if abs(d) <= tolerance_s:
            # prefer the closer partner if the next reference event fits this detection better
            if i + 1 < ref.size and abs(det[j] - ref[i + 1]) < abs(d) and det[j] > ref[i]:
                i += 1
                continue
            pairs.append((i, j))
            i += 1
            j += 1
        elif d < 0:
            j += 1
        else:
            i += 1
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


@dataclass(frozen=True)
class Agreement:
    """Counts and scores of one comparison."""

    tp: int
    fp: int
    fn: int
    neutral: int  # detections matching reference events that do not count (e.g. invisible)
    onset_errors_s: NDArray[np.float64]

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else float("nan")


def agreement(
    reference_s: ArrayLike,
    counted: ArrayLike,
    detected_s: ArrayLike,
    tolerance_s: float = 1.0,
) -> Agreement:
    """Sensitivity/precision/F1 of detections against reference events.

    ``counted`` flags the reference events that must be found (e.g. sensor-visible movements). A
    detection matching an uncounted reference event is neither right nor wrong (``neutral``).
    """
    ref = np.asarray(reference_s, dtype=np.float64)
    cnt = np.asarray(counted, dtype=bool)
    det = np.asarray(detected_s, dtype=np.float64)
    pairs = match_onsets(ref, det, tolerance_s)
    matched_ref = pairs[:, 0]
    good = cnt[matched_ref]
    tp = int(good.sum())
    neutral = int((~good).sum())
    fp = int(det.size - pairs.shape[0])
    fn = int(cnt.sum() - tp)
    errors = det[pairs[good, 1]] - ref[matched_ref[good]]
    return Agreement(tp, fp, fn, neutral, errors)
