"""docs/models.md covers every public name of ``clew.models`` and every built-in flavor."""

from __future__ import annotations

from pathlib import Path

import clew.models
from clew.models import flavors

DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def test_every_public_name_is_documented() -> None:
    text = DOC.read_text()
    assert [n for n in clew.models.__all__ if f"`{n}" not in text] == []


def test_every_builtin_flavor_is_documented() -> None:
    text = DOC.read_text()
    assert [n for n in flavors() if f"`{n}`" not in text] == []
