"""Tracking use cases. Each public method: authorize → validate → write → audit, one transaction.

The REST API, the MLflow adapter, the CLI and the local client all call these methods, so a
rule lives here once. Reads go through ``db.read()``; writes through ``db.write()``, which on
SQLite takes the write lock up front. Experiments and runs live in their own modules; this
class puts them behind one name.
"""

from __future__ import annotations

from clew.tracking.experiment_service import ExperimentUseCases
from clew.tracking.run_service import RunUseCases
from clew.tracking.service_base import DEFAULT_EXPERIMENT_ID, run_artifact_uri
from clew.tracking.view_service import RunViewUseCases

__all__ = ["DEFAULT_EXPERIMENT_ID", "TrackingService", "run_artifact_uri"]


class TrackingService(ExperimentUseCases, RunUseCases, RunViewUseCases):
    """Every tracking use case: experiments, runs, logging, search, the UI's run views."""
