"""Importers: bring another system's history into Clew through Clew's own services.

``clew.importers.mlflow`` reads an MLflow tracking server (REST) or its backend store (SQL)
and copies experiments, runs, datasets, artifacts, LoggedModels and the registry.
"""
