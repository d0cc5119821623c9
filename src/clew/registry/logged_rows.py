"""What every logged-model use case starts from: the model's resource and its live row."""

from __future__ import annotations

from typing import Any, Final

from clew.core.authz import Resource
from clew.core.errors import NotFound
from clew.registry.logged_model import RESOURCE_TYPE
from clew.registry.logged_store import LoggedModelStore

DELETED: Final = "deleted"


def resource(model_id: str) -> Resource:
    return Resource(RESOURCE_TYPE, model_id)


def active_row(store: LoggedModelStore, model_id: str) -> Any:
    """The model's row, locked for the transaction; a deleted model is ``NotFound``."""
    row = store.row(model_id, lock=True)
    if row is None or row.lifecycle_stage == DELETED:
        raise NotFound(f"Logged model {model_id} does not exist")
    return row
