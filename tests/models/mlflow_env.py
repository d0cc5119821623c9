"""A separate virtualenv with the real ``mlflow`` 3.x, for both-ways format compatibility tests.

mlflow is never installed into the project's ``.venv`` (its pins fight the other features'
dependencies), so the tests build one venv under ``.venv-compat/mlflow3/`` once, pinned to the
same scikit-learn / lightgbm / skops / cloudpickle versions as ``.venv`` so a model file means
the same bytes on both sides, and run small scripts in it through ``subprocess``.

A stamp file records the pins the venv was built with; a build that failed half-way leaves no
stamp and is retried. Run ``python tests/models/mlflow_env.py`` to build it ahead of the tests.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-compat" / "mlflow3"
STAMP = VENV / "clew-stamp.json"
PINNED = ("scikit-learn", "lightgbm", "skops", "cloudpickle", "numpy", "pandas")


def _python() -> Path:
    return VENV / "bin" / "python"


def wanted_requirements() -> list[str]:
    """mlflow 3.x plus the exact versions of the model libraries installed in this venv."""
    reqs = ["mlflow>=3,<4"]
    for dist in PINNED:
        try:
            reqs.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return reqs


def is_ready() -> bool:
    if not STAMP.is_file() or not _python().is_file():
        return False
    try:
        return bool(json.loads(STAMP.read_text())["requirements"] == wanted_requirements())
    except (ValueError, KeyError):
        return False


def build(timeout: float = 1200) -> tuple[bool, str]:
    """Create the venv if needed; returns (ready, log tail). Safe to call again after failure,
    and from several test workers at once: the first builds under a lock, the rest wait."""
    if is_ready():
        return True, "already built"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "mlflow3.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_locked(timeout)


def _build_locked(timeout: float) -> tuple[bool, str]:
    if is_ready():
        return True, "built by another worker"
    STAMP.unlink(missing_ok=True)
    reqs = wanted_requirements()
    try:
        if not _python().is_file():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
        proc = subprocess.run(
            [str(_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check", *reqs],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    if proc.returncode != 0:
        return False, (proc.stdout + proc.stderr)[-3000:]
    STAMP.write_text(json.dumps({"requirements": reqs}))
    return True, "built"


def run(script: str, *args: str, timeout: float = 300, tracking_uri: str = "") -> Any:
    """Run ``script`` in the mlflow venv; it must print one JSON document as its last line.

    The project's ``src`` is not on the path there: what mlflow loads, it loads on its own.
    ``tracking_uri`` points the client at a server (a Clew server, in the compatibility suite);
    by default it can reach none.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["MLFLOW_TRACKING_URI"] = tracking_uri or "file:///nonexistent-clew-test"
    env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"  # a failing call fails the test at once
    env["PYTHONWARNINGS"] = "ignore"
    proc = subprocess.run(
        [str(_python()), "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"mlflow script failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1])


if __name__ == "__main__":
    ok, log = build()
    print("ready" if ok else f"failed:\n{log}")
    sys.exit(0 if ok else 1)
