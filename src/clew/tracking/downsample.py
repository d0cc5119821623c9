"""Shrink a metric series to at most ``max_points`` for a chart, keeping its shape.

Why min/max per bucket and not LTTB (largest triangle three buckets): a compare chart is where
people look for the spike that broke a run, the loss that went to NaN, the best value reached.
LTTB picks the point of each bucket that makes the largest triangle with its neighbours, which
looks smooth but may drop a bucket's extreme and so the global minimum or maximum. Keeping each
bucket's minimum and its maximum (in x order) draws the same envelope a full-resolution line
would, and it makes guarantees that a test can check: the first and last points, the global
minimum and maximum, every ±Infinity extreme and, where a bucket has one, a NaN point all
survive. It is also one vectorised pass (``numpy.minimum.reduceat``), no per-point Python.

Buckets are by index (equal counts), so the output stays in the input's x order: x is
non-decreasing whenever it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: Fewer than this and there is no room for first, last and one bucket's min, max and NaN.
MIN_POINTS = 5
#: The most points a series may be asked to keep (what a chart can use at 4K width and more).
MAX_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class Kept:
    """The indexes (ascending) of the points a downsampling keeps."""

    indexes: npt.NDArray[np.intp]
    downsampled: bool


def keep(values: Sequence[float] | npt.NDArray[np.float64], max_points: int) -> Kept:
    """Which points of ``values`` (in x order) to draw, at most ``max_points`` of them.

    Each bucket of the interior (all but the first and last point) keeps its least and its
    greatest finite-or-infinite value; when the series has NaN anywhere, each bucket also keeps
    its first NaN, and there are a third fewer buckets so the bound still holds.

    Raises:
        ValueError: ``max_points`` below ``MIN_POINTS``.
    """
    if max_points < MIN_POINTS:
        raise ValueError(f"max_points must be at least {MIN_POINTS}, not {max_points}")
    y = np.asarray(values, dtype=np.float64)
    n = len(y)
    if n <= max_points:
        return Kept(np.arange(n, dtype=np.intp), False)
    nan = np.isnan(y)
    has_nan = bool(nan[1:-1].any())
    per_bucket = 3 if has_nan else 2
    buckets = (max_points - 2) // per_bucket
    interior = n - 2
    # Bucket b covers interior points [starts[b], starts[b + 1]); none is empty (n > buckets).
    starts = 1 + (np.arange(buckets, dtype=np.intp) * interior) // buckets
    # NaN never wins a min or a max: +inf/-inf stand in for it, so a NaN-only bucket keeps
    # an arbitrary point for its min and max, and its NaN through the third pick.
    low = np.where(nan, np.inf, y)
    high = np.where(nan, -np.inf, y)
    picks = [
        _arg_reduce(low, starts, n - 1, np.minimum),
        _arg_reduce(high, starts, n - 1, np.maximum),
    ]
    if has_nan:
        picks.append(_first_true(nan, starts, n - 1))
    chosen = np.concatenate([np.array([0, n - 1], dtype=np.intp), *picks])
    return Kept(np.unique(chosen), True)


def _arg_reduce(
    y: npt.NDArray[np.float64], starts: npt.NDArray[np.intp], end: int, reduce: np.ufunc
) -> npt.NDArray[np.intp]:
    """For each bucket ``[starts[b], starts[b+1])`` (the last ending at ``end``), the index of
    its first point equal to the bucket's ``reduce`` (minimum or maximum)."""
    segment = y[starts[0] : end]
    offsets = starts - starts[0]
    best = reduce.reduceat(segment, offsets)
    owner = np.repeat(np.arange(len(starts)), np.diff(np.append(offsets, len(segment))))
    hits = np.flatnonzero(segment == best[owner])
    # The first hit in each bucket: hits are ascending, so their owners are too.
    first = np.unique(owner[hits], return_index=True)[1]
    return (hits[first] + starts[0]).astype(np.intp)


def _first_true(
    flags: npt.NDArray[np.bool_], starts: npt.NDArray[np.intp], end: int
) -> npt.NDArray[np.intp]:
    """The first flagged index in each bucket that has one."""
    segment = flags[starts[0] : end]
    offsets = starts - starts[0]
    owner = np.repeat(np.arange(len(starts)), np.diff(np.append(offsets, len(segment))))
    hits = np.flatnonzero(segment)
    first = np.unique(owner[hits], return_index=True)[1]
    return (hits[first] + starts[0]).astype(np.intp)
