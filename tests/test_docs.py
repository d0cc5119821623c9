"""The docs cover what users can reach: every CLI command, every setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clew.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_generated_from_help(tmp_path: Path) -> None:
    out = tmp_path / "cli.md"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "typer",
            "clew.cli.main",
            "utils",
            "docs",
            "--name",
            "clew",
            "--output",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert out.read_text() == (ROOT / "docs" / "cli.md").read_text(), (
        "docs/cli.md is stale: run `make docs`"
    )


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    missing = [
        f"CLEW_{name.upper()}"
        for name in Settings.model_fields
        if f"`CLEW_{name.upper()}`" not in text
    ]
    assert not missing, f"document these in docs/settings.md: {missing}"
