"""Properties of the chart downsampling (``tracking.downsample``): bounded, ordered, and the
points a reader looks for (ends, extremes, NaN) always kept."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clew.tracking.downsample import MIN_POINTS, keep

values = st.lists(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        st.sampled_from([math.nan, math.inf, -math.inf]),
    ),
    min_size=0,
    max_size=3000,
)


@settings(max_examples=300, deadline=None)
@given(values, st.integers(MIN_POINTS, 500))
def test_bounded_ordered_and_the_telling_points_kept(ys: list[float], max_points: int) -> None:
    kept = keep(ys, max_points)
    idx = kept.indexes.tolist()
    assert len(idx) <= max_points
    assert idx == sorted(set(idx)), "ascending, no repeats: x stays in order"
    assert kept.downsampled == (len(ys) > max_points)
    if not ys:
        assert idx == []
        return
    assert idx[0] == 0 and idx[-1] == len(ys) - 1
    picked = [ys[i] for i in idx]
    finite_or_inf = [y for y in ys if not math.isnan(y)]
    if finite_or_inf:
        assert min(finite_or_inf) in picked
        assert max(finite_or_inf) in picked
    if any(math.isnan(y) for y in ys):
        assert any(math.isnan(y) for y in picked)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2000), st.integers(MIN_POINTS, 300))
def test_every_bucket_keeps_its_extremes(n: int, max_points: int) -> None:
    rng = np.random.default_rng(n)
    ys = rng.normal(size=n)
    kept = keep(ys, max_points)
    if n <= max_points:
        assert kept.indexes.tolist() == list(range(n))
    else:
        assert len(kept.indexes) <= max_points
        assert int(np.argmin(ys)) in kept.indexes and int(np.argmax(ys)) in kept.indexes


def test_a_spike_in_a_million_points_survives() -> None:
    ys = np.sin(np.linspace(0, 20, 1_000_000))
    ys[654_321] = 50.0
    ys[123_456] = math.nan
    kept = keep(ys, 1000)
    assert len(kept.indexes) <= 1000 and kept.downsampled
    assert 654_321 in kept.indexes and 123_456 in kept.indexes


def test_too_few_points_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        keep([1.0, 2.0], MIN_POINTS - 1)
