"""Five-field cron expressions (``minute hour day-of-month month day-of-week``), in UTC.

The grammar every cron user knows: ``*``, numbers, ranges ``1-5``, lists ``1,15``, steps
``*/15`` and ``10-50/20``, month and weekday names (``jan``, ``mon``), ``7`` as Sunday, and the
shorthands ``@hourly``, ``@daily``, ``@weekly``, ``@monthly``, ``@yearly``. As in Vixie cron,
when both day fields are restricted a day matches if either does.

Times are UTC so that several server replicas in different zones agree on when a schedule
fires; ``next_after`` walks whole fields (a month, a day, an hour) rather than every minute,
so even ``0 0 29 2 *`` is found in a few hundred steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from clew.core.errors import InvalidInput

_SHORTHANDS: Final = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_DAYS: Final = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
#: (name, lowest, highest, names) of each field, in order.
_FIELDS: Final[tuple[tuple[str, int, int, dict[str, int]], ...]] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
#: No expression needs more than this many years to match (29 February recurs in 8 at most).
_HORIZON_YEARS: Final = 9


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # the day-of-month field is *
    any_weekday: bool  # the day-of-week field is *

    def _day_matches(self, moment: datetime) -> bool:
        in_month = moment.day in self.days
        in_week = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, after: datetime) -> datetime:
        """The first matching minute strictly after ``after`` (an aware datetime)."""
        moment = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = moment.year + _HORIZON_YEARS
        while moment.year <= limit:
            if moment.month not in self.months:
                year, month = divmod(moment.month, 12)
                moment = moment.replace(year=moment.year + year, month=month + 1, day=1,
                                        hour=0, minute=0)  # fmt: skip
            elif not self._day_matches(moment):
                moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
            elif moment.hour not in self.hours:
                moment = (moment + timedelta(hours=1)).replace(minute=0)
            elif moment.minute not in self.minutes:
                moment += timedelta(minutes=1)
            else:
                return moment
        raise InvalidInput(f"cron {self.expression!r} never matches")


def parse(expression: str) -> Cron:
    """A validated ``Cron``; ``InvalidInput`` names the field that is wrong."""
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidInput("A cron expression is five fields: minute hour day month weekday")
    text = expression.strip().lower()
    text = _SHORTHANDS.get(text, text)
    parts = text.split()
    if len(parts) != 5:
        raise InvalidInput(
            f"cron {expression!r} has {len(parts)} fields; it needs five: "
            "minute hour day-of-month month day-of-week"
        )
    sets = [_field(part, *spec, expression) for part, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in sets[4])
    cron = Cron(
        expression=expression.strip(),
        minutes=frozenset(sets[0]),
        hours=frozenset(sets[1]),
        days=frozenset(sets[2]),
        months=frozenset(sets[3]),
        weekdays=weekdays,
        any_day=parts[2] == "*",
        any_weekday=parts[4] == "*",
    )
    cron.next_after(datetime(2000, 1, 1, tzinfo=UTC))  # refuses "30 2 31 2 *"
    return cron


def _field(
    text: str, name: str, low: int, high: int, names: dict[str, int], expression: str
) -> set[int]:
    found: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = _number(step_text, name, expression) if step_text else 1
        if step < 1:
            raise InvalidInput(f"cron {expression!r}: the {name} step must be at least 1")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = (
                _value(first, names, name, expression),
                _value(last, names, name, expression),
            )
        else:
            start = _value(base, names, name, expression)
            end = high if step_text else start
        if not low <= start <= end <= high:
            raise InvalidInput(
                f"cron {expression!r}: {item!r} is outside the {name} range {low}-{high}"
            )
        found.update(range(start, end + 1, step))
    return found


def _value(text: str, names: dict[str, int], field: str, expression: str) -> int:
    return names[text] if text in names else _number(text, field, expression)


def _number(text: str, field: str, expression: str) -> int:
    if not text.isdigit():
        raise InvalidInput(f"cron {expression!r}: {text!r} is not a valid {field}")
    return int(text)
