"""``clew import mlflow``: an MLflow installation's history, copied into Clew (docs/import.md)."""

from clew.importers.mlflow.importer import import_mlflow
from clew.importers.mlflow.job import MARK
from clew.importers.mlflow.rest_source import RestSource
from clew.importers.mlflow.source import MlflowSource
from clew.importers.mlflow.sql_source import SqlSource

__all__ = ["MARK", "MlflowSource", "RestSource", "SqlSource", "import_mlflow"]
