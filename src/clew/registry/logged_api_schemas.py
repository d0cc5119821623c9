"""The wire shapes of the logged-model API: request bodies (validated) and responses (documented).

Strict like tracking's (``tracking.api_schemas``): no ``"1"`` for an int, no unknown fields,
explicit bounds. Batch sizes come from settings and the service enforces them. Responses are
``LoggedModel.to_dict()`` serialized by orjson; the models below describe that shape for
OpenAPI and must stay in step with ``registry.logged_model``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from clew.tracking import validation as v
from clew.tracking.api_schemas import (
    MAX_EXPERIMENT_IDS,
    MAX_FILTER,
    MAX_ORDER_BY,
    MAX_TAGS,
    MAX_TOKEN,
    MetricValue,
    NonFinite,
    OrderBy,
    ParamIn,
)

#: PENDING is only ever the status a model is created with; MLflow's wire names are accepted.
FinalStatus = Literal["READY", "FAILED", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"]
MAX_DATASETS = 100


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateLoggedModel(_Request):
    #: Defaults to the source run's experiment; one of the two is required.
    experiment_id: StrictStr | None = Field(None, max_length=20)
    name: StrictStr | None = Field(None, max_length=v.MAX_NAME)
    source_run_id: StrictStr | None = Field(None, max_length=32)
    model_type: StrictStr | None = Field(None, max_length=500)
    params: list[ParamIn] = Field(default_factory=list)
    tags: dict[StrictStr, StrictStr] | None = Field(None, max_length=MAX_TAGS)


class FinalizeLoggedModel(_Request):
    status: FinalStatus
    status_message: StrictStr | None = Field(None, max_length=8_000)


class SetLoggedModelTags(_Request):
    tags: dict[StrictStr, StrictStr] = Field(max_length=MAX_TAGS)


class LogLoggedModelParams(_Request):
    params: list[ParamIn]


class LoggedModelMetricIn(_Request):
    key: StrictStr = Field(max_length=v.MAX_KEY)
    value: MetricValue
    timestamp: StrictInt
    step: StrictInt = 0
    run_id: StrictStr | None = Field(None, max_length=32)
    dataset_name: StrictStr | None = Field(None, max_length=v.MAX_NAME)
    dataset_digest: StrictStr | None = Field(None, max_length=128)


class LogLoggedModelMetrics(_Request):
    metrics: list[LoggedModelMetricIn]


class DatasetFilterIn(_Request):
    dataset_name: StrictStr = Field(min_length=1, max_length=v.MAX_NAME)
    dataset_digest: StrictStr | None = Field(None, max_length=128)


class OrderByIn(_Request):
    field_name: StrictStr = Field(min_length=1, max_length=500)
    ascending: StrictBool = True
    dataset_name: StrictStr | None = Field(None, max_length=v.MAX_NAME)
    dataset_digest: StrictStr | None = Field(None, max_length=128)


class SearchLoggedModels(_Request):
    experiment_ids: list[StrictStr] | None = Field(None, max_length=MAX_EXPERIMENT_IDS)
    filter: StrictStr = Field("", max_length=MAX_FILTER)
    datasets: list[DatasetFilterIn] = Field(default_factory=list, max_length=MAX_DATASETS)
    max_results: StrictInt = 100
    #: Clauses (``"metrics.acc DESC"``) or MLflow's objects (with a dataset for a metric).
    order_by: list[OrderBy | OrderByIn] = Field(default_factory=list, max_length=MAX_ORDER_BY)
    page_token: StrictStr | None = Field(None, max_length=MAX_TOKEN)


# ---- responses -------------------------------------------------------------------------------


class LoggedModelMetricOut(BaseModel):
    key: str
    value: float | NonFinite
    timestamp: int
    step: int
    run_id: str | None
    dataset_name: str | None
    dataset_digest: str | None


class LoggedModelOut(BaseModel):
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str
    status_message: str
    model_type: str
    source_run_id: str | None
    user_id: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: list[LoggedModelMetricOut]


class LoggedModelPage(BaseModel):
    models: list[LoggedModelOut]
    next_page_token: str | None
