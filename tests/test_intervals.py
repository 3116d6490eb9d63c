"""The shared interval arithmetic (half-open [start, end) seconds)."""

import numpy as np

from legwatch.intervals import complement, inside, intersect, merge, overlap_s, subtract, total


def test_merge_sorts_joins_and_drops_empty() -> None:
    assert merge([(5, 7), (0, 2), (2, 3), (4, 4), (6, 9)]) == [(0, 3), (5, 9)]


def test_subtract_complement_intersect_total() -> None:
    assert subtract([(0, 10)], [(2, 3), (5, 12)]) == [(0, 2), (3, 5)]
    assert complement([(-1, 1), (4, 6)], 0, 8) == [(1, 4), (6, 8)]
    assert complement([], 3, 3) == []
    assert intersect([(0, 5), (8, 10)], [(4, 9)]) == [(4, 5), (8, 9)]
    assert total([(0, 2), (5, 9)]) == 6.0
    assert overlap_s([(0, 2), (5, 9)], 1, 6) == 2.0


def test_inside_is_half_open() -> None:
    assert inside(np.array([0.0, 1.0, 2.0, 5.0]), [(0, 2), (5, 6)]).tolist() == [
        True, True, False, True,
    ]  # fmt: skip
