"""The environment files: pinned installed versions, MLflow's python_env/conda shapes."""

from __future__ import annotations

import importlib.metadata
import platform
from pathlib import Path
from typing import Any

import yaml

from clew.models import save_model


def test_requirements_pin_installed_versions(sk_logreg: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m")
    reqs = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert f"scikit-learn=={importlib.metadata.version('scikit-learn')}" in reqs
    assert f"skops=={importlib.metadata.version('skops')}" in reqs
    assert not any(r.startswith("cloudpickle") for r in reqs)


def test_python_env_points_at_requirements(sk_logreg: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m")
    env = yaml.safe_load((tmp_path / "m" / "python_env.yaml").read_text())
    assert env["python"] == platform.python_version()
    assert env["dependencies"] == ["-r requirements.txt"]


def test_conda_env_lists_the_same_pins(sk_logreg: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m")
    conda = yaml.safe_load((tmp_path / "m" / "conda.yaml").read_text())
    reqs = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert conda["dependencies"][0] == f"python={platform.python_version()}"
    assert conda["dependencies"][-1] == {"pip": reqs}


def test_explicit_requirements_replace_pins(sk_logreg: Any, tmp_path: Path) -> None:
    save_model(sk_logreg, tmp_path / "m", pip_requirements=["scikit-learn>=1.3"])
    assert (tmp_path / "m" / "requirements.txt").read_text() == "scikit-learn>=1.3"
