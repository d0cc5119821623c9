"""The ``python_function`` flavor: a user's Python object with ``predict``, cloudpickled.

The object needs no base class: ``predict(model_input)`` or ``predict(context, model_input)``
(MLflow's ``PythonModel`` shape, ``params=`` optional) and, optionally,
``load_context(context)``. ``context.artifacts`` maps the names given as ``artifacts=`` at save
time to local paths inside the loaded model directory.

For MLflow to load the file with ``loader_module: mlflow.pyfunc.model``, the pickled object must
look like an ``mlflow.pyfunc.PythonModel``. A plain object is therefore saved inside a small
adapter class built at save time; cloudpickle stores such a class by value, so the file needs
neither Clew nor mlflow to unpickle. Clew unwraps the adapter on load. A real
``mlflow.pyfunc.PythonModel`` is pickled as is. The user's own class must be importable where
the model is loaded, or be defined in ``__main__``/a function (then cloudpickle stores it by
value too) — the same rule as MLflow's.
"""

from __future__ import annotations

import inspect
import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clew.core.errors import InvalidInput
from clew.models import pickling
from clew.models.env import ENV_CONFIG
from clew.models.files import ModelDir
from clew.models.flavors.base import SavedFlavor

MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"


@dataclass(frozen=True)
class PythonModelContext:
    """What ``load_context``/``predict`` receive: artifact paths and the model config."""

    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)


def _adapter_class() -> type:
    """A class MLflow's pyfunc loader accepts, wrapping any object with ``predict``.

    Built inside a function on purpose: cloudpickle then serializes it by value.
    """

    class ClewPythonModelAdapter:
        clew_adapter = True

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        @property
        def predict_type_hints(self) -> Any:
            import types

            return types.SimpleNamespace(input=None, output=None)

        def load_context(self, context: Any) -> None:
            self.context = context
            if hasattr(self.inner, "load_context"):
                self.inner.load_context(context)

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            import inspect

            fn = self.inner.predict
            names = [p for p in inspect.signature(fn).parameters if p != "params"]
            kwargs = {"params": params} if params is not None else {}
            if "context" in names or len(names) == 2:
                return fn(context, model_input, **kwargs)
            return fn(model_input, **kwargs)

        def predict_stream(self, context: Any, model_input: Any, params: Any = None) -> Any:
            raise NotImplementedError

    return ClewPythonModelAdapter


def takes_context(fn: Any) -> bool:
    """MLflow's rule: a ``context`` parameter, or two parameters besides ``params``."""
    names = [p for p in inspect.signature(fn).parameters if p not in ("self", "params")]
    return "context" in names or len(names) == 2


@dataclass
class PythonModelPredictor:
    raw: Any
    context: PythonModelContext

    def predict(self, data: Any) -> Any:
        if takes_context(self.raw.predict):
            return self.raw.predict(self.context, data)
        return self.raw.predict(data)


class PythonFunctionFlavor:
    name = "python_function"
    loader_modules = ("mlflow.pyfunc.model",)
    priority = 1000  # the catch-all: anything with a callable predict

    def can_save(self, obj: Any) -> bool:
        return callable(getattr(obj, "predict", None)) and not isinstance(obj, type)

    def save(
        self, obj: Any, path: Path, *, artifacts: dict[str, str] | None = None, **opts: Any
    ) -> SavedFlavor:
        if opts:
            raise InvalidInput(f"Unknown python_function options: {sorted(opts)}")
        to_pickle = obj if pickling.is_mlflow_python_model(obj) else _adapter_class()(obj)
        (path / MODEL_FILE).write_bytes(pickling.dumps(to_pickle))
        import cloudpickle

        config: dict[str, Any] = {
            "cloudpickle_version": cloudpickle.__version__,
            "code": None,
            "env": dict(ENV_CONFIG),
            "loader_module": "mlflow.pyfunc.model",
            "python_model": MODEL_FILE,
            "python_version": platform.python_version(),
            "streamable": False,
        }
        if artifacts:
            config["artifacts"] = _copy_artifacts(artifacts, path)
        context = _context(path, config)
        if hasattr(obj, "load_context"):
            obj.load_context(context)
        return SavedFlavor(
            config,
            config,
            ("cloudpickle", "numpy", "pandas"),
            lambda data: PythonModelPredictor(obj, context).predict(data),
        )

    def data_files(self, config: dict[str, Any]) -> list[str]:
        return [str(config.get("python_model") or MODEL_FILE)]

    def load(self, model: ModelDir, config: dict[str, Any]) -> Any:
        return self._load(model, config)[0]

    def pyfunc(self, model: ModelDir, config: dict[str, Any]) -> PythonModelPredictor:
        obj, context = self._load(model, config)
        return PythonModelPredictor(obj, context)

    def _load(self, model: ModelDir, config: dict[str, Any]) -> tuple[Any, PythonModelContext]:
        if config.get("python_model_compression"):
            raise InvalidInput("Compressed python_model files are not supported")
        if not config.get("python_model"):
            raise InvalidInput("This pyfunc model is not a pickled python_model (models from code)")
        data = model.read_bytes(str(config["python_model"]), executes_code=True)
        obj = pickling.loads(data)
        if getattr(obj, "clew_adapter", False):
            obj = obj.inner
        context = _context(model.root, config)
        if hasattr(obj, "load_context"):
            obj.load_context(context)
        return obj, context


def _context(root: Path, config: dict[str, Any]) -> PythonModelContext:
    artifacts = {
        name: str(root / str(info["path"]))
        for name, info in (config.get("artifacts") or {}).items()
    }
    return PythonModelContext(artifacts, dict(config.get("model_config") or {}))


def _copy_artifacts(artifacts: dict[str, str], path: Path) -> dict[str, dict[str, str]]:
    """Copy each local file or directory to ``artifacts/<name>``; remote URIs are refused."""
    out: dict[str, dict[str, str]] = {}
    for name, source in artifacts.items():
        if "/" in name or name in ("", ".", ".."):
            raise InvalidInput(f"Artifact name {name!r} must be a plain name", artifact=name)
        src = Path(source.removeprefix("file://"))
        if not src.exists():
            raise InvalidInput(f"Artifact {name!r}: {source} does not exist", artifact=name)
        target = path / ARTIFACTS_DIR / name
        target.parent.mkdir(exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, symlinks=False)
        else:
            shutil.copyfile(src, target)
        out[name] = {"path": f"{ARTIFACTS_DIR}/{name}", "uri": str(source)}
    return out


flavor = PythonFunctionFlavor()
