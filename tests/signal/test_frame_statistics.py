"""The front end's fast window statistics give numpy's own results, bit for bit.

The shipped classifier was trained on frames computed with numpy's medians and sums; the faster
statistics must not move a single bit of them (the model and every accuracy figure rest on it).
"""

import warnings

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from legwatch.signal.frames import (
    _dot,
    _median_axis1,
    _sq_norm_rows,
    _sq_step,
    _trailing_median,
    _window_sum,
)


def _awkward(rng: np.random.Generator, n: int, cols: int) -> np.ndarray:
    """Values with ties, zeros, NaN runs (a segment's start, a re-acquisition) and lone NaN."""
    x = rng.normal(size=(n, cols)) * rng.choice([1e-3, 1.0, 30.0], size=(n, 1))
    x[rng.random((n, cols)) < 0.15] = np.round(x.mean(), 2)  # one value tied many times
    x[rng.integers(0, n, size=n // 20)] = 0.0
    start = int(rng.integers(0, n // 2 - 80))
    x[start : start + int(rng.integers(61, 80))] = np.nan  # a run longer than every window
    start = int(rng.integers(n // 2, n - 20))
    x[start : start + int(rng.integers(1, 20))] = np.nan  # and a shorter one
    x[rng.random((n, cols)) < 0.01] = np.nan
    return x


@pytest.mark.parametrize("w", [1, 2, 5, 15, 24, 60])
@pytest.mark.parametrize("cols", [1, 3])
def test_trailing_median_is_numpys_nanmedian(w: int, cols: int) -> None:
    rng = np.random.default_rng(100 * w + cols)
    for _ in range(5):
        x = _awkward(rng, 400, cols)
        seq = x[:, 0] if cols == 1 else x
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
            want = np.nanmedian(sliding_window_view(seq, w, axis=0), axis=-1)
        got = _trailing_median(seq, w)
        assert got.shape == want.shape
        assert got.tobytes() == want.tobytes()
        assert np.isnan(got).any()  # the all-NaN windows were exercised


def test_trailing_median_of_too_few_rows_is_empty() -> None:
    assert _trailing_median(np.ones(5), 6).shape == (0,)
    assert _trailing_median(np.ones((5, 3)), 6).shape == (0, 3)


@pytest.mark.parametrize("w", [1, 5, 60])
def test_window_sum_is_numpys_sum(w: int) -> None:
    rng = np.random.default_rng(w)
    seq = rng.normal(size=(700, 3, 3)) * rng.uniform(1e-6, 1e3, size=(700, 1, 1))
    want = sliding_window_view(seq, w, axis=0).sum(axis=-1)
    assert _window_sum(seq, w).tobytes() == want.tobytes()


def test_row_dot_products_are_numpys() -> None:
    rng = np.random.default_rng(7)
    u = rng.normal(size=(5000, 3)) * rng.uniform(1e-6, 10.0, size=(5000, 1))
    v = rng.normal(size=(5000, 3))
    assert _dot(u, v).tobytes() == (u * v).sum(axis=1).tobytes()
    assert _sq_norm_rows(u.T.copy()).tobytes() == (u * u).sum(axis=1).tobytes()
    assert np.sqrt(_sq_norm_rows(u.T.copy())).tobytes() == np.linalg.norm(u, axis=1).tobytes()


def test_channels_first_sample_sums_are_numpys_on_n_by_3() -> None:
    """Samples are held (3, n); their steps and frame sums equal numpy's on the (n, 3) array."""
    rng = np.random.default_rng(8)
    a = rng.normal(size=(6000, 3)) * rng.uniform(1e-6, 10.0, size=(6000, 1)) + [0.1, -0.3, 0.9]
    x = np.ascontiguousarray(a.T)
    prev = rng.normal(size=3)
    steps = np.diff(a, axis=0, prepend=prev[None, :])
    assert _sq_step(x, prev).tobytes() == (steps * steps).sum(axis=1).tobytes()
    starts = np.flatnonzero(rng.random(6000) < 0.1)  # frames of 1 to about 60 samples
    starts[0] = 0
    want = np.add.reduceat(a, starts, axis=0)
    assert np.add.reduceat(x, starts, axis=1).T.tobytes(order="C") == want.tobytes()
    assert np.add.reduceat(x[:, 7:], starts[1:] - 7, axis=1).T.tobytes(order="C") == (
        np.add.reduceat(a[7:], starts[1:] - 7, axis=0).tobytes()
    )


@pytest.mark.parametrize("m", [4, 5])  # the still window: 5 blocks by default, 4 at 4 s
def test_median_over_blocks_is_numpys_median(m: int) -> None:
    rng = np.random.default_rng(m)
    x = rng.normal(size=(300, m, 3))
    x[rng.random(x.shape) < 0.2] = 0.5  # ties
    x[rng.random(x.shape) < 0.02] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.median(x, axis=1)
    got = _median_axis1(x)
    assert np.isnan(got).any() and not np.isnan(got).all()
    assert got.tobytes() == want.tobytes()
