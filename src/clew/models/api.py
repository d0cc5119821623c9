"""Save and load model directories: the functions ``clew.models`` exports.

Saving writes the flavor's files, the input example, the environment files and, last, MLmodel
with the digest of every other file. Loading reads MLmodel, picks the flavor from
``python_function.loader_module`` (or the one asked for), verifies digests and hands the flavor
a ``ModelDir`` that only gives out verified bytes.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging
import os
import uuid
from pathlib import Path
from typing import Any

from clew.core.errors import InvalidInput, InvalidModel
from clew.models.env import pinned, write_environment
from clew.models.examples import save_example
from clew.models.files import ModelDir, digest_tree
from clew.models.flavors.base import Flavor
from clew.models.flavors.registry import (
    flavor_for_loader,
    flavor_for_object,
    flavors,
    get_flavor,
)
from clew.models.infer import infer_schema
from clew.models.mlmodel import ModelInfo, read_mlmodel, write_mlmodel
from clew.models.pyfunc_model import PyFuncModel
from clew.models.signature import ModelSignature

log = logging.getLogger(__name__)
PYFUNC = "python_function"


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    flavor: str | None = None,
    input_example: Any = None,
    signature: ModelSignature | bool | None = None,
    pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    **flavor_options: Any,
) -> ModelInfo:
    """Write ``model`` as a model directory MLflow and Clew both load.

    Args:
        model: the object; its flavor is detected unless ``flavor`` names one.
        path: a directory that does not exist yet (or is empty).
        input_example: saved as ``input_example.json``; the signature is inferred from it
            (outputs too, by predicting on it) unless ``signature`` is given, or ``False``.
        pip_requirements: replaces the pinned versions of the flavor's packages.
        flavor_options: passed to the flavor (``serialization_format=`` for sklearn,
            ``artifacts=`` for python_function).

    Example:
        >>> from sklearn.linear_model import LinearRegression
        >>> info = save_model(LinearRegression().fit([[0], [1]], [0, 1]), tmp / "m")
        >>> sorted(info.flavors)
        ['python_function', 'sklearn']
    """
    root = Path(path)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InvalidInput(f"Model path {root} already exists and is not empty", path=str(root))
    chosen = get_flavor(flavor) if flavor else flavor_for_object(model)
    root.mkdir(parents=True, exist_ok=True)
    saved = chosen.save(model, root, **flavor_options)
    example_info = save_example(input_example, root) if input_example is not None else None
    if signature is None and input_example is not None:
        signature = _infer(input_example, saved.predict)
    write_environment(
        root, pip_requirements if pip_requirements is not None else pinned(saved.requirements)
    )
    flavor_blocks = {chosen.name: saved.config}
    if saved.pyfunc is not None:
        flavor_blocks[PYFUNC] = saved.pyfunc
    files = digest_tree(root)
    info = ModelInfo(
        flavors=flavor_blocks,
        model_uuid=model_id or uuid.uuid4().hex,
        model_id=model_id,
        run_id=run_id,
        utc_time_created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        signature=signature if isinstance(signature, ModelSignature) else None,
        saved_input_example_info=example_info,
        model_size_bytes=sum(f.size for f in files.values()),
        metadata=metadata,
        clew_version=_clew_version(),
        files=files,
    )
    return write_mlmodel(info, root)


def _infer(example: Any, predict: Any) -> ModelSignature:
    inputs = infer_schema(example)
    outputs = None
    if predict is not None:
        try:
            outputs = infer_schema(predict(example))
        except Exception as exc:  # the model may not accept its example raw; inputs still count
            log.info("Output schema not inferred: predicting on the example failed: %s", exc)
    return ModelSignature(inputs, outputs)


def _clew_version() -> str:
    try:
        return importlib.metadata.version("clew")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0+unknown"


def _open(
    path: str | os.PathLike[str],
    trust: bool,
    expected_digest: str | None,
    skops_trusted_types: tuple[str, ...],
) -> tuple[ModelInfo, ModelDir]:
    info = read_mlmodel(path)
    model = ModelDir(
        Path(path),
        info.files,
        mlmodel_digest=info.mlmodel_digest,
        trust=trust,
        expected_digest=expected_digest,
        skops_trusted_types=tuple(skops_trusted_types),
    )
    return info, model


def load_model(
    path: str | os.PathLike[str],
    *,
    trust: bool = False,
    expected_digest: str | None = None,
    skops_trusted_types: tuple[str, ...] = (),
) -> PyFuncModel:
    """Load a model directory (Clew's or MLflow's) as a ``PyFuncModel``.

    Args:
        trust: allow pickle-based files in a model that records no digests. MLflow-written
            models have none: nothing then says the pickle is the one that was saved, and
            unpickling runs whatever code it contains (CVE-2024-37052..37060). Clew-written
            models record digests and load without it, after every file matches.
        expected_digest: the MLmodel digest pinned elsewhere (the registry); any other refuses.
        skops_trusted_types: extra types a skops file may construct; never read from the model.

    Raises:
        ModelIntegrityError: a file changed, is missing, or is not recorded.
        UntrustedModel: a pickle without digests and no ``trust``, or unknown skops types.
    """
    info, model = _open(path, trust, expected_digest, skops_trusted_types)
    pyfunc = info.pyfunc_config
    if pyfunc is None:
        raise InvalidModel("This model has no python_function flavor to predict with")
    loader = str(pyfunc.get("loader_module") or "")
    chosen = flavor_for_loader(loader)
    if chosen is None:
        raise InvalidModel(f"No installed flavor serves loader_module {loader!r}", loader=loader)
    config = {**pyfunc, **info.flavors.get(chosen.name, {})}
    model.verify_except(chosen.data_files(config))
    return PyFuncModel(info, chosen.pyfunc(model, config), chosen.name)


def load_native(
    path: str | os.PathLike[str],
    flavor: str | None = None,
    *,
    trust: bool = False,
    expected_digest: str | None = None,
    skops_trusted_types: tuple[str, ...] = (),
) -> Any:
    """The flavor's own object (the estimator, the Booster, the user's Python model).

    Without ``flavor`` the model's most specific installed flavor is used; the safety rules
    are ``load_model``'s.
    """
    info, model = _open(path, trust, expected_digest, skops_trusted_types)
    chosen = get_flavor(flavor) if flavor else _native_flavor(info)
    if chosen.name not in info.flavors:
        raise InvalidModel(f"This model has no {chosen.name!r} flavor", flavors=list(info.flavors))
    config = info.flavors[chosen.name]
    model.verify_except(chosen.data_files(config))
    return chosen.load(model, config)


def _native_flavor(info: ModelInfo) -> Flavor:
    installed = flavors()
    for name in info.flavors:
        if name != PYFUNC and name in installed:
            return installed[name]
    if PYFUNC in info.flavors:
        return installed[PYFUNC]
    raise InvalidModel("None of this model's flavors is installed", flavors=list(info.flavors))
