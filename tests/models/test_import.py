"""``import clew.models`` stays light: no ML library, pandas or YAML parser until used."""

from __future__ import annotations

import json
import subprocess
import sys


def test_import_loads_no_heavy_library() -> None:
    code = (
        "import sys, json, clew.models\n"
        "heavy = ['numpy', 'pandas', 'sklearn', 'lightgbm', 'skops', 'cloudpickle', 'yaml']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
