"""Five-field cron: the grammar, its errors, and next fire times across month and leap-year
edges, checked against times worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clew.core.errors import InvalidInput
from clew.pipelines import cron


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("* * * * *", "2026-12-04 10:15:30", "2026-12-04 10:16"),
        ("*/15 * * * *", "2026-12-04 10:15:00", "2026-12-04 10:30"),
        ("10-50/20 * * * *", "2026-12-04 10:31", "2026-12-04 10:50"),
        ("0 2 * * *", "2026-12-04 02:00", "2026-12-05 02:00"),
        ("@hourly", "2026-12-04 10:59", "2026-12-04 11:00"),
        ("@daily", "2026-12-31 23:59", "2027-01-01 00:00"),
        ("@monthly", "2026-01-31 12:00", "2026-02-01 00:00"),
        ("0 9 * * mon-fri", "2026-12-04 09:00", "2026-12-07 09:00"),  # a Friday → Monday
        ("0 0 * * 7", "2026-12-04 00:00", "2026-12-06 00:00"),  # 7 is Sunday too
        ("0 0 29 2 *", "2026-03-01 00:00", "2028-02-29 00:00"),
        ("0 0 31 * *", "2026-04-01 00:00", "2026-05-31 00:00"),  # April has no 31st
        ("0 0 1,15 jan,jul *", "2026-01-15 00:00", "2026-07-01 00:00"),
        # Both day fields restricted: either matches (the 13th, or any Friday).
        ("0 0 13 * fri", "2026-12-04 00:00", "2026-12-11 00:00"),
        ("0 0 13 * fri", "2026-12-11 00:00", "2026-12-13 00:00"),
    ],
)
def test_next_fire_times(expression: str, after: str, expected: str) -> None:
    assert cron.parse(expression).next_after(_at(after)) == _at(expected)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "five fields"),
        ("* * * *", "it needs five"),
        ("60 * * * *", "outside the minute range"),
        ("* 24 * * *", "outside the hour range"),
        ("* * 0 * *", "outside the day of month range"),
        ("* * * 13 *", "outside the month range"),
        ("* * * * 8", "outside the day of week range"),
        ("*/0 * * * *", "step must be at least 1"),
        ("5-1 * * * *", "outside"),
        ("x * * * *", "not a valid minute"),
        ("* * * foo *", "not a valid month"),
        ("0 0 30 2 *", "never matches"),
    ],
)
def test_bad_expressions_name_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        cron.parse(expression)
