"""Inter-movement intervals (IMIs) and PLM series, in integer microseconds.

A series is a run of at least ``min_length`` consecutive eligible movements (CLMs) whose IMIs,
onset to onset, all lie in [imi_min, imi_max] inclusive. Decisions (scoring-rules.md):

- a CLM whose IMI is out of range ends the running series and is not part of it, but it starts
  the next candidate run (PLMScoRe and MATPLM; SOMAS does not allow this);
- a movement that is not eligible ends the running series and starts nothing;
- an IMI across the boundary of two analysable intervals is undefined: the boundary ends the
  running series, and the first movement after it starts a new run;
- the run still open when the movements end is kept if long enough (SOMAS loses it).
"""

from __future__ import annotations

from collections.abc import Sequence


def imis_us(onset_us: Sequence[int], segment: Sequence[int]) -> list[int | None]:
    """Onset-to-onset interval to the previous movement in the same segment, None at a start.

    Parameters
    ----------
    onset_us : sequence of int
        Onsets in microseconds, sorted within each segment.
    segment : sequence of int
        Analysable interval index of each movement.
    """
    out: list[int | None] = []
    for k, on in enumerate(onset_us):
        if k == 0 or segment[k] != segment[k - 1]:
            out.append(None)
        else:
            out.append(on - onset_us[k - 1])
    return out


def find_series(
    imi_us: Sequence[int | None],
    eligible: Sequence[bool],
    *,
    imi_min_us: int,
    imi_max_us: int,
    min_length: int,
) -> list[list[int]]:
    """Positions of the movements in each PLM series.

    Parameters
    ----------
    imi_us : sequence of int or None
        IMI of each movement to the one before it (None where undefined), microseconds.
    eligible : sequence of bool
        Whether each movement may belong to a series (a CLM; under PLMS-nr, a CLM not
        associated with a respiratory event). An ineligible movement ends the running series.
    imi_min_us, imi_max_us : int
        Inclusive IMI bounds in microseconds.
    min_length : int
        Fewest movements in a series.

    Returns
    -------
    list of list of int
        One list of positions (into the inputs) per series, in order.
    """
    series: list[list[int]] = []
    run: list[int] = []

    def close() -> None:
        if len(run) >= min_length:
            series.append(list(run))
        run.clear()

    for k, ok in enumerate(eligible):
        if not ok:
            close()
            continue
        imi = imi_us[k]
        if run and imi is not None and imi_min_us <= imi <= imi_max_us:
            run.append(k)
        else:
            close()
            run.append(k)
    close()
    return series
