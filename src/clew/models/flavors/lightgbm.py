"""The ``lightgbm`` flavor: a ``Booster`` as LightGBM's own text format, the scikit-learn API
models (``LGBMClassifier`` …) through the sklearn flavor's skops path.

The text format is data only (no pickle), so a Booster loads without any trust decision. The
sklearn wrappers carry a Booster inside; skops represents them with a handful of LightGBM types,
which this flavor trusts explicitly (``TRUSTED_TYPES``), never the list in the file.
Checked before the sklearn flavor (lower priority number): an ``LGBMClassifier`` is also a
scikit-learn estimator, and MLflow files it under ``lightgbm``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from clew.core.errors import InvalidInput
from clew.models.env import ENV_CONFIG
from clew.models.files import ModelDir
from clew.models.flavors.base import MethodPredictor, SavedFlavor
from clew.models.flavors.sklearn import SklearnFlavor

BOOSTER_FILE = "model.lgb"
BOOSTER_CLASS = "lightgbm.basic.Booster"
TRUSTED_TYPES: tuple[str, ...] = (
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMModel",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "lightgbm.sklearn.LGBMRanker",
)


class LightGBMFlavor:
    name = "lightgbm"
    loader_modules = ("mlflow.lightgbm",)
    priority = 10

    def __init__(self) -> None:
        self._sklearn = SklearnFlavor(trusted_types=TRUSTED_TYPES)

    def can_save(self, obj: Any) -> bool:
        if "lightgbm" not in sys.modules:
            return False
        import lightgbm

        return isinstance(obj, lightgbm.Booster | lightgbm.LGBMModel)

    def save(
        self, obj: Any, path: Path, *, serialization_format: str = "skops", **opts: Any
    ) -> SavedFlavor:
        if opts:
            raise InvalidInput(f"Unknown lightgbm options: {sorted(opts)}")
        import lightgbm

        cls = f"{type(obj).__module__}.{type(obj).__qualname__}"
        config: dict[str, Any] = {"code": None, "lgb_version": lightgbm.__version__}
        if isinstance(obj, lightgbm.Booster):
            (path / BOOSTER_FILE).write_text(obj.model_to_string())
            config |= {"data": BOOSTER_FILE, "model_class": BOOSTER_CLASS}
            config |= {"serialization_format": None, "skops_trusted_types": None}
            extra: tuple[str, ...] = ()
        else:
            saved = self._sklearn.save(obj, path, serialization_format=serialization_format)
            config |= {
                "data": saved.config["pickled_model"],
                "model_class": cls,
                "serialization_format": saved.config["serialization_format"],
                "skops_trusted_types": saved.config["skops_trusted_types"],
            }
            extra = ("scikit-learn", *saved.requirements[3:])
        pyfunc = {
            "data": config["data"],
            "env": dict(ENV_CONFIG),
            "loader_module": "mlflow.lightgbm",
            "python_version": _python_version(),
        }
        return SavedFlavor(config, pyfunc, ("lightgbm", "numpy", "scipy", *extra), obj.predict)

    def data_files(self, config: dict[str, Any]) -> list[str]:
        return [str(config.get("data") or BOOSTER_FILE)]

    def load(self, model: ModelDir, config: dict[str, Any]) -> Any:
        rel = str(config.get("data") or BOOSTER_FILE)
        if config.get("model_class", BOOSTER_CLASS) == BOOSTER_CLASS:
            import lightgbm

            text = model.read_bytes(rel, executes_code=False).decode("utf-8")
            return lightgbm.Booster(model_str=text)
        fmt = config.get("serialization_format") or "cloudpickle"
        return self._sklearn.load(model, {"pickled_model": rel, "serialization_format": fmt})

    def pyfunc(self, model: ModelDir, config: dict[str, Any]) -> MethodPredictor:
        return MethodPredictor(self.load(model, config))


def _python_version() -> str:
    import platform

    return platform.python_version()


flavor = LightGBMFlavor()
