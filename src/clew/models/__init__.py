"""Model packaging: MLflow's model format (MLmodel + flavors), written and read without mlflow.

Importing this package imports no ML library: each flavor imports scikit-learn, LightGBM,
skops or pandas when it is used. See docs/models.md.
"""

from __future__ import annotations

from clew.models.api import load_model, load_native, save_model
from clew.models.files import FileDigest, VerifyReport, verify_model
from clew.models.flavors.base import Flavor, SavedFlavor
from clew.models.flavors.pyfunc import PythonModelContext
from clew.models.flavors.registry import flavors
from clew.models.infer import infer_signature
from clew.models.mlmodel import ModelInfo, read_mlmodel, write_mlmodel
from clew.models.pyfunc_model import PyFuncModel
from clew.models.signature import ColSpec, ModelSignature, Schema, TensorSpec

__all__ = [
    "ColSpec",
    "FileDigest",
    "Flavor",
    "ModelInfo",
    "ModelSignature",
    "PyFuncModel",
    "PythonModelContext",
    "SavedFlavor",
    "Schema",
    "TensorSpec",
    "VerifyReport",
    "flavors",
    "infer_signature",
    "load_model",
    "load_native",
    "read_mlmodel",
    "save_model",
    "verify_model",
    "write_mlmodel",
]
