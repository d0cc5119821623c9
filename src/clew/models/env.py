"""The environment files MLflow writes beside a model, so ``mlflow models serve --env-manager
virtualenv`` (and Clew's serving) can rebuild what the model needs.

``requirements.txt`` pins the installed versions of the flavor's packages; ``python_env.yaml``
names the Python version and points at it; ``conda.yaml`` says the same for conda users.
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Iterable
from pathlib import Path

REQUIREMENTS = "requirements.txt"
PYTHON_ENV = "python_env.yaml"
CONDA_ENV = "conda.yaml"
ENV_CONFIG = {"conda": CONDA_ENV, "virtualenv": PYTHON_ENV}


def pinned(distributions: Iterable[str]) -> list[str]:
    """``name==version`` for each installed distribution; ones not installed are left out."""
    out: list[str] = []
    for dist in distributions:
        try:
            out.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _version(dist: str, default: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return default


def write_environment(directory: Path, requirements: list[str]) -> None:
    """Write the three environment files for ``requirements`` (already pinned or user-given)."""
    import yaml

    python = platform.python_version()
    pip = _version("pip", "24.0")
    (directory / REQUIREMENTS).write_text("\n".join(requirements))
    python_env = {
        "python": python,
        "build_dependencies": [
            f"pip=={pip}",
            f"setuptools=={_version('setuptools', '68.0')}",
            "wheel",
        ],
        "dependencies": [f"-r {REQUIREMENTS}"],
    }
    (directory / PYTHON_ENV).write_text(yaml.safe_dump(python_env, sort_keys=False))
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", f"pip<={pip}", {"pip": requirements}],
        "name": "clew-env",
    }
    (directory / CONDA_ENV).write_text(yaml.safe_dump(conda, sort_keys=False))
