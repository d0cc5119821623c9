"""Input rules for logged models, in one place: names, model types, params, tags, metrics.

The same rules as a run's (``tracking.validation``: key and value lengths, batch sizes from
settings), plus what is new: a metric's run id, dataset name and digest. Everything is checked
before a transaction opens, so bad input never writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from clew.core.errors import InvalidInput, ParamOverwrite
from clew.core.ids import check_run_id
from clew.core.settings import Settings
from clew.registry.logged_model import LoggedModelMetric
from clew.tracking import validation as v
from clew.tracking.model import Metric

MAX_MODEL_TYPE = 500
MAX_DATASET_DIGEST = 128

Pairs = Mapping[str, str] | Sequence[tuple[str, str]]


def _items(pairs: Pairs) -> list[tuple[str, str]]:
    return list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)


def check_params(settings: Settings, params: Pairs) -> dict[str, str]:
    """Params as text; a key given twice with different values is ``PARAM_OVERWRITE``."""
    items = _items(params)
    v.check_batch_size("params", items, settings.max_batch_params)
    out: dict[str, str] = {}
    for key, value in items:
        v.check_key("Param", key)
        text = value if isinstance(value, str) else str(value)
        v.check_value("Param", key, text, v.MAX_PARAM_VALUE)
        if out.get(key, text) != text:
            raise ParamOverwrite(f"Param {key!r} appears twice with different values")
        out[key] = text
    return out


def check_tags(settings: Settings, tags: Pairs) -> dict[str, str]:
    items = _items(tags)
    v.check_batch_size("tags", items, settings.max_batch_tags)
    out = {}
    for key, value in items:
        v.check_key("Tag", key)
        out[key] = v.check_value("Tag", key, value, v.MAX_TAG_VALUE)
    return out


def check_model_type(model_type: str) -> str:
    if not isinstance(model_type, str) or len(model_type) > MAX_MODEL_TYPE:
        raise InvalidInput(f"model_type must be a string of at most {MAX_MODEL_TYPE} characters")
    if model_type:
        v.check_name("Model type", model_type)
    return model_type


def check_metric(m: LoggedModelMetric) -> LoggedModelMetric:
    """A run's metric rules, then the run id's shape and the dataset's name and digest."""
    base = v.check_metric(Metric(m.key, m.value, m.timestamp, m.step))
    if m.run_id is not None:
        check_run_id(m.run_id)
    if m.dataset_name is not None:
        v.check_name("Dataset", m.dataset_name)
    if m.dataset_digest is not None:
        if not m.dataset_name:
            raise InvalidInput(f"Metric {m.key!r}: a dataset_digest needs a dataset_name")
        if not isinstance(m.dataset_digest, str) or len(m.dataset_digest) > MAX_DATASET_DIGEST:
            raise InvalidInput(f"Metric {m.key!r}: dataset_digest is at most 128 characters")
    if base.value is m.value:
        return m
    return LoggedModelMetric(
        m.key, base.value, m.timestamp, m.step, m.run_id, m.dataset_name, m.dataset_digest
    )
