"""Separate virtualenvs with the real ``mlflow`` package, for compatibility tests.

mlflow is never installed into the project's ``.venv`` (its pins fight the other features'
dependencies), so the tests build one venv per supported client line under ``.venv-compat/``
once and run small scripts in it through ``subprocess``:

- ``mlflow3`` (``MLFLOW3``): the newest 3.x, pinned to the same scikit-learn / lightgbm /
  skops / cloudpickle / numpy / pandas versions as ``.venv`` so a model file means the same
  bytes on both sides;
- ``mlflow2`` (``MLFLOW2``): the last 2.x (2.22). It needs pandas < 3, so only the libraries
  whose files must match (scikit-learn, cloudpickle, numpy) are pinned to ``.venv``'s, and
  Starlette < 1 for its scoring server.

A stamp file records the pins a venv was built with; a build that failed half-way leaves no
stamp and is retried. Run ``python tests/models/mlflow_env.py [mlflow3|mlflow2]`` to build ahead
of the tests.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMPAT = ROOT / ".venv-compat"


@dataclass(frozen=True)
class MlflowVenv:
    name: str
    spec: str
    pinned: tuple[str, ...]
    extra: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return COMPAT / self.name

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    @property
    def stamp(self) -> Path:
        return self.path / "clew-stamp.json"

    def requirements(self) -> list[str]:
        reqs = [self.spec, *self.extra]
        for dist in self.pinned:
            try:
                reqs.append(f"{dist}=={importlib.metadata.version(dist)}")
            except importlib.metadata.PackageNotFoundError:
                continue
        return reqs

    def is_ready(self) -> bool:
        if not self.stamp.is_file() or not self.python.is_file():
            return False
        try:
            return bool(json.loads(self.stamp.read_text())["requirements"] == self.requirements())
        except (ValueError, KeyError):
            return False

    def build(self, timeout: float = 1200) -> tuple[bool, str]:
        """Create the venv if needed; returns (ready, log tail). Safe to call again after a
        failure, and from several test workers at once: the first builds under a lock."""
        if self.is_ready():
            return True, "already built"
        COMPAT.mkdir(parents=True, exist_ok=True)
        with open(COMPAT / f"{self.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._build_locked(timeout)

    def _build_locked(self, timeout: float) -> tuple[bool, str]:
        if self.is_ready():
            return True, "built by another worker"
        self.stamp.unlink(missing_ok=True)
        reqs = self.requirements()
        try:
            if not self.python.is_file():
                subprocess.run(
                    [sys.executable, "-m", "venv", str(self.path)], check=True, timeout=300
                )
            proc = subprocess.run(
                [
                    str(self.python),
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    *reqs,
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return False, str(exc)
        if proc.returncode != 0:
            return False, (proc.stdout + proc.stderr)[-3000:]
        self.stamp.write_text(json.dumps({"requirements": reqs}))
        return True, "built"

    def version(self) -> str:
        return str(self.run("import json, mlflow; print(json.dumps(mlflow.__version__))"))

    def run(
        self,
        script: str,
        *args: str,
        timeout: float = 300,
        tracking_uri: str = "",
        env: dict[str, str] | None = None,
    ) -> Any:
        """Run ``script`` in this venv; it must print one JSON document as its last line.

        The project's ``src`` is not on the path there: what mlflow loads, it loads on its
        own. ``tracking_uri`` points the client at a server; by default it can reach none.
        """
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))
        }
        full_env["MLFLOW_TRACKING_URI"] = tracking_uri or "file:///nonexistent-clew-test"
        full_env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"  # a failing call fails the test at once
        full_env["PYTHONWARNINGS"] = "ignore"
        full_env.update(env or {})
        proc = subprocess.run(
            [str(self.python), "-c", textwrap.dedent(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"mlflow script failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        return json.loads(lines[-1])


MLFLOW3 = MlflowVenv(
    "mlflow3",
    "mlflow>=3,<4",
    ("scikit-learn", "lightgbm", "skops", "cloudpickle", "numpy", "pandas"),
)
#: MLflow 2.22's scoring server (``mlflow models serve``) calls Starlette's ``app.route``, which
#: Starlette 1.x removed; its own pins admit 1.x.
MLFLOW2 = MlflowVenv(
    "mlflow2",
    "mlflow>=2.22,<3",
    ("scikit-learn", "cloudpickle", "numpy"),
    extra=("starlette<1",),
)
VENVS = {venv.name: venv for venv in (MLFLOW3, MLFLOW2)}

# The 3.x venv's functions, as the model-format tests call them.
VENV = MLFLOW3.path
build = MLFLOW3.build
run = MLFLOW3.run
is_ready = MLFLOW3.is_ready


if __name__ == "__main__":
    chosen = [VENVS[name] for name in sys.argv[1:]] or list(VENVS.values())
    failed = False
    for venv in chosen:
        ok, log = venv.build()
        print(f"{venv.name}: " + ("ready" if ok else f"failed:\n{log}"))
        failed |= not ok
    sys.exit(1 if failed else 0)
