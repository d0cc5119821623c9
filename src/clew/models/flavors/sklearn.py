"""The ``sklearn`` flavor: skops by default, pickle/cloudpickle only when asked or unavoidable.

skops stores an estimator as data plus a list of the types it needs; loading refuses any type
not on the *loader's* trusted list. That list is never read from the model (MLflow once did, and
a crafted MLmodel whitelisted ``posix.system``: GHSA-w582-9x45-8mpx): Clew trusts skops' own
defaults, the few scikit-learn internals in ``TRUSTED_TYPES``, and whatever the caller passes as
``skops_trusted_types``. The MLmodel's ``skops_trusted_types`` key is written only so MLflow can
load the file.

``serialization_format="auto"`` (the default) uses skops when the model needs no type beyond
that list, else cloudpickle, logged and recorded as ``serialization_format: cloudpickle`` so the
loader treats it as code (digest-verified, or ``trust=True``).
"""

from __future__ import annotations

import logging
import pickle
import sys
from pathlib import Path
from typing import Any

from clew.core.errors import InvalidInput, UntrustedModel
from clew.models import pickling
from clew.models.env import ENV_CONFIG
from clew.models.files import ModelDir
from clew.models.flavors.base import MethodPredictor, SavedFlavor

log = logging.getLogger(__name__)

SKOPS_FILE = "model.skops"
PICKLE_FILE = "model.pkl"
FORMATS = ("skops", "cloudpickle", "pickle")
#: scikit-learn's own compiled types that skops does not trust by default but are plain data.
TRUSTED_TYPES: tuple[str, ...] = ("sklearn.tree._tree.Tree",)


class SklearnFlavor:
    name = "sklearn"
    loader_modules = ("mlflow.sklearn",)
    priority = 50

    def __init__(self, trusted_types: tuple[str, ...] = TRUSTED_TYPES) -> None:
        self.trusted_types = trusted_types

    def can_save(self, obj: Any) -> bool:
        if "sklearn" not in sys.modules:  # nothing can be an estimator before sklearn is imported
            return False
        from sklearn.base import BaseEstimator

        return isinstance(obj, BaseEstimator)

    def save(
        self,
        obj: Any,
        path: Path,
        *,
        serialization_format: str = "auto",
        predict_fn: str = "predict",
        **opts: Any,
    ) -> SavedFlavor:
        if opts:
            raise InvalidInput(f"Unknown sklearn options: {sorted(opts)}")
        if serialization_format not in (*FORMATS, "auto"):
            raise InvalidInput(f"serialization_format must be one of {FORMATS} or 'auto'")
        import sklearn

        fmt, data, untrusted = self._serialize(obj, serialization_format)
        filename = SKOPS_FILE if fmt == "skops" else PICKLE_FILE
        (path / filename).write_bytes(data)
        config = {
            "code": None,
            "pickled_model": filename,
            "serialization_format": fmt,
            "sklearn_version": sklearn.__version__,
            "skops_trusted_types": untrusted or None,
        }
        pyfunc = None
        predict = getattr(obj, predict_fn, None)
        if callable(predict):
            pyfunc = {
                "env": dict(ENV_CONFIG),
                "loader_module": "mlflow.sklearn",
                "model_path": filename,
                "predict_fn": predict_fn,
                "python_version": _python_version(),
            }
        extra = ("skops",) if fmt == "skops" else ("cloudpickle",) if fmt == "cloudpickle" else ()
        return SavedFlavor(config, pyfunc, ("scikit-learn", "numpy", "scipy", *extra), predict)

    def _serialize(self, obj: Any, fmt: str) -> tuple[str, bytes, list[str]]:
        if fmt in ("skops", "auto"):
            import skops.io

            try:
                data = skops.io.dumps(obj)
            except Exception as exc:  # skops raises many kinds for what it cannot represent
                if fmt == "skops":
                    raise InvalidInput(f"skops cannot serialize this model: {exc}") from exc
                log.warning("skops cannot represent %s (%s); saving with cloudpickle", obj, exc)
            else:
                untrusted = skops.io.get_untrusted_types(data=data)
                if fmt == "skops" or not set(untrusted) - set(self.trusted_types):
                    return "skops", data, list(untrusted)
                log.warning(
                    "skops would need untrusted types %s for %s; saving with cloudpickle",
                    untrusted,
                    type(obj).__name__,
                )
            fmt = "cloudpickle"
        if fmt == "cloudpickle":
            return fmt, pickling.dumps(obj), []
        return fmt, pickle.dumps(obj), []

    def data_files(self, config: dict[str, Any]) -> list[str]:
        return [str(config.get("pickled_model") or PICKLE_FILE)]

    def load(self, model: ModelDir, config: dict[str, Any]) -> Any:
        fmt = str(config.get("serialization_format") or "pickle")
        rel = str(config.get("pickled_model") or PICKLE_FILE)
        if fmt == "skops":
            import skops.io
            from skops.io.exceptions import UntrustedTypesFoundException

            data = model.read_bytes(rel, executes_code=False)
            allowed = set(self.trusted_types) | set(model.skops_trusted_types)
            try:  # skops audits the whole tree against ``allowed`` before constructing anything
                return skops.io.loads(data, trusted=sorted(allowed))
            except UntrustedTypesFoundException:
                refused = sorted(set(skops.io.get_untrusted_types(data=data)) - allowed)
            raise UntrustedModel(
                f"The skops file needs types Clew does not trust: {refused}. Pass them in "
                "skops_trusted_types= if you have checked them.",
                types=refused,
            )
        if fmt not in ("pickle", "cloudpickle"):
            raise InvalidInput(f"Unknown sklearn serialization_format {fmt!r}")
        return pickling.loads(model.read_bytes(rel, executes_code=True))

    def pyfunc(self, model: ModelDir, config: dict[str, Any]) -> MethodPredictor:
        """``config`` is the sklearn block merged over the python_function one (``predict_fn``)."""
        return MethodPredictor(self.load(model, config), str(config.get("predict_fn") or "predict"))


def _python_version() -> str:
    import platform

    return platform.python_version()


flavor = SklearnFlavor()
