"""What an import did: per kind of object, how many were copied and how many skipped, and why.

An importer's report is its contract with the person running it: a second run that changes
nothing must say so (every object "skipped: already imported"), and nothing may vanish
silently (a deleted run left out, a file missing in the source's store, a version whose
source lies outside what was imported). So every object the importer looks at lands in
exactly one count here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ALREADY = "already imported"

#: The kinds in report order.
KINDS = (
    "experiments",
    "runs",
    "metric points",
    "datasets",
    "artifacts",
    "logged models",
    "registered models",
    "model versions",
    "aliases",
    "stages",
)


@dataclass
class Summary:
    copied: Counter[str] = field(default_factory=Counter)
    skipped: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    #: Called after each copy or skip of a run, logged model or version (progress bars).
    on_item: Callable[[str], None] | None = None
    #: Called with how many more such items the import found (a progress bar's total grows).
    on_found: Callable[[int], None] | None = None

    def copy(self, kind: str, n: int = 1) -> None:
        self.copied[kind] += n

    def skip(self, kind: str, why: str, n: int = 1) -> None:
        if n:
            self.skipped[kind][why] += n

    def tick(self, label: str) -> None:
        if self.on_item is not None:
            self.on_item(label)

    def found(self, n: int) -> None:
        if self.on_found is not None and n:
            self.on_found(n)

    @property
    def copied_anything(self) -> bool:
        return any(self.copied.values())

    def rows(self) -> list[tuple[str, int, int, str]]:
        """(kind, copied, skipped, why) for every kind that saw anything, in report order."""
        out = []
        kinds = list(KINDS) + sorted((set(self.copied) | set(self.skipped)) - set(KINDS))
        for kind in kinds:
            reasons = self.skipped.get(kind, Counter())
            if not self.copied[kind] and not reasons:
                continue
            why = "; ".join(f"{n} {reason}" for reason, n in reasons.most_common())
            out.append((kind, self.copied[kind], sum(reasons.values()), why))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "copied": {k: n for k, n in self.copied.items() if n},
            "skipped": {k: dict(v) for k, v in self.skipped.items() if v},
        }
